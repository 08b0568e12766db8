"""The EEA reference grid in ETRS89-LAEA (EPSG:3035) at 100 m, its cell codes, tiles and regions (land
polygons from Natural Earth, docs/regions.md).

Spec: ``data_formats.md`` §6. Every projection goes through pyproj / odc-geo; nothing here hand-writes a
projection formula. Cells are integer indices of their lower-left corners (``ix = floor(x / res)``), which
makes membership tables and tiles independent of each other.
"""

from tccas.grid.cells import (
    CRS,
    CRSMismatchError,
    cell_of_xy,
    cell_to_lonlat,
    check_crs,
    eea_code,
    inspire_code,
    lonlat_to_cell,
    lonlat_to_xy,
    parse_eea_code,
    parse_inspire_code,
    xy_of_cell,
    xy_to_lonlat,
)
from tccas.grid.regions import (
    REGIONS,
    Region,
    get_region,
    region_cell_mask,
    tile_containing,
    tiles_for_region,
)
from tccas.grid.tiles import Tile, tile_from_name

__all__ = [
    "CRS",
    "REGIONS",
    "CRSMismatchError",
    "Region",
    "Tile",
    "cell_of_xy",
    "cell_to_lonlat",
    "check_crs",
    "eea_code",
    "get_region",
    "inspire_code",
    "lonlat_to_cell",
    "lonlat_to_xy",
    "parse_eea_code",
    "parse_inspire_code",
    "region_cell_mask",
    "tile_containing",
    "tile_from_name",
    "tiles_for_region",
    "xy_of_cell",
    "xy_to_lonlat",
]
