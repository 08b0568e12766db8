"""File I/O of tccas: the only package that opens or writes files (architecture.md).

Readers of the native product formats (each validated against its YAML schema card in ``cards/``),
synthetic generators writing the same layouts (:mod:`tccas.io.synthetic`), regridding onto the 100 m
EPSG:3035 grid (:mod:`tccas.io.regrid`) and the per-tile analysis-ready stores (:mod:`tccas.io.tilestore`).
Spec: ``data_formats.md``.
"""

from tccas.io.cards import Card, card_from_file, load_card, validate
from tccas.io.era5 import read_era5, series_to_forcing
from tccas.io.errors import (
    CorruptFileError,
    CoverageError,
    MissingFieldError,
    ProductCRSError,
    ProductError,
    SchemaMismatchError,
)
from tccas.io.flux import (
    aggregate_daily,
    co2_daily,
    read_callmip_flux,
    read_cardamom_drivers,
    read_co2_series,
    read_fluxnet,
    read_smear_daily,
    site_info,
)
from tccas.io.landcover import pft_tiles, read_corine, read_dem, read_worldcover_fractions
from tccas.io.site import read_site_forcing
from tccas.io.smos import read_catds_l3sm, read_smos_ic
from tccas.io.tilestore import read_tile_store, store_path, write_tile_store
from tccas.io.tip import read_cgls_fapar, read_jrc_tip
from tccas.io.troposif import read_troposif_l2, read_troposif_l2b

__all__ = [
    "Card",
    "CorruptFileError",
    "CoverageError",
    "MissingFieldError",
    "ProductCRSError",
    "ProductError",
    "SchemaMismatchError",
    "aggregate_daily",
    "card_from_file",
    "co2_daily",
    "load_card",
    "pft_tiles",
    "read_callmip_flux",
    "read_cardamom_drivers",
    "read_catds_l3sm",
    "read_cgls_fapar",
    "read_co2_series",
    "read_corine",
    "read_dem",
    "read_era5",
    "read_fluxnet",
    "read_jrc_tip",
    "read_site_forcing",
    "read_smear_daily",
    "read_smos_ic",
    "read_tile_store",
    "read_troposif_l2",
    "read_troposif_l2b",
    "read_worldcover_fractions",
    "series_to_forcing",
    "site_info",
    "store_path",
    "validate",
    "write_tile_store",
]
