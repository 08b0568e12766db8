import numpy as np
import pytest

from tccas.grid import REGIONS, Tile, get_region, tile_containing, tile_from_name, tiles_for_region


@pytest.mark.parametrize(
    ("name", "extent", "n_tiles"),
    [
        ("lapland", (4_530_000, 4_660_000, 5_260_000, 5_330_000), 64),
        ("iberia", (2_550_000, 1_450_000, 3_800_000, 2_520_000), 156),
        ("netherlands", (3_840_000, 3_060_000, 4_150_000, 3_410_000), 20),
    ],
)
def test_region_extents_and_100km_tiles_match_spec_table(name, extent, n_tiles):
    assert get_region(name).extent == extent
    tiles = tiles_for_region(name, 100)
    assert len(tiles) == n_tiles
    assert len({t.name for t in tiles}) == n_tiles


def test_iberia_tile_names_span_spec_indices():
    names = {t.name for t in tiles_for_region("iberia", 100)}
    assert "100kmE25N14" in names and "100kmE37N25" in names
    assert "100kmE24N14" not in names and "100kmE38N25" not in names


def test_subtiles_nest_in_100km_tiles_and_cover_the_extent():
    big = {t.name: t for t in tiles_for_region("netherlands", 100)}
    small = tiles_for_region("netherlands", 10)
    x0, y0, x1, y1 = get_region("netherlands").extent
    assert len(small) == ((x1 - x0) // 10_000) * ((y1 - y0) // 10_000)  # extent is snapped to 10 km
    for t in small:
        parent = f"100kmE{t.x0 // 100_000}N{t.y0 // 100_000}"
        assert parent in big
        assert t.x0 + t.size_m <= big[parent].x0 + 100_000 and t.y0 + t.size_m <= big[parent].y0 + 100_000


def test_unknown_region_and_bad_tile_size():
    with pytest.raises(KeyError, match="known regions"):
        get_region("atlantis")
    with pytest.raises(ValueError, match="nest"):
        tiles_for_region("iberia", 3)
    assert set(REGIONS) == {"lapland", "iberia", "netherlands"}


def test_tile_geometry_north_up():
    tile = tile_containing(-5.77, 39.94, 1)
    assert tile.name == "1kmE2976N2012"
    assert tile.shape == (10, 10)
    assert tile.geobox.crs.epsg == 3035
    assert tile.geobox.transform == tile.transform
    ix, iy = tile.cells()
    # row 0 is the northern row; column 0 the western column
    assert iy[0, 0] == tile.iy0 + 9 and iy[-1, 0] == tile.iy0
    assert ix[0, 0] == tile.ix0 and ix[0, -1] == tile.ix0 + 9
    # cell centres agree with the transform
    x, y = tile.transform * (0.5, 0.5)
    assert (x, y) == (tile.x[0], tile.y[0])
    rows, cols = tile.rowcol(ix, iy)
    np.testing.assert_array_equal(rows, np.repeat(np.arange(10)[:, None], 10, 1))
    np.testing.assert_array_equal(cols, np.repeat(np.arange(10)[None, :], 10, 0))
    assert tile.contains_cells(ix, iy).all()
    assert not tile.contains_cells(tile.ix0 - 1, tile.iy0).any()


def test_tile_from_name_round_trip():
    tile = tile_from_name("100kmE25N14")
    assert (tile.x0, tile.y0, tile.size_m, tile.nx) == (2_500_000, 1_400_000, 100_000, 1000)
    assert Tile.from_index(25, 14, 100_000) == tile
    with pytest.raises(ValueError):
        tile_from_name("100kmX25N14")
