import json

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from tccas.grid import (
    REGIONS,
    Tile,
    get_region,
    land,
    lonlat_to_xy,
    region_cell_mask,
    tile_containing,
    tile_from_name,
    tiles_for_region,
    xy_to_lonlat,
)
from tccas.grid.regions import TILE_KM_CHOICES


@pytest.mark.parametrize(
    ("name", "extent", "n_tiles"),
    [
        ("lapland", (4_510_000, 4_660_000, 5_250_000, 5_310_000), 43),
        ("iberia", (2_630_000, 1_580_000, 3_770_000, 2_470_000), 80),
        ("netherlands", (3_850_000, 3_070_000, 4_140_000, 3_390_000), 11),
    ],
)
def test_region_extents_and_100km_tiles_hold_only_land(name, extent, n_tiles):
    """Counts of docs/regions.md: before the land polygons the boxes planned 64, 156 and 20 tiles."""
    assert get_region(name).extent == extent
    tiles = tiles_for_region(name, 100)
    assert len(tiles) == n_tiles
    assert len({t.name for t in tiles}) == n_tiles
    assert all(region_cell_mask(name, t).any() for t in tiles)
    ys = [t.y0 for t in tiles]
    assert ys == sorted(ys)  # south → north


def test_every_tile_left_out_has_no_cell_of_the_region():
    planned = {t.name for t in tiles_for_region("netherlands", 100)}
    xs, ys = get_region("netherlands").tile_index_ranges(100)
    left_out = [Tile.from_index(x, y, 100_000) for y in ys for x in xs]
    left_out = [t for t in left_out if t.name not in planned]
    assert len(left_out) == len(xs) * len(ys) - 11
    assert not any(region_cell_mask("netherlands", t).any() for t in left_out)


def test_iberia_holds_no_north_africa_balearics_or_france():
    region = get_region("iberia")
    south = [t for t in tiles_for_region("iberia", 100) if t.y0 < 1_700_000]
    assert south  # the tiles of Andalusia
    for tile in south:
        mask = region_cell_mask("iberia", tile)
        ix, iy = tile.cells()
        lon, lat = xy_to_lonlat((ix[mask] + 0.5) * 100, (iy[mask] + 0.5) * 100)
        assert lat.min() > 35.95, tile.name
    # Tangier, Ceuta, Melilla, Palma de Mallorca, Ibiza, Toulouse, Andorra la Vella, Gibraltar: not Iberia
    outside = [(-5.80, 35.77), (-5.32, 35.89), (-2.94, 35.29), (2.65, 39.57), (1.43, 38.91), (1.44, 43.60)]
    outside += [(1.52, 42.51), (-5.35, 36.14)]
    assert not region.contains_lonlat(*np.array(outside).T).any()
    planned_10 = {t.name for t in tiles_for_region("iberia", 10)}
    for lon, lat in [(-5.0, 35.2), (2.65, 39.57), (3.0, 39.6), (1.44, 43.60)]:
        assert tile_containing(lon, lat, 10).name not in planned_10


@pytest.mark.parametrize(
    ("name", "land_point", "sea_point", "foreign_point"),
    [
        ("iberia", (-3.70, 40.42), (-3.0, 36.5), (-0.5, 43.5)),  # Madrid; Alboran Sea; France (Landes)
        ("lapland", (26.64, 67.36), (24.0, 65.2), (18.96, 69.65)),  # Sodankylä; Bothnian Bay; Tromsø
        ("netherlands", (4.80, 53.08), (4.0, 52.5), (4.40, 51.22)),  # Texel; North Sea; Antwerp
    ],
)
def test_known_land_point_is_planned_and_sea_or_foreign_points_are_not(
    name, land_point, sea_point, foreign_point
):
    region = get_region(name)
    assert region.contains_lonlat(*land_point)
    assert not region.contains_lonlat(*sea_point) and not region.contains_lonlat(*foreign_point)
    planned = {t.name for t in tiles_for_region(name, 10)}
    assert tile_containing(*land_point, 10).name in planned
    assert tile_containing(*sea_point, 10).name not in planned
    assert tile_containing(*foreign_point, 10).name not in planned


def test_cell_mask_is_the_cell_centre_rule():
    tile = tile_containing(-9.0, 38.7, 10)  # Lisbon's coast: land, Tagus estuary and the Atlantic
    mask = region_cell_mask("iberia", tile)
    assert 0 < mask.sum() < mask.size
    ix, iy = tile.cells()
    centres = shapely.contains_xy(get_region("iberia").geometry, (ix + 0.5) * 100, (iy + 0.5) * 100)
    assert (mask != centres).sum() <= 2  # GDAL scanline vs exact predicate: at most cells on the boundary


@pytest.mark.parametrize(
    ("region", "lonlat"),
    [("lapland", (26.64, 67.36)), ("iberia", (-5.77, 39.94)), ("netherlands", (5.74, 52.17))],
)
def test_demo_tiles_are_whole_land_tiles_of_their_region(region, lonlat):
    tile = tile_containing(*lonlat, 1)
    assert region_cell_mask(region, tile).all()


def test_subtiles_nest_in_100km_tiles():
    big = {t.name for t in tiles_for_region("netherlands", 100)}
    small = tiles_for_region("netherlands", 10)
    assert len(small) == 475
    for t in small:
        assert f"100kmE{t.x0 // 100_000}N{t.y0 // 100_000}" in big


def test_unknown_region_and_bad_tile_size():
    with pytest.raises(KeyError, match="known regions"):
        get_region("atlantis")
    with pytest.raises(ValueError, match="nest"):
        tiles_for_region("iberia", 3)
    assert set(REGIONS) == {"lapland", "iberia", "netherlands"}
    assert 1 in TILE_KM_CHOICES and 100 in TILE_KM_CHOICES


def test_packaged_polygons_record_their_provenance_and_are_small():
    from importlib import resources

    path = resources.files("tccas").joinpath(land.PACKAGED_FILE)
    doc = json.loads(path.read_text())
    assert len(path.read_bytes()) < 300_000
    assert "Natural Earth" in doc["source"] and doc["simplify_tolerance_m"] == 100.0
    areas = {f["properties"]["name"]: f["properties"]["area_km2"] for f in doc["features"]}
    geoms = land.packaged_regions()
    for name, geom in geoms.items():
        assert abs(geom.area / 1e6 - areas[name]) < 1.0
    assert 575_000 < areas["iberia"] < 590_000  # mainland Spain ≈ 494 000 km² + Portugal ≈ 89 000 km²


def _countries():
    """Toy lon/lat countries: a mainland with an island of each size and a far-away part."""
    mainland = box(-8.0, 37.0, -2.0, 42.0)
    islet = box(-1.9, 40.0, -1.85, 40.05)  # ≈ 24 km²
    island = box(2.0, 39.0, 3.0, 40.0)  # ≈ 9 500 km²
    overseas = box(-16.0, 28.0, -15.0, 29.0)
    return {
        "ESP": shapely.MultiPolygon([mainland, islet, island, overseas]),
        "PRT": box(-9.5, 37.0, -8.0, 42.0),
    }


def test_region_rule_drops_small_parts_and_clips():
    rule = {"units": ("ESP", "PRT"), "clip_lonlat": (-10.0, 35.5, 4.5, 44.0), "min_part_km2": 10_000.0}
    geom = land.region_geometry_from_countries(_countries(), rule, 100.0)
    assert geom.geom_type == "Polygon"  # mainland ESP ∪ PRT, no island, no overseas part
    assert shapely.contains_xy(geom, *lonlat_to_xy(-8.5, 40.0)) and shapely.contains_xy(
        geom, *lonlat_to_xy(-3, 40)
    )
    assert not shapely.contains_xy(geom, *lonlat_to_xy(2.5, 39.5))
    keep_islands = {**rule, "min_part_km2": 0.0, "clip_lonlat": (-10.0, 38.0, 4.5, 44.0)}
    geom = land.region_geometry_from_countries(_countries(), keep_islands, 100.0)
    assert shapely.contains_xy(geom, *lonlat_to_xy(2.5, 39.5)) and shapely.contains_xy(
        geom, *lonlat_to_xy(-1.87, 40.02)
    )
    assert not shapely.contains_xy(geom, *lonlat_to_xy(-3.0, 37.5))  # south of the 38° N clip
    assert not shapely.contains_xy(geom, *lonlat_to_xy(-15.5, 28.5))
    with pytest.raises(KeyError, match="FRA"):
        land.region_geometry_from_countries(_countries(), {**rule, "units": ("FRA",)}, 100.0)


def test_built_collection_parses_and_bad_files_name_the_field():
    countries = {**_countries(), "FIN": box(20.0, 60.0, 30.0, 70.0), "SWE": box(12.0, 56.0, 20.0, 69.0)}
    countries["NLD"] = box(3.5, 51.0, 7.0, 53.4)
    doc = land.build_region_collection(countries, 100.0, "toy countries")
    geoms = land.parse_region_collection(json.loads(json.dumps(doc)), "toy.geojson")
    assert set(geoms) == set(REGIONS)
    _, lat = xy_to_lonlat(*shapely.get_coordinates(geoms["lapland"]).T)
    assert lat.min() == pytest.approx(65.0, abs=0.01)  # Finland and Sweden cut at 65° N
    with pytest.raises(land.RegionFileError, match=r"toy\.geojson: crs: .*EPSG::3035"):
        land.parse_region_collection({**doc, "crs": {"properties": {"name": "EPSG:4326"}}}, "toy.geojson")
    with pytest.raises(
        land.RegionFileError, match=r"toy\.geojson: features: no feature for region\(s\) lapland"
    ):
        land.parse_region_collection({**doc, "features": doc["features"][1:]}, "toy.geojson")
    bad = json.loads(json.dumps(doc))
    bad["features"][0]["geometry"] = {"type": "Point", "coordinates": [0, 0]}
    with pytest.raises(land.RegionFileError, match=r"features\[0\]\.geometry \(lapland\): not a valid"):
        land.parse_region_collection(bad, "toy.geojson")
    with pytest.raises(land.RegionFileError, match=r"toy\.geojson: features: not a GeoJSON"):
        land.parse_region_collection([], "toy.geojson")


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
