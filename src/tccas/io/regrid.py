"""Regridding onto the 100 m EEA grid (data_formats.md §7): footprint membership tables and forcing weights.

Principle (§7): coarse observations stay at native resolution. For every footprint we compute a sparse
*membership table* ``(fp_key, ix, iy, w)`` in absolute integer EPSG:3035 cell coordinates (tile-independent;
split by tile afterwards), and the model is aggregated over it: ``H(x)_k = Σ_i w_ki f_i / Σ_i w_ki``. Cells
are equal-area (LAEA), so cell counts are area weights.

- TROPOSIF quadrilaterals: corners → EPSG:3035 (pyproj via :mod:`tccas.grid`), cell-centre-in-polygon test
  on the polygon's bounding box of cells (the vectorised alternative of §7 to per-polygon rasterisation; the
  polygon is rebuilt as a convex hull in angular order, so corner order and the dateline do not matter).
- EASE2 25 km (SMOS): inverse map of 100 m cell centres → EPSG:6933 → (row, col) (§2.1).
- Lat-lon cells (JRC-TIP 0.01°, CGLS 1/112°): inverse map of cell centres → floor of the lattice index.
- Forcing (§4.3): bilinear weights of the 4 surrounding ERA5 nodes per 100 m cell (fractional node indices
  from ``xarray.interp`` of the index arrays), lapse-rate elevation offsets ``dz = z_dem − bilinear(z_src)``.

Each table also records, per footprint, ``n_total`` = the footprint's size in 100 m cells over *all* tiles,
so ``coverage = Σ_in-tile w / n_total`` tells how much of a coarse footprint a tile sees.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from pyproj import Geod

from tccas.grid import Tile, check_crs, lonlat_to_xy, xy_to_lonlat
from tccas.io.smos import ease2_rowcol

EASE2_CELL_M = 25025.26


def empty_members() -> xr.Dataset:
    return members_dataset(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))


def members_dataset(fp_key, ix, iy, w) -> xr.Dataset:
    """Membership table on dimension ``member`` (§7 storage columns)."""
    return xr.Dataset(
        {
            "fp_key": ("member", np.asarray(fp_key, np.int64)),
            "ix": ("member", np.asarray(ix, np.int32)),
            "iy": ("member", np.asarray(iy, np.int32)),
            "w": ("member", np.asarray(w, np.float32)),
        }
    )


def _hull_order(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort each polygon's corners counter-clockwise around their centroid (convex quads)."""
    ang = np.arctan2(y - y.mean(-1, keepdims=True), x - x.mean(-1, keepdims=True))
    order = np.argsort(ang, axis=-1)
    return np.take_along_axis(x, order, -1), np.take_along_axis(y, order, -1)


def quad_membership(
    fp_key: np.ndarray,
    lon_bounds: np.ndarray,
    lat_bounds: np.ndarray,
    res: int = 100,
    tile: Tile | None = None,
) -> tuple[xr.Dataset, np.ndarray]:
    """Membership of quadrilateral footprints (corners lon/lat, shape (n, 4)) in 100 m cells.

    A cell belongs to a footprint when its centre lies inside the convex quad (edges: a centre exactly on
    an edge counts for the polygon to its left, so adjacent footprints never share a cell). Returns the table
    (restricted to ``tile`` if given) and ``n_total`` (n,) cells per footprint over all tiles.
    """
    fp_key = np.asarray(fp_key, np.int64)
    x, y = lonlat_to_xy(np.asarray(lon_bounds, float), np.asarray(lat_bounds, float))
    x, y = _hull_order(np.asarray(x), np.asarray(y))
    keys, ixs, iys, n_total = [], [], [], np.zeros(fp_key.size, np.int64)
    for k in range(fp_key.size):
        if not (np.all(np.isfinite(x[k])) and np.all(np.isfinite(y[k]))):
            continue
        ix0, ix1 = int(np.floor(x[k].min() / res)), int(np.ceil(x[k].max() / res))
        iy0, iy1 = int(np.floor(y[k].min() / res)), int(np.ceil(y[k].max() / res))
        cx = (np.arange(ix0, ix1) + 0.5) * res
        cy = (np.arange(iy0, iy1) + 0.5) * res
        gx, gy = np.meshgrid(cx, cy)
        inside = np.ones(gx.shape, bool)
        for j in range(4):
            ax, ay, bx, by = x[k, j], y[k, j], x[k, (j + 1) % 4], y[k, (j + 1) % 4]
            cross = (bx - ax) * (gy - ay) - (by - ay) * (gx - ax)
            # half-open edge rule: strictly left, or on the edge for edges pointing "up/right"
            on_owned = (cross == 0) & ((by > ay) | ((by == ay) & (bx < ax)))
            inside &= (cross > 0) | on_owned
        r, c = np.nonzero(inside)
        n_total[k] = r.size
        cix, ciy = ix0 + c, iy0 + r
        if tile is not None:
            keep = tile.contains_cells(cix, ciy)
            cix, ciy = cix[keep], ciy[keep]
        keys.append(np.full(cix.size, fp_key[k]))
        ixs.append(cix)
        iys.append(ciy)
    if not keys:
        return empty_members(), n_total
    return members_dataset(
        np.concatenate(keys), np.concatenate(ixs), np.concatenate(iys), np.ones(sum(a.size for a in ixs))
    ), n_total


def _tile_lonlat(tile: Tile) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ix, iy = tile.cells()
    lon, lat = xy_to_lonlat((ix + 0.5) * tile.res, (iy + 0.5) * tile.res)
    return ix.ravel(), iy.ravel(), np.asarray(lon).ravel(), np.asarray(lat).ravel()


def ease2_membership(tile: Tile, card_name: str = "smos_ic") -> tuple[xr.Dataset, dict[int, float]]:
    """Membership of the tile's cells in EASE2 M25 cells (``fp_key = row·1388 + col``), weight 1.

    ``n_total`` per key = EASE2 cell area / 100 m² (the grid is equal-area, §2.1).
    """
    ix, iy, lon, lat = _tile_lonlat(tile)
    row, col = ease2_rowcol(lon, lat, card_name)
    key = row * 1388 + col
    n_total = EASE2_CELL_M**2 / tile.res**2
    return members_dataset(key, ix, iy, np.ones(key.size)), {int(k): n_total for k in np.unique(key)}


def latlon_membership(
    tile: Tile, res_deg: float, origin: tuple[float, float] = (-180.0, 90.0)
) -> tuple[xr.Dataset, dict[int, float]]:
    """Membership of the tile's cells in a global lat-lon lattice with north-west corner ``origin``.

    ``fp_key = row·ncol + col`` with ``col = floor((lon − origin_lon)/res)``, ``row = floor((origin_lat −
    lat)/res)``; ``n_total`` = geodesic area of the lat-lon cell (pyproj ``Geod``) / 100 m².
    """
    ix, iy, lon, lat = _tile_lonlat(tile)
    col = np.floor((lon - origin[0]) / res_deg).astype(np.int64)
    row = np.floor((origin[1] - lat) / res_deg).astype(np.int64)
    ncol = round(360.0 / res_deg)
    key = row * ncol + col
    geod = Geod(ellps="WGS84")
    n_total = {}
    for k in np.unique(key):
        r, c = divmod(int(k), ncol)
        lo0, la0 = origin[0] + c * res_deg, origin[1] - r * res_deg
        area, _ = geod.polygon_area_perimeter(
            [lo0, lo0 + res_deg, lo0 + res_deg, lo0], [la0, la0, la0 - res_deg, la0 - res_deg]
        )
        n_total[int(k)] = abs(area) / tile.res**2
    return members_dataset(key, ix, iy, np.ones(key.size)), n_total


def split_by_tile(members: xr.Dataset, tile: Tile) -> xr.Dataset:
    """Rows of a tile-independent membership table whose cells lie in ``tile``."""
    keep = tile.contains_cells(members.ix.values, members.iy.values)
    return members.isel(member=np.nonzero(keep)[0])


def aggregate(members: xr.Dataset, tile: Tile, field: np.ndarray) -> dict[int, float]:
    """Footprint means ``Σ w f / Σ w`` of a tile raster ``field`` (ny, nx) over each footprint's in-tile
    cells."""
    m = split_by_tile(members, tile)
    row, col = tile.rowcol(m.ix.values, m.iy.values)
    vals = np.asarray(field)[row, col] * m.w.values
    keys, inv = np.unique(m.fp_key.values, return_inverse=True)
    num = np.bincount(inv, weights=vals, minlength=keys.size)
    den = np.bincount(inv, weights=m.w.values.astype(float), minlength=keys.size)
    return {int(k): float(n / d) for k, n, d in zip(keys, num, den, strict=True)}


# ----------------------------------------------------------------------------------------------------------
# Forcing (§4.3)

LAPSE_T = 6.5e-3  # K m-1, temperature lapse rate (§4.3 step 2)
LAPSE_TD = 2.0e-3  # K m-1, dewpoint lapse rate (§4.3 step 3)
R_D = 287.05  # J kg-1 K-1
G0 = 9.80665


def bilinear_weights(tile: Tile, lat: np.ndarray, lon: np.ndarray, crs: str = "EPSG:4326"):
    """Flat source-node indices ``(ny, nx, 4)`` into a (lat, lon) grid and bilinear weights ``(ny, nx, 4)``.

    Fractional node positions of the tile's cell centres come from ``xarray.interp`` of the node-index
    arrays (so the weights reproduce ``DataArray.interp(method="linear")`` exactly); the 4 weights are the
    tensor products of the 1-D fractions. Cell centres outside the node lattice raise ``ValueError``.
    """
    check_crs(crs, expected="EPSG:4326", what="forcing grid")
    _, _, plon, plat = _tile_lonlat(tile)
    fr = (
        xr.DataArray(np.arange(lat.size, dtype=float), coords={"lat": lat}, dims="lat")
        .interp(lat=xr.DataArray(plat, dims="p"))
        .values
    )
    fc = (
        xr.DataArray(np.arange(lon.size, dtype=float), coords={"lon": lon}, dims="lon")
        .interp(lon=xr.DataArray(plon, dims="p"))
        .values
    )
    if not (np.all(np.isfinite(fr)) and np.all(np.isfinite(fc))):
        raise ValueError(f"tile {tile.name}: cell centres outside the forcing grid")
    r0 = np.clip(np.floor(fr).astype(int), 0, max(lat.size - 2, 0))
    c0 = np.clip(np.floor(fc).astype(int), 0, max(lon.size - 2, 0))
    tr, tc = fr - r0, fc - c0
    idx = np.stack(
        [r0 * lon.size + c0, r0 * lon.size + c0 + 1, (r0 + 1) * lon.size + c0, (r0 + 1) * lon.size + c0 + 1],
        -1,
    )
    w = np.stack([(1 - tr) * (1 - tc), (1 - tr) * tc, tr * (1 - tc), tr * tc], -1)
    return idx.reshape(tile.ny, tile.nx, 4), w.reshape(tile.ny, tile.nx, 4)


def brutsaert_emissivity(e_pa, t_k):
    """Clear-sky emissivity ε = 1.24 (e/T)^(1/7), e in hPa (Brutsaert 1975; §4.3 step 5)."""
    return 1.24 * (np.asarray(e_pa) / 100.0 / np.asarray(t_k)) ** (1.0 / 7.0)


def downscale(
    native: dict[str, np.ndarray], idx: np.ndarray, w: np.ndarray, dz: np.ndarray
) -> dict[str, np.ndarray]:
    """Native hourly fields ``(time, nlat, nlon)`` → ``(time, npix)`` at 100 m pixels (§4.3).

    ``idx``/``w`` (npix, 4) from :func:`bilinear_weights`, ``dz`` (npix,) = z_dem − bilinear(z_src) [m].
    T: bilinear − Γ·dz; dewpoint shifted by Γ_d (vapour pressure re-derived from the shifted dewpoint);
    p: hypsometric with the mean layer temperature; LW↓ scaled by emissivity and T⁴; SW↓, precipitation,
    wind: bilinear only.
    """
    from tccas.io.era5 import dewpoint_from_vapour_pressure, vapour_pressure_from_dewpoint

    def bil(a):
        flat = np.asarray(a).reshape(a.shape[0], -1)
        return np.einsum("tpk,pk->tp", flat[:, idx], w)

    out = {
        k: bil(native[k])
        for k in ("sw_down", "lw_down", "t_air", "precip", "vapour_pressure", "pressure", "wind")
    }
    t_src = out["t_air"] + 273.15
    t_new = t_src - LAPSE_T * dz
    td_src = dewpoint_from_vapour_pressure(out["vapour_pressure"])
    td_new = np.minimum(td_src - LAPSE_TD * dz, t_new)
    e_new = vapour_pressure_from_dewpoint(td_new)
    t_mean = 0.5 * (t_src + t_new)
    out["pressure"] = out["pressure"] * np.exp(-G0 * dz / (R_D * t_mean))
    out["lw_down"] = (
        out["lw_down"]
        * (brutsaert_emissivity(e_new, t_new) / brutsaert_emissivity(out["vapour_pressure"], t_src))
        * (t_new / t_src) ** 4
    )
    out["t_air"] = t_new - 273.15
    out["vapour_pressure"] = e_new
    return out
