"""Per-tile analysis-ready Zarr stores ``results/regrid/{region}/{tile}/{product}.zarr`` (contract C4).

Products and their content (everything the assimilation of one tile needs, nothing it doesn't):

=============  =========================================================================================
``forcing``    native hourly ERA5(-Land) fields in model units on ``(time, lat, lon)`` for the nodes near the
               tile, plus per-pixel ``src_index``/``weight`` ``(y, x, corner4)`` bilinear weights and ``dz``
               ``(y, x)`` [m] lapse-rate elevation offsets (materialised per batch, data_formats.md §4.3)
``landcover``  ``pft``/``fraction`` ``(slot, y, x)`` (≤ 6 tiles, pft −1 = padding), ``bare_fraction``,
               ``land``, ``elevation`` [m], ``clc_grid``, ``w_max`` [mm]; EPSG:3035 ``spatial_ref``
``sif``        TROPOSIF observation table (``obs``) + membership table (``member``)
``fapar``      FAPAR observation table + membership
``smos``       SMOS soil moisture and L-VOD table (``sm``, ``vod`` with σ and QC) + membership
=============  =========================================================================================

Writes are atomic: the store is written under a temporary sibling name and renamed, so an error leaves
neither a partial store nor a damaged previous one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from tccas.io._util import atomic_path, open_zarr
from tccas.io.errors import CorruptFileError, MissingFieldError

PRODUCTS = ("forcing", "landcover", "fapar", "sif", "smos")
REQUIRED = {
    "forcing": (
        "t_air",
        "sw_down",
        "lw_down",
        "precip",
        "vapour_pressure",
        "pressure",
        "wind",
        "src_index",
        "weight",
        "dz",
    ),
    "landcover": ("pft", "fraction", "bare_fraction", "land", "elevation", "w_max"),
    "fapar": ("obs_key", "fp_key", "time", "value", "sigma", "fp_key_m", "ix", "iy", "w"),
    "sif": ("obs_key", "fp_key", "time", "value", "sigma", "fp_key_m", "ix", "iy", "w"),
    "smos": (
        "obs_key",
        "fp_key",
        "time",
        "sm",
        "sm_sigma",
        "vod",
        "vod_sigma",
        "qc_sm",
        "qc_vod",
        "fp_key_m",
        "ix",
        "iy",
        "w",
    ),
}


def store_path(root, region: str, tile: str, product: str) -> Path:
    """``{root}/regrid/{region}/{tile}/{product}.zarr`` (``root`` is the results folder)."""
    return Path(root) / "regrid" / region / tile / f"{product}.zarr"


def obs_store(obs: xr.Dataset, members: xr.Dataset) -> xr.Dataset:
    """Combine an observation table and its membership table into one store Dataset.

    The membership key is stored as ``fp_key_m`` on dimension ``member`` (distinct from the obs table's
    ``fp_key`` on ``obs``).
    """
    m = members.rename({"fp_key": "fp_key_m"})
    ds = xr.merge(
        [obs.drop_vars([v for v in ("lat_bounds", "lon_bounds") if v in obs]), m], compat="override"
    )
    ds.attrs = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in obs.attrs.items()}
    if "lat_bounds" in obs:
        ds["lat_bounds"] = obs["lat_bounds"]
        ds["lon_bounds"] = obs["lon_bounds"]
    return ds


def write_tile_store(path, ds: xr.Dataset, product: str) -> Path:
    """Validate the product's required variables, then write ``ds`` atomically as Zarr."""
    if product not in PRODUCTS:
        raise ValueError(f"unknown tile-store product {product!r}; expected one of {PRODUCTS}")
    missing = [v for v in REQUIRED[product] if v not in ds.variables]
    if missing:
        raise ValueError(f"{product} store misses {missing}")
    ds = ds.copy()
    ds.attrs = {k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in ds.attrs.items()}
    ds.attrs["tccas_product"] = product
    for name in ds.variables:
        ds[name].encoding = {}
    with atomic_path(path) as tmp:
        ds.to_zarr(tmp, mode="w", consolidated=False)
    return Path(path)


def read_tile_store(path, product: str | None = None) -> xr.Dataset:
    """Open a tile store (loaded into memory: tile stores are small) and check its product tag/content."""
    path = Path(path)
    if not path.exists():
        raise CorruptFileError(path, "", "tile store does not exist")
    try:
        ds = open_zarr(path, consolidated=False).load()
    except Exception as err:  # zarr raises several unrelated types for damaged stores
        raise CorruptFileError(path, "", f"cannot be opened as Zarr ({err})") from err
    tag = ds.attrs.get("tccas_product")
    if product is not None:
        if tag != product:
            raise MissingFieldError(path, "tccas_product", f"store holds {tag!r}, expected {product!r}")
        for v in REQUIRED[product]:
            if v not in ds.variables:
                raise MissingFieldError(path, v, "variable missing from tile store")
    for key in ("qc_counts",):
        if isinstance(ds.attrs.get(key), str):
            ds.attrs[key] = json.loads(ds.attrs[key])
    return ds


def time_index_hours(times: np.ndarray, window_start) -> np.ndarray:
    """Hour index of instants counted from ``window_start`` 00 UTC (floor; obs_da_spec ObsStream.t_hour)."""
    t0 = np.datetime64(str(window_start), "D").astype("datetime64[s]")
    return np.floor((np.asarray(times).astype("datetime64[s]") - t0).astype(np.int64) / 3600.0).astype(
        np.int64
    )
