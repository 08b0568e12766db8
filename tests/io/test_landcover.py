from __future__ import annotations

import numpy as np
import pytest

from tccas.grid import CRSMismatchError, Tile, xy_to_lonlat
from tccas.io.errors import CorruptFileError, CoverageError, ProductCRSError, SchemaMismatchError
from tccas.io.landcover import WC_CLASSES, pft_tiles, read_corine, read_dem, read_worldcover_fractions
from tccas.io.synthetic.rasters import demo_landscape, write_corine, write_dem, write_worldcover


def _around(tile: Tile, km: int = 2) -> Tile:
    size = km * 1000
    return Tile.from_index(tile.x0 // size, tile.y0 // size, size)


def test_checkerboard_corine_has_no_half_pixel_shift(tmp_path, tile_nl):
    big = _around(tile_nl)
    ix, iy = big.cells()
    board = np.where((ix + iy) % 2 == 0, 24, 18).astype(np.uint8)
    p = write_corine(tmp_path / "U2018_CLC2018_V2020_20u1.tif", board, big.x0, big.y0 + big.size_m)
    got = read_corine(p, tile_nl)
    tix, tiy = tile_nl.cells()
    np.testing.assert_array_equal(got.values, np.where((tix + tiy) % 2 == 0, 24, 18))
    np.testing.assert_allclose(got.x.values, tile_nl.x)
    np.testing.assert_allclose(got.y.values, tile_nl.y)


def test_corine_errors(tmp_path, tile_nl, tile_lap, truncate):
    big = _around(tile_nl)
    board = np.full(big.shape, 24, np.uint8)
    p = write_corine(tmp_path / "a.tif", board, big.x0 + 50, big.y0 + big.size_m)  # origin off the grid
    with pytest.raises(SchemaMismatchError, match="not on the 100 m grid"):
        read_corine(p, tile_nl)
    q = write_corine(tmp_path / "b.tif", board, big.x0, big.y0 + big.size_m)
    with pytest.raises(CoverageError, match="not inside raster"):
        read_corine(q, tile_lap)
    # a CORINE raster in the wrong CRS is a CRS mismatch (also a grid CRSMismatchError)
    from tccas.io.synthetic.rasters import _write_gtiff

    r = _write_gtiff(tmp_path / "c.tif", board, big.transform, "EPSG:4326", 48)
    with pytest.raises(ProductCRSError, match="EPSG") as info:
        read_corine(r, tile_nl)
    assert isinstance(info.value, CRSMismatchError)
    d = _write_gtiff(tmp_path / "d.tif", board.astype(np.int16), big.transform, "EPSG:3035", 48)
    with pytest.raises(SchemaMismatchError, match="dtype is int16"):
        read_corine(d, tile_nl)
    with pytest.raises(CorruptFileError, match=r"b.tif"):
        read_corine(truncate(q, 0.2), tile_nl)


def test_dem_window_and_average_reprojection(tmp_path, tile_nl):
    big = _around(tile_nl)
    _ix, iy = big.cells()
    elev = (10.0 + (iy - iy.min())).astype(float)
    p = write_dem(tmp_path / "dem_x.tif", elev, big.x0, big.y0 + big.size_m)
    got = read_dem(p, tile_nl)
    _, tiy = tile_nl.cells()
    np.testing.assert_allclose(got, 10.0 + (tiy - iy.min()))
    # the same smooth ramp in EPSG:4326 at ~30 m: average resampling recovers it within a few metres
    lon0, lat0 = xy_to_lonlat(big.x0 - 2000, big.y0 + big.size_m + 2000)
    res = 1 / 3600
    lons = lon0 + (np.arange(300) + 0.5) * res * 1.6
    lats = lat0 - (np.arange(250) + 0.5) * res
    from tccas.grid import lonlat_to_xy

    lo2, la2 = np.meshgrid(lons, lats)
    _, y = lonlat_to_xy(lo2, la2)
    ramp = 10.0 + (y / 100.0 - iy.min() - 0.5)
    from affine import Affine

    from tccas.io.synthetic.rasters import _write_gtiff

    q = _write_gtiff(
        tmp_path / "dem_geo.tif",
        ramp.astype(np.float32),
        Affine(res * 1.6, 0, lon0, 0, -res, lat0),
        "EPSG:4326",
        -9999.0,
    )
    got2 = read_dem(q, tile_nl)
    np.testing.assert_allclose(got2, got, atol=1.0)


def test_pft_mapping_regions_and_limits():
    grid = np.array([[24, 25, 26], [41, 48, 1]], np.uint8)  # 312, 313, 321, water, nodata, urban
    elev = np.array([[100.0, 100.0, 700.0], [0.0, 0.0, 0.0]])
    lap = pft_tiles(grid, "lapland", elevation=elev, max_tiles=6)
    assert lap["land"].tolist() == [[True, True, True], [False, False, True]]
    assert lap["pft"][0, 0, 0] == 5 and lap["fraction"][0, 0, 0] == 1.0  # 312 → EvCn
    assert set(lap["pft"][:2, 0, 1]) == {5, 4} and np.allclose(lap["fraction"][:2, 0, 1], 0.5)  # 313
    assert lap["pft"][0, 0, 2] == 11 and np.isclose(lap["bare_fraction"][0, 2], 0.2)  # fell tundra
    assert lap["pft"][0, 1, 2] == -1 and lap["bare_fraction"][1, 2] == 1.0  # urban: no vegetation
    below = pft_tiles(grid, "lapland", elevation=elev * 0, max_tiles=2)
    assert below["pft"][0, 0, 2] == 9  # natural grassland below the treeline → C3Gr
    ib = pft_tiles(np.array([[22]], np.uint8), "iberia", max_tiles=1)  # dehesa: 0.35 TmEv + 0.65 C3Gr
    assert ib["pft"][0, 0, 0] == 9 and np.isclose(ib["bare_fraction"][0, 0], 0.35)  # dropped tile → bare
    with pytest.raises(ValueError, match="at most 6"):
        pft_tiles(grid, "lapland", max_tiles=7)
    with pytest.raises(KeyError, match="no CLC"):
        pft_tiles(grid, "atlantis")


def test_worldcover_fractions_refine_clc(tmp_path, tile_nl):
    # WorldCover cut-out over the tile: west half tree (10), east half grass (30)
    lon_w, lat_s = xy_to_lonlat(tile_nl.x0 - 300, tile_nl.y0 - 300)
    lon_e, lat_n = xy_to_lonlat(tile_nl.x0 + tile_nl.size_m + 300, tile_nl.y0 + tile_nl.size_m + 300)
    res = 1 / 12000
    nx, ny = int((lon_e - lon_w) / res) + 1, int((lat_n - lat_s) / res) + 1
    lon_c = lon_w + (np.arange(nx) + 0.5) * res
    lat_c = lat_n - (np.arange(ny) + 0.5) * res
    from tccas.grid import lonlat_to_xy

    x, _ = lonlat_to_xy(*np.meshgrid(lon_c, lat_c))
    classes = np.where(x < tile_nl.x0 + 500, 10, 30).astype(np.uint8)
    p = write_worldcover(tmp_path / "ESA_WorldCover_10m_2021_v200_N51E003_Map.tif", classes, lon_w, lat_n)
    frac = read_worldcover_fractions([p], tile_nl)
    assert frac.shape == (len(WC_CLASSES), 10, 10)
    np.testing.assert_allclose(frac.sum(0), 1.0)
    tree = frac[WC_CLASSES.index(10)]
    assert tree[:, 0].min() > 0.95 and tree[:, -1].max() < 0.05
    grid = np.full((10, 10), 25, np.uint8)  # mixed forest
    out = pft_tiles(grid, "netherlands", worldcover=frac)
    # west column: 0.5 EvCn + 0.5 TmSg; east column: C3Gr
    assert np.isclose(out["fraction"][:, 5, 0][out["pft"][:, 5, 0] == 5].sum(), 0.5, atol=0.05)
    assert out["pft"][0, 5, 9] == 9


def test_demo_landscape_is_plausible(rng):
    land = demo_landscape("lapland", (20, 20), rng)
    assert land["clc_grid"].dtype == np.uint8 and set(np.unique(land["clc_grid"])) <= set(range(1, 45))
    assert 50 < land["elevation"].mean() < 400
