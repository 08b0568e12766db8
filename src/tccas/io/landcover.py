"""Land cover: CORINE CLC 2018 100 m and WorldCover 10 m → per-pixel PFT tiles (data_formats.md §5.1–§5.3).

- :func:`read_corine` reads the grid codes of one tile with rioxarray, checking dtype, CRS (EPSG:3035),
  100 m resolution, alignment of the raster origin to the 100 m grid and coverage.
- :func:`read_worldcover_fractions` counts WorldCover 10 m classes per 100 m cell: 10 m pixel centres →
  EPSG:3035 (pyproj via :mod:`tccas.grid`) → integer cell → ``np.bincount`` (§7 table).
- :func:`pft_tiles` maps codes (and optional WorldCover fractions) to at most ``max_tiles`` PFT tiles per
  pixel with the declarative table ``cards/clc_to_pft.yaml`` (§5.3 [D]). The unvegetated rest of a pixel is
  ``bare_fraction`` (NoVeg is not a model tile). Pixels with CLC water (grid codes 40–44) or no-data are
  masked out (``land`` False).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import xarray as xr

from tccas.grid import CRS, Tile, lonlat_to_xy
from tccas.io.cards import load_card
from tccas.io.errors import CorruptFileError, CoverageError, ProductCRSError, SchemaMismatchError

MAX_TILES = 6
WC_CLASSES = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)


def open_raster(path, card_name: str):
    """Open a GeoTIFF with rioxarray (band 1), turning unreadable files into :class:`CorruptFileError`."""
    import rasterio
    import rioxarray

    path = Path(path)
    if not path.is_file():
        raise CorruptFileError(path, "", "file does not exist")
    try:
        da = rioxarray.open_rasterio(path, masked=False).squeeze("band", drop=True)
    except (rasterio.errors.RasterioIOError, ValueError) as err:
        raise CorruptFileError(path, "", f"cannot be opened as a raster ({err})") from err
    card = load_card(card_name)
    want = np.dtype(card.extra["raster"]["dtype"])
    if da.dtype != want:
        raise SchemaMismatchError(path, "band 1", f"dtype is {da.dtype}, card {card_name} says {want}")
    if da.rio.crs is None:
        raise ProductCRSError(path, "crs", "raster has no CRS")
    epsg = card.extra["raster"]["epsg"]
    allowed = epsg if isinstance(epsg, list) else [epsg]
    if da.rio.crs.to_epsg() not in allowed:
        raise ProductCRSError(path, "crs", f"CRS is {da.rio.crs}, card {card_name} allows EPSG {allowed}")
    return da


def _tile_window(da: xr.DataArray, tile: Tile, path: Path) -> xr.DataArray:
    left, bottom, right, top = da.rio.bounds()
    x0, y0, x1, y1 = tile.bounds
    if x0 < left or x1 > right or y0 < bottom or y1 > top:
        raise CoverageError(
            path, "extent", f"tile {tile.name} {tile.bounds} not inside raster {da.rio.bounds()}"
        )
    out = da.sel(x=slice(x0, x1), y=slice(y1, y0))
    if out.shape != tile.shape:
        raise SchemaMismatchError(
            path, "grid", f"window for tile {tile.name} has shape {out.shape}, not {tile.shape}"
        )
    return out


def read_corine(path, tile: Tile) -> xr.DataArray:
    """CLC grid codes (uint8, (y, x) north-up) of ``tile``; checks CRS, 100 m, alignment and coverage."""
    path = Path(path)
    da = open_raster(path, "corine")
    res_x, res_y = da.rio.resolution()
    if abs(res_x) != tile.res or abs(res_y) != tile.res:
        raise SchemaMismatchError(path, "transform", f"resolution {res_x, res_y} m, expected {tile.res} m")
    tr = da.rio.transform()
    if tr.c % tile.res or tr.f % tile.res:
        raise SchemaMismatchError(
            path, "transform", f"origin ({tr.c}, {tr.f}) is not on the {tile.res} m grid"
        )
    out = _tile_window(da, tile, path).load()
    np.testing.assert_allclose(out.x.values, tile.x)
    return out


def read_dem(path, tile: Tile) -> np.ndarray:
    """Elevation [m] of the tile's 100 m cells, (ny, nx) north-up (data_formats.md §5.5).

    EPSG:3035 rasters at 100 m are windowed; anything else (Copernicus DEM in EPSG:4326, EU-DEM 25 m) is
    reprojected onto the tile's GeoBox with ``average`` resampling (odc-geo ``xr_reproject``).
    """
    from odc.geo.xr import xr_reproject

    path = Path(path)
    da = open_raster(path, "dem")
    card = load_card("dem").extra["raster"]
    nodata = card["nodata"][0]
    da = da.where(da != nodata)
    res_x, _ = da.rio.resolution()
    if da.rio.crs.to_epsg() == 3035 and abs(res_x) == tile.res:
        out = _tile_window(da, tile, path).values.astype(np.float64)
    else:
        left, bottom, right, top = da.rio.transform_bounds(CRS)
        x0, y0, x1, y1 = tile.bounds
        if x0 < left or x1 > right or y0 < bottom or y1 > top:
            raise CoverageError(path, "extent", f"tile {tile.name} not inside the DEM extent")
        da = da.odc.assign_crs(da.rio.crs.to_wkt())
        out = xr_reproject(da.astype(np.float32), tile.geobox, resampling="average").values.astype(np.float64)
    lo, hi = card["valid"]
    if not np.all(np.isfinite(out)) or out.min() < lo or out.max() > hi:
        raise SchemaMismatchError(
            path, "band 1", f"elevations outside {lo}..{hi} m or missing over {tile.name}"
        )
    return out


def read_worldcover_fractions(paths, tile: Tile) -> np.ndarray:
    """Class fractions ``(len(WC_CLASSES), ny, nx)`` of WorldCover 10 m pixels per 100 m tile cell.

    Pixels are assigned to cells by their centres (transformed to EPSG:3035); cells without any pixel
    raise :class:`CoverageError`. Class 0 (no data) is counted separately so fractions sum to 1.
    """
    counts = np.zeros((len(WC_CLASSES), tile.ny * tile.nx))
    lut = np.full(256, 0, np.int64)
    for k, c in enumerate(WC_CLASSES):
        lut[c] = k
    for path in [Path(p) for p in np.atleast_1d(paths)]:
        da = open_raster(path, "worldcover")
        left, bottom, right, top = tile.geobox.extent.to_crs("EPSG:4326").boundingbox
        sub = da.sel(x=slice(left - 1e-3, right + 1e-3), y=slice(top + 1e-3, bottom - 1e-3))
        if sub.size == 0:
            continue
        lon2, lat2 = np.meshgrid(sub.x.values, sub.y.values)
        ix, iy = (np.floor(v / tile.res).astype(np.int64) for v in lonlat_to_xy(lon2, lat2))
        inside = tile.contains_cells(ix, iy)
        row, col = tile.rowcol(ix[inside], iy[inside])
        flat = row * tile.nx + col
        cls = lut[np.asarray(sub.values)[inside].astype(np.int64)]
        np.add.at(counts, (cls, flat), 1.0)
    total = counts.sum(0)
    if np.any(total == 0):
        raise CoverageError(
            Path(np.atleast_1d(paths)[0]), "extent", f"WorldCover does not cover tile {tile.name}"
        )
    return (counts / total).reshape(len(WC_CLASSES), tile.ny, tile.nx)


@cache
def _mapping(region: str) -> tuple[dict, dict]:
    table = load_card("clc_to_pft").extra
    if region not in table["regions"]:
        raise KeyError(f"no CLC→PFT mapping for region {region!r}; known: {', '.join(table['regions'])}")
    return table, table["regions"][region]


def _mix(entry: dict, codes: dict) -> dict[int, float]:
    return {int(codes[name]): float(f) for name, f in entry.items()}


def pft_tiles(
    clc_grid: np.ndarray,
    region: str,
    elevation: np.ndarray | None = None,
    worldcover: np.ndarray | None = None,
    max_tiles: int = MAX_TILES,
) -> dict[str, np.ndarray]:
    """Per-pixel PFT tiles from CLC grid codes (§5.3). Returns ``pft`` int16 and ``fraction`` float64 of
    shape (max_tiles, ny, nx) sorted by decreasing fraction (padding: pft −1, fraction 0), plus
    ``bare_fraction`` and ``land`` (bool) of shape (ny, nx).

    Tiles beyond ``max_tiles`` are dropped and their cover added to ``bare_fraction`` (the model never sees
    more than ``max_tiles`` tiles; conserving vegetated cover would inflate the kept PFTs).
    """
    if max_tiles > MAX_TILES:
        raise ValueError(f"at most {MAX_TILES} PFT tiles per pixel (got {max_tiles})")
    table, mapping = _mapping(region)
    codes = table["pft_codes"]
    g2c = np.asarray(table["grid_to_clc"])
    raster = load_card("corine").extra["raster"]
    grid = np.asarray(clc_grid).astype(np.int64)
    ny, nx = grid.shape
    valid = (grid >= raster["valid"][0]) & (grid <= raster["valid"][1]) & ~np.isin(grid, raster["nodata"])
    land = valid & ~np.isin(grid, raster["water_codes"])
    clc = np.where(valid, g2c[np.clip(grid, 1, 44) - 1], 0)
    treeline = table["treeline_m"].get(region)
    above = (
        np.zeros(grid.shape, bool)
        if treeline is None or elevation is None
        else np.asarray(elevation) > treeline
    )
    frac = np.zeros((14, ny, nx))
    combo = np.where(land, clc * 2 + above, -1)
    for value in np.unique(combo[combo >= 0]):
        key, is_above = int(value) // 2, bool(value % 2)
        entry = mapping.get(f"{key}_above_treeline") if is_above else None
        mix = _mix(entry if entry is not None else mapping.get(key, {}), codes)
        sel = combo == value
        if worldcover is None:
            for p, f in mix.items():
                frac[p][sel] += f
        else:  # the refinement is linear in the class fractions: apply its matrix to every pixel at once
            unit = np.eye(len(WC_CLASSES))
            mat = np.zeros((14, len(WC_CLASSES)))
            for k in range(len(WC_CLASSES)):
                for p, f in _refine(mix, unit[k], table["worldcover"], region, codes, is_above).items():
                    mat[p, k] += f
            frac[:, sel] += mat @ worldcover[:, sel]
    frac[0] = 0.0
    order = np.argsort(-frac, axis=0, kind="stable")[:max_tiles]
    top = np.take_along_axis(frac, order, axis=0)
    pft = np.where(top > 0, order, -1).astype(np.int16)
    top = np.where(top > 0, top, 0.0)
    return {"pft": pft, "fraction": top, "bare_fraction": np.where(land, 1.0 - top.sum(0), 0.0), "land": land}


def _refine(mix: dict[int, float], wc: np.ndarray, rules: dict, region: str, codes: dict, above: bool):
    """WorldCover amounts × CLC types (§5.3 refinement [D])."""
    f = dict(zip(WC_CLASSES, wc, strict=True))
    trees = {p: v for p, v in mix.items() if 1 <= p <= 6}
    shrubs = {p: v for p, v in mix.items() if p in (7, 8)}
    trees = trees or _mix(rules["default_tree"][region], codes)
    shrubs = shrubs or _mix(rules["default_shrub"][region], codes)
    out: dict[int, float] = {}

    def add(share: dict[int, float], amount: float):
        tot = sum(share.values())
        for p, v in share.items():
            out[p] = out.get(p, 0.0) + amount * v / tot

    add(trees, f[rules["tree"]])
    add(shrubs, f[rules["shrub"]])
    grass = codes["Tund"] if above else codes["C3Gr"]
    add({grass: 1.0}, f[rules["grass"]])
    add({codes["Crop"]: 1.0}, f[rules["crop"]])
    add({codes["Wetl"]: 1.0}, f[rules["wetland"]])
    add({codes["Tund"]: 1.0}, f[rules["moss"]])
    if rules["bare_is_tundra"].get(region, False):
        add({codes["Tund"]: 1.0}, f[60])
    return out
