"""Regrid step: native product files → per-tile analysis-ready stores (data_formats.md §7, contract C4).

One function per product reads the native files listed in ``resources/{region}/manifest.yaml`` and returns
the store Dataset; :func:`run_regrid` writes ``results/regrid/{region}/{tile}/{product}.zarr`` atomically.

Coarse footprints (TROPOSIF ~3.5 × 5.5 km, SMOS 25 km, TIP 1 km) are larger than a 1 km demo tile: only the
in-tile cells enter the membership table, and each observation carries ``coverage`` = in-tile cells / all
its cells. The DA compares the observation with the model mean over the in-tile cells, i.e. it assumes the
out-of-tile part of the footprint behaves like the in-tile part (the demo truth is generated under exactly
that assumption, see :mod:`tccas.pipeline.demo_data`); ``coverage`` feeds the representativeness error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor used for the store CRS)
import xarray as xr
import yaml

from tccas.grid import Tile, region_cell_mask, tile_from_name, xy_to_lonlat
from tccas.io import landcover as lc
from tccas.io import regrid as rg
from tccas.io.era5 import read_era5
from tccas.io.errors import CorruptFileError, DataGapError, MissingFieldError, SchemaMismatchError
from tccas.io.smos import read_catds_l3sm, read_smos_ic
from tccas.io.tilestore import PRODUCTS, obs_store, store_path, write_tile_store
from tccas.io.tip import read_cgls_fapar, read_jrc_tip
from tccas.io.troposif import read_troposif_l2, read_troposif_l2b

log = logging.getLogger(__name__)

# [D] default plant-available water capacity when no SoilGrids file is configured (model Site.w_max) [mm]
DEFAULT_W_MAX = {"lapland": 150.0, "iberia": 120.0, "netherlands": 100.0}


def tile_lonlat_bbox(tile: Tile, margin_deg: float = 0.0) -> tuple[float, float, float, float]:
    """(west, south, east, north) degrees of a tile (corner-transformed bounding box) plus margin."""
    x0, y0, x1, y1 = tile.bounds
    lon, lat = xy_to_lonlat(np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
    return (
        float(lon.min()) - margin_deg,
        float(lat.min()) - margin_deg,
        float(lon.max()) + margin_deg,
        float(lat.max()) + margin_deg,
    )


# The ERA5 variable(s) behind each forcing field (the field a gap error names).
FORCING_SOURCES = {
    "t_air": "t2m",
    "vapour_pressure": "d2m",
    "pressure": "sp",
    "wind": "u10/v10",
    "sw_down": "ssrd",
    "lw_down": "strd",
    "precip": "tp",
    "orography": "z",
}


def check_forcing_complete(part: xr.Dataset, idx: np.ndarray, w: np.ndarray, path: str | Path) -> None:
    """Refuse a forcing file with a missing value (fill or NaN) at any node the tile interpolates from.

    Rule (documented in docs/reliability.md): forcing gaps are never filled. ERA5 and ERA5-Land are complete
    fields, so a missing value means a broken download or conversion (or an ERA5-Land sea node next to a
    coastal tile), and any fill would reach the cost of every pixel as a NaN or as an invented value. Raises
    :class:`~tccas.io.errors.DataGapError` naming the file, the ERA5 variable, the hours and a node.
    """
    used = np.unique(idx[w > 0])
    lat, lon = part.lat.values, part.lon.values
    for field, source in FORCING_SOURCES.items():
        if field not in part:
            continue
        values = part[field].values.reshape(-1, lat.size * lon.size)[:, used]
        missing = ~np.isfinite(values)
        if not missing.any():
            continue
        node = int(used[np.argmax(missing.any(axis=0))])
        row, col = divmod(node, lon.size)
        where = f"e.g. node lat {lat[row]:.3f} lon {lon[col]:.3f}"
        if part[field].ndim == 2:
            problem = f"no value at a node the tile interpolates from ({where})"
        else:
            hours = part.time.values[missing.any(axis=1)]
            problem = (
                f"{hours.size} hours without a value at the nodes the tile interpolates from "
                f"({hours[0]} .. {hours[-1]}, {where})"
            )
        raise DataGapError(path, source, f"{problem}; forcing gaps are not filled: replace the file")


def regrid_forcing(
    files: Sequence[Path], tile: Tile, dem: np.ndarray, product: str = "era5_land"
) -> xr.Dataset:
    """ERA5(-Land) files → native fields around the tile + per-pixel bilinear weights and ``dz`` (§4.3).

    The reference elevation is the product's own orography (geopotential in the file, §4.3 step 1). Each
    file must be complete at the nodes the tile interpolates from (:func:`check_forcing_complete`), so no
    missing forcing value reaches the model.
    """
    bbox = tile_lonlat_bbox(tile)
    files = sorted(files)
    parts = [read_era5(f, product=product, bbox=bbox) for f in files]
    idx, w = rg.bilinear_weights(tile, parts[0].lat.values, parts[0].lon.values)
    for path, part in zip(files, parts, strict=True):
        if not (np.array_equal(part.lat, parts[0].lat) and np.array_equal(part.lon, parts[0].lon)):
            raise SchemaMismatchError(path, "latitude/longitude", f"grid differs from that of {files[0]}")
        check_forcing_complete(part, idx, w, path)
    native = xr.concat(parts, dim="time") if len(parts) > 1 else parts[0]
    if "orography" not in native:
        raise ValueError(f"forcing files {[str(f) for f in files]} carry no geopotential z (needed for §4.3)")
    native = native.sortby("time")
    if np.unique(native.time.values).size != native.time.size:
        native = native.isel(time=np.unique(native.time.values, return_index=True)[1])
    z_src = (
        native["orography"].isel(time=0, drop=True)
        if "time" in native["orography"].dims
        else native["orography"]
    )
    z_bil = (z_src.values.ravel()[idx] * w).sum(-1)
    out = native.drop_vars("orography")
    out["orography"] = z_src
    out["src_index"] = (("y", "x", "corner4"), idx.astype(np.int32))
    out["weight"] = (("y", "x", "corner4"), w)
    out["dz"] = (("y", "x"), dem - z_bil, {"units": "m"})
    out["elevation"] = (("y", "x"), dem, {"units": "m"})
    out = out.assign_coords(y=tile.y, x=tile.x)
    out.attrs.update(
        {"tile": tile.name, "product": product, "crs_pixels": "EPSG:3035", "crs_native": "EPSG:4326"}
    )
    return out


def regrid_landcover(
    clc_path: Path,
    dem_path: Path,
    region: str,
    tile: Tile,
    worldcover: Sequence[Path] | None = None,
    max_tiles: int = lc.MAX_TILES,
) -> xr.Dataset:
    """CORINE (+ WorldCover) + DEM → PFT tiles, land mask, elevation and soil defaults on the tile grid.
    The land mask also drops the cells outside the region's definition (:func:`tccas.grid.region_cell_mask`:
    sea, other countries, islands the definition leaves out), so they are never modelled."""
    grid = lc.read_corine(clc_path, tile)
    elevation = lc.read_dem(dem_path, tile)
    wc = lc.read_worldcover_fractions(worldcover, tile) if worldcover else None
    tiles = lc.pft_tiles(grid.values, region, elevation=elevation, worldcover=wc, max_tiles=max_tiles)
    ds = xr.Dataset(
        {
            "pft": (("slot", "y", "x"), tiles["pft"]),
            "fraction": (("slot", "y", "x"), tiles["fraction"]),
            "bare_fraction": (("y", "x"), tiles["bare_fraction"]),
            "land": (("y", "x"), tiles["land"] & region_cell_mask(region, tile)),
            "elevation": (("y", "x"), elevation, {"units": "m"}),
            "clc_grid": (("y", "x"), grid.values.astype(np.uint8)),
            "w_max": (("y", "x"), np.full(tile.shape, DEFAULT_W_MAX.get(region, 120.0)), {"units": "mm"}),
        },
        coords={"y": tile.y, "x": tile.x},
        attrs={"tile": tile.name, "region": region, "w_max_source": "regional default [D] (no SoilGrids)"},
    )
    return ds.rio.write_crs("EPSG:3035")


def _concat_obs(tables: list[xr.Dataset]) -> xr.Dataset:
    """Concatenate per-file observation tables; QC counts are summed over all files (empty ones too)."""
    counts: dict[str, int] = {}
    for t in tables:
        for k, v in t.attrs.get("qc_counts", {}).items():
            counts[k] = counts.get(k, 0) + int(v)
    tables = [t for t in tables if t.sizes.get("obs", 0)]
    out = xr.concat(tables, dim="obs", combine_attrs="drop_conflicts") if tables else xr.Dataset()
    out.attrs["qc_counts"] = counts
    return out


def _with_coverage(obs: xr.Dataset, members: xr.Dataset, n_total) -> xr.Dataset:
    in_tile = {
        int(k): float(v) for k, v in zip(*np.unique(members.fp_key.values, return_counts=True), strict=True)
    }
    keys = obs.fp_key.values
    if isinstance(n_total, dict):
        total = np.array([n_total.get(int(k), np.nan) for k in keys])
    else:
        total = np.asarray(n_total, float)
    obs["n_cells"] = ("obs", np.array([in_tile.get(int(k), 0.0) for k in keys]))
    obs["coverage"] = ("obs", obs["n_cells"].values / np.where(total > 0, total, np.nan))
    return obs


def regrid_sif(files: Sequence[Path], tile: Tile, level: str = "l2b") -> xr.Dataset:
    """TROPOSIF files → QC-passed soundings whose footprint has ≥ 1 cell in the tile + membership."""
    reader = read_troposif_l2b if level == "l2b" else read_troposif_l2
    obs = _concat_obs([reader(f) for f in sorted(files)])
    if not obs.sizes.get("obs", 0):
        return obs_store(_empty_obs(obs.attrs), rg.empty_members())
    obs["fp_key"] = obs["obs_key"]
    members, n_total = rg.quad_membership(
        obs.fp_key.values, obs.lon_bounds.values, obs.lat_bounds.values, tile.res, tile
    )
    keep = np.isin(obs.fp_key.values, members.fp_key.values)
    obs = _with_coverage(obs.isel(obs=np.nonzero(keep)[0]), members, n_total[keep])
    return obs_store(obs, members)


def regrid_smos(files: Sequence[Path], tile: Tile, flavour: str = "smos_ic") -> xr.Dataset:
    """SMOS-IC / CATDS daily files → cells covering the tile (SM and L-VOD with QC) + EASE2 membership."""
    reader = read_smos_ic if flavour == "smos_ic" else read_catds_l3sm
    bbox = tile_lonlat_bbox(tile)
    obs = _concat_obs([reader(f, bbox=bbox) for f in sorted(files)])
    members, n_total = rg.ease2_membership(tile, flavour)
    if not obs.sizes.get("obs", 0):
        return obs_store(_empty_obs(obs.attrs, smos=True), members)
    keep = np.isin(obs.fp_key.values, members.fp_key.values) & (obs.qc_sm.values | obs.qc_vod.values)
    obs = _with_coverage(obs.isel(obs=np.nonzero(keep)[0]), members, n_total)
    return obs_store(obs, members)


def regrid_fapar(files: Sequence[Path], tile: Tile, flavour: str = "jrc_tip") -> xr.Dataset:
    """JRC-TIP / CGLS FAPAR files → QC-passed cells covering the tile + lat-lon membership."""
    from tccas.io.cards import load_card

    bbox = tile_lonlat_bbox(tile)
    reader = read_jrc_tip if flavour == "jrc_tip" else read_cgls_fapar
    obs = _concat_obs([reader(f, bbox=bbox) for f in sorted(files)])
    res = float(load_card(flavour).qc["res_deg"])
    origin = (-180.0, 90.0) if flavour == "jrc_tip" else (-180.0 - res / 2.0, 90.0 + res / 2.0)
    members, n_total = rg.latlon_membership(tile, res, origin)
    if not obs.sizes.get("obs", 0):
        return obs_store(_empty_obs(obs.attrs), members)
    keep = np.isin(obs.fp_key.values, members.fp_key.values) & obs.qc_ok.values
    obs = _with_coverage(obs.isel(obs=np.nonzero(keep)[0]), members, n_total)
    return obs_store(obs, members)


def _empty_obs(attrs: dict, smos: bool = False) -> xr.Dataset:
    cols = ("sm", "sm_sigma", "vod", "vod_sigma") if smos else ("value", "sigma")
    ds = xr.Dataset(
        {
            "obs_key": ("obs", np.zeros(0, np.int64)),
            "fp_key": ("obs", np.zeros(0, np.int64)),
            "time": ("obs", np.zeros(0, "datetime64[ns]")),
            "coverage": ("obs", np.zeros(0)),
        }
        | {c: ("obs", np.zeros(0)) for c in cols}
    )
    if smos:
        ds["qc_sm"] = ("obs", np.zeros(0, bool))
        ds["qc_vod"] = ("obs", np.zeros(0, bool))
    ds.attrs["qc_counts"] = dict(attrs.get("qc_counts", {}))
    return ds


# Manifest entries (``products.<entry>.files``) each regridded product reads; ``worldcover`` is optional.
PRODUCT_SOURCES: dict[str, tuple[str, ...]] = {
    "forcing": ("forcing", "dem"),
    "landcover": ("corine", "dem", "worldcover"),
    "fapar": ("fapar",),
    "sif": ("sif",),
    "smos": ("smos",),
}
OPTIONAL_SOURCES = ("worldcover",)


def manifest_path(resources_root: str | Path, region: str) -> Path:
    """``{data.root}/{region}/manifest.yaml``."""
    return Path(resources_root) / region / "manifest.yaml"


def load_manifest(resources_root: str | Path, region: str) -> dict:
    """``resources/{region}/manifest.yaml`` → dict (file lists relative to ``resources/{region}``)."""
    path = manifest_path(resources_root, region)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest (run `tccas make-demo-data` or provide one)")
    try:
        manifest = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise CorruptFileError(path, "", f"not valid YAML ({str(err).splitlines()[0]})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("products"), dict):
        raise MissingFieldError(path, "products", "the manifest has no `products` mapping")
    return manifest


def product_files(manifest: dict, base: str | Path, product: str, source: str | Path = "manifest") -> dict:
    """The native files ``product`` reads, by manifest entry (:data:`PRODUCT_SOURCES`), under ``base``.

    These are the inputs of the product's regrid job, so replacing one of them reruns it. A required entry
    that is absent or lists no files raises :class:`MissingFieldError` naming ``source`` and the entry.
    """
    if product not in PRODUCT_SOURCES:
        raise ValueError(f"unknown product {product!r}; expected one of {', '.join(PRODUCTS)}")
    entries = manifest["products"]
    files = {}
    for name in PRODUCT_SOURCES[product]:
        entry = entries.get(name)
        listed = entry.get("files") if isinstance(entry, dict) else None
        if not listed:
            if name in OPTIONAL_SOURCES:
                continue
            problem = f"no files listed (needed for {product})"
            raise MissingFieldError(source, f"products.{name}.files", problem)
        files[name] = [Path(base) / f for f in listed]
    return files


def build_product(
    product: str, manifest: dict, base: Path, region: str, tile: Tile, max_tiles: int = 6
) -> xr.Dataset:
    """Dispatch one product of the manifest onto ``tile``."""
    entry = manifest["products"]
    files = product_files(manifest, base, product, Path(base) / "manifest.yaml")
    if product == "forcing":
        dem = lc.read_dem(files["dem"][0], tile)
        return regrid_forcing(files["forcing"], tile, dem, entry["forcing"].get("product", "era5_land"))
    if product == "landcover":
        return regrid_landcover(
            files["corine"][0], files["dem"][0], region, tile, files.get("worldcover"), max_tiles
        )
    if product == "sif":
        return regrid_sif(files["sif"], tile, entry["sif"].get("level", "l2b"))
    if product == "smos":
        return regrid_smos(files["smos"], tile, entry["smos"].get("flavour", "smos_ic"))
    return regrid_fapar(files["fapar"], tile, entry["fapar"].get("flavour", "jrc_tip"))


def run_regrid(
    config: dict, region: str, tile_name: str, product: str, out: str | Path | None = None
) -> Path:
    """The ``regrid`` rule: read the region's manifest and write one product store for one tile."""
    if product not in PRODUCTS:
        raise ValueError(f"unknown product {product!r}; expected one of {', '.join(PRODUCTS)}")
    tile = tile_from_name(tile_name, res=int(config.get("grid", {}).get("resolution_m", 100)))
    resources_root = Path(config["data"]["root"])
    manifest = load_manifest(resources_root, region)
    t0 = time.perf_counter()
    ds = build_product(product, manifest, resources_root / region, region, tile)
    out = Path(out) if out is not None else store_path(config["outputs"]["root"], region, tile_name, product)
    write_tile_store(out, ds, product)
    log.info("regrid %s %s %s → %s (%.2f s)", region, tile_name, product, out, time.perf_counter() - t0)
    return out
