"""tccas.io.regrid: footprint membership tables, aggregation and forcing weights (data_formats.md §7)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tccas.grid import CRSMismatchError, Tile, xy_to_lonlat
from tccas.io import regrid as rg


def _lattice(tile: Tile, dx: float, dy: float, angle_deg: float, off=(130.0, 270.0), margin=6000.0):
    """Gap-free lattice of rotated rectangles (in EPSG:3035) covering the tile, corners as lon/lat."""
    cx, cy = (tile.x0 + tile.size_m / 2), (tile.y0 + tile.size_m / 2)
    half = tile.size_m / 2 + margin
    u = np.arange(-half + off[0], half, dx)
    v = np.arange(-half + off[1], half, dy)
    vv, uu = np.meshgrid(v, u, indexing="ij")
    du = np.array([0, 1, 1, 0]) * dx
    dv = np.array([0, 0, 1, 1]) * dy
    th = np.deg2rad(angle_deg)
    a, b = uu.ravel()[:, None] + du, vv.ravel()[:, None] + dv
    x = cx + a * np.cos(th) - b * np.sin(th)
    y = cy + a * np.sin(th) + b * np.cos(th)
    return xy_to_lonlat(x, y)


def test_quad_membership_conserves_counts(tile_nl):
    lon, lat = _lattice(tile_nl, 3500.0, 5500.0, -12.0)
    keys = np.arange(len(lon), dtype=np.int64)
    m, n_total = rg.quad_membership(keys, lon, lat, tile=tile_nl)
    # every cell of the tile belongs to exactly one footprint of a gap-free tiling
    cells = set(zip(m.ix.values.tolist(), m.iy.values.tolist(), strict=True))
    assert len(cells) == m.sizes["member"] == tile_nl.nx * tile_nl.ny
    # each footprint's cell count ≈ its area / 1 ha (3.5 × 5.5 km → ≈ 1925 cells, LAEA scale ~1)
    full = n_total[n_total > 0]
    assert abs(np.median(full) - 1925) < 40


def test_footprint_straddling_tile_edge_is_split_consistently(tile_nl):
    west = tile_nl
    east = Tile.from_index(tile_nl.x0 // 1000 + 1, tile_nl.y0 // 1000, 1000)
    x = np.array([[west.x0 + 420.0, east.x0 + 560.0, east.x0 + 610.0, west.x0 + 380.0]])
    y = np.array([[west.y0 + 120.0, west.y0 + 80.0, west.y0 + 930.0, west.y0 + 880.0]])
    lon, lat = xy_to_lonlat(x, y)
    whole, n_total = rg.quad_membership(np.array([7]), lon, lat)
    a, _ = rg.quad_membership(np.array([7]), lon, lat, tile=west)
    b, _ = rg.quad_membership(np.array([7]), lon, lat, tile=east)
    assert a.sizes["member"] > 0 and b.sizes["member"] > 0
    assert a.sizes["member"] + b.sizes["member"] == whole.sizes["member"] == n_total[0]
    union = set(zip(np.r_[a.ix, b.ix].tolist(), np.r_[a.iy, b.iy].tolist(), strict=True))
    assert union == set(zip(whole.ix.values.tolist(), whole.iy.values.tolist(), strict=True))
    # split_by_tile of the tile-independent table gives the same as restricting on the fly
    np.testing.assert_array_equal(rg.split_by_tile(whole, west).ix.values, a.ix.values)


def test_corner_order_does_not_matter(tile_nl):
    lon, lat = _lattice(tile_nl, 3500.0, 5500.0, 20.0, margin=0.0)
    m1, n1 = rg.quad_membership(np.arange(len(lon)), lon, lat)
    perm = [2, 0, 3, 1]
    m2, n2 = rg.quad_membership(np.arange(len(lon)), lon[:, perm], lat[:, perm])
    np.testing.assert_array_equal(n1, n2)
    assert m1.identical(m2)


def test_checkerboard_aggregation_through_membership(tile_nl):
    # a footprint covering exactly the west half of the tile (edges on cell edges) averages only those cells
    x = np.array([[tile_nl.x0, tile_nl.x0 + 500.0, tile_nl.x0 + 500.0, tile_nl.x0]])
    y = np.array([[tile_nl.y0, tile_nl.y0, tile_nl.y0 + 1000.0, tile_nl.y0 + 1000.0]])
    m, n_total = rg.quad_membership(np.array([1]), *xy_to_lonlat(x, y), tile=tile_nl)
    assert n_total[0] == 50
    ix, iy = tile_nl.cells()
    field = np.where(ix - tile_nl.ix0 < 5, 1.0, 0.0)  # west half 1, east half 0
    assert rg.aggregate(m, tile_nl, field) == {1: 1.0}
    board = ((ix + iy) % 2).astype(float)
    assert rg.aggregate(m, tile_nl, board) == {1: 0.5}


def test_ease2_and_latlon_membership(tile_lap, tile_nl):
    m, n_total = rg.ease2_membership(tile_lap)
    assert m.sizes["member"] == 100
    assert set(np.unique(m.fp_key.values)) == {21 * 1388 + 796}
    assert np.isclose(next(iter(n_total.values())), 25025.26**2 / 1e4)
    t, tot = rg.latlon_membership(tile_nl, 0.01)
    assert t.sizes["member"] == 100 and len(tot) >= 2
    # a 0.01° cell at 52° N is ≈ 1.11 km × 0.68 km → ≈ 76 cells of 1 ha
    assert all(70 < v < 80 for v in tot.values())


def test_bilinear_weights_reproduce_xarray_interp(tile_nl):
    lat = np.array([52.0, 52.1, 52.2, 52.3])
    lon = np.array([5.6, 5.7, 5.8, 5.9])
    idx, w = rg.bilinear_weights(tile_nl, lat, lon)
    np.testing.assert_allclose(w.sum(-1), 1.0)
    field = np.random.default_rng(0).normal(size=(4, 4))
    ix, iy = tile_nl.cells()
    plon, plat = xy_to_lonlat((ix + 0.5) * 100, (iy + 0.5) * 100)
    ref = (
        xr.DataArray(field, coords={"lat": lat, "lon": lon}, dims=("lat", "lon"))
        .interp(lat=xr.DataArray(plat, dims=("y", "x")), lon=xr.DataArray(plon, dims=("y", "x")))
        .values
    )
    np.testing.assert_allclose((field.ravel()[idx] * w).sum(-1), ref, rtol=1e-12)
    with pytest.raises(CRSMismatchError):
        rg.bilinear_weights(tile_nl, lat, lon, crs="EPSG:3035")
    with pytest.raises(ValueError, match="outside"):
        rg.bilinear_weights(tile_nl, lat + 1.0, lon)


def test_downscale_lapse_rate_and_pressure():
    native = {
        k: np.full((2, 2, 2), v)
        for k, v in dict(
            sw_down=300.0,
            lw_down=300.0,
            t_air=10.0,
            precip=1.0,
            vapour_pressure=800.0,
            pressure=100000.0,
            wind=3.0,
        ).items()
    }
    idx = np.array([[0, 1, 2, 3], [0, 1, 2, 3]])
    w = np.full((2, 4), 0.25)
    out = rg.downscale(native, idx, w, dz=np.array([0.0, 1000.0]))
    np.testing.assert_allclose(out["t_air"][:, 0], 10.0)
    np.testing.assert_allclose(out["t_air"][:, 1], 10.0 - 6.5)
    assert 88000 < out["pressure"][0, 1] < 90000  # ~ −11 % per km
    assert out["vapour_pressure"][0, 1] < 800.0 and out["lw_down"][0, 1] < 300.0
    np.testing.assert_allclose(out["sw_down"], 300.0)
    np.testing.assert_allclose(out["precip"], 1.0)
