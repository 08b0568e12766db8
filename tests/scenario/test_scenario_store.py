"""The ``scenario`` group of a region store (tccas.io.scenario_store) and the PNG writers
(tccas.io.scenario_plot), on synthetic per-pixel scenario results."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import zarr

from tccas.config import validate_config
from tccas.grid import tile_from_name
from tccas.io import scenario_plot
from tccas.io import scenario_store as sstore
from tccas.io.output_store import open_store
from tccas.pipeline import products

H = 4


def _fake(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for spec in sstore.scenario_registry():
        if spec.dims == ("y", "x"):
            out[spec.name] = rng.normal(size=n)
        else:
            out[spec.name] = rng.normal(size=(n, H))
    out["status"] = rng.integers(0, 3, n).astype(np.int8)
    return out


@pytest.fixture
def store(tmp_path):
    cfg = validate_config(
        {
            "run_id": "test",
            "period": {"start": "2018-01-01", "end": "2018-01-31"},
            "regions": {"iberia": {"tile_km": 1, "points": [[-5.77, 39.94]]}},
            "outputs": {"root": str(tmp_path)},
        }
    )
    (tile,) = products.planned_tiles(cfg, "iberia")
    path = tmp_path / "maps" / "iberia.zarr"
    products.init_store(cfg, "iberia", path, tmp_path / "template.json", control_names=["a", "b"])
    return path, tile


def _fetch(res):
    return lambda p0, p1: {k: v[p0:p1] for k, v in res.items()}


def _point():
    dates = np.arange(np.datetime64("2018-01-01"), np.datetime64("2018-01-11"))
    series = {lab: {k: np.arange(10.0) * (i + 1) for k in scenario_plot.PANELS} for i, lab in enumerate("ab")}
    return {
        "dates": dates,
        "series": series,
        "conversion_date": np.datetime64("2018-01-06"),
        "year_ends": dates[[5, 9]],
        "uptake_annual": np.array([0.0, 3.5]),
        "uptake_sd": 1.25,
        "lonlat": (-5.77, 39.94),
    }


def test_scenario_group_round_trip_and_georeference(store, tmp_path):
    path, tile = store
    root_vars = set(open_store(path).data_vars)
    grid = sstore.write_scenario_template(path, H, {"region": "iberia"})
    assert (grid.nx, grid.ny) == (tile.nx, tile.ny)
    rows, cols = np.divmod(np.arange(0, 100, 3), 10)
    res = _fake(rows.size)
    tile_store = tmp_path / "scenario" / f"{tile.name}.zarr"
    # 1 MiB blocks of one row each would not split a 10-cell-wide tile; 1e-4 MiB gives several blocks
    sstore.write_scenario_tile_store(tile_store, tile, rows, cols, _fetch(res), H, {"pixels": 34}, 1e-4)
    one = sstore.open_scenario_tile(tile_store)
    assert one.attrs["block_rows"] < tile.ny and one.attrs["pixels"] == 34
    raw = zarr.open_group(tile_store, mode="r")
    assert raw["uptake"].dtype == np.float32 and raw["status"].dtype == np.int8
    assert sstore.read_point_series(tile_store) is None
    sstore.write_scenario_tile(path, tile, tile_store)
    sstore.write_scenario_tile(path, tile, tile_store)  # idempotent
    sstore.consolidate_scenario(path)
    ds = sstore.open_scenario(path)
    assert ds.rio.crs.to_epsg() == 3035
    assert tuple(ds.rio.transform()) == tuple(grid.transform)
    np.testing.assert_allclose(ds["uptake"].values[rows, cols], res["uptake"].astype(np.float32))
    np.testing.assert_allclose(
        ds["uptake_annual"].values[:, rows, cols], res["uptake_annual"].T.astype(np.float32)
    )
    np.testing.assert_array_equal(ds["status"].values[rows, cols], res["status"])
    assert np.isnan(ds["uptake"].values[1, 1]) and np.isnan(ds["status"].values[1, 1])  # not listed: fill
    assert ds["uptake_ur"].attrs["units"] == "1" and ds["uptake"].attrs["units"] == "g m-2"
    assert ds["status"].attrs["flag_meanings"] == sstore.STATUS_MEANINGS
    # the root group is untouched and a consolidated reader sees the scenario group
    assert set(open_store(path).data_vars) == root_vars
    consolidated = xr.open_zarr(path, group=sstore.GROUP, consolidated=True)
    assert "d_woo_sd" in consolidated
    # the quick-look maps of the group and their extent
    maps, extent = sstore.scenario_maps(path / sstore.GROUP)
    assert "uptake" in maps and "uptake_annual" not in maps and maps["uptake"].shape == (10, 10)
    assert extent == (tile.x0, tile.x0 + tile.size_m, tile.y0, tile.y0 + tile.size_m)
    # rewriting the template (rule re-run) clears the group
    sstore.write_scenario_template(path, H, {"region": "iberia"})
    assert np.all(np.isnan(sstore.open_scenario(path)["uptake"].values))


def test_point_series_round_trip(store, tmp_path):
    _, tile = store
    res = _fake(3)
    out = tmp_path / "t.zarr"
    point = _point()
    sstore.write_scenario_tile_store(out, tile, np.arange(3), np.arange(3), _fetch(res), H, {}, None, point)
    back = sstore.read_point_series(out)
    assert list(back["series"]) == ["a", "b"] and back["lonlat"] == point["lonlat"]
    np.testing.assert_array_equal(back["series"]["b"]["lai"], point["series"]["b"]["lai"])
    np.testing.assert_array_equal(back["dates"], point["dates"])
    np.testing.assert_array_equal(back["year_ends"], point["year_ends"])
    assert back["conversion_date"] == point["conversion_date"] and back["uptake_sd"] == 1.25


def test_tile_store_rejects_wrong_results_and_leaves_nothing(store, tmp_path):
    path, tile = store
    out = tmp_path / "t.zarr"
    res = _fake(5)
    res["uptake_annual"] = res["uptake_annual"][:, :2]
    with pytest.raises(ValueError, match="uptake_annual"):
        sstore.write_scenario_tile_store(out, tile, np.arange(5), np.arange(5), _fetch(res), H, {})
    del res["uptake"]
    with pytest.raises(KeyError, match="uptake"):
        sstore.write_scenario_tile_store(out, tile, np.arange(5), np.arange(5), _fetch(res), H, {})
    with pytest.raises(ValueError, match="raster order"):
        sstore.write_scenario_tile_store(out, tile, np.array([3, 1]), np.arange(2), _fetch(_fake(2)), H, {})
    assert not out.exists() and not list(tmp_path.glob(".t.zarr*"))
    with pytest.raises(FileNotFoundError, match="intervention-tile"):
        sstore.open_scenario_tile(out)
    other = tmp_path / "other.zarr"
    sstore.write_scenario_tile_store(
        other, tile_from_name("1kmE2815N1953"), np.arange(2), np.arange(2), _fetch(_fake(2)), H, {}
    )
    sstore.write_scenario_template(path, H, {"region": "iberia"})
    with pytest.raises(ValueError, match="1kmE2815N1953"):
        sstore.write_scenario_tile(path, tile, other)


def test_open_scenario_names_missing_group(tmp_path):
    with pytest.raises(FileNotFoundError, match="scenario"):
        sstore.open_scenario(tmp_path / "nothing.zarr")


def test_png_writers(tmp_path):
    tile = tile_from_name("1kmE2815N1953")
    maps = {s.name: np.random.default_rng(0).normal(size=(10, 10)) for s in sstore.scenario_registry()}
    maps["status"] = np.zeros((10, 10))
    extent = (tile.x0, tile.x0 + tile.size_m, tile.y0, tile.y0 + tile.size_m)
    pngs = scenario_plot.write_effect_quicklooks(tmp_path, maps, sstore.scenario_registry(), extent, "test")
    expected = {f"scenario_{s.name}.png" for s in sstore.scenario_registry() if s.quicklook}
    assert {p.name for p in pngs} == expected
    assert all(p.stat().st_size > 1000 for p in pngs)
    dates = np.arange(np.datetime64("2018-01-01"), np.datetime64("2020-01-01"))
    wave = np.sin(np.arange(dates.size) / 58.0)
    series = {
        label: {k: wave * (i + 1) for k in scenario_plot.PANELS} for i, label in enumerate(("tree", "grass"))
    }
    ends = np.array(["2018-12-31", "2019-12-31"], dtype="datetime64[D]")
    png = scenario_plot.write_pixel_panels(
        tmp_path / "series.png",
        dates,
        series,
        np.datetime64("2019-01-01"),
        "t",
        (ends, np.array([1.0, 2.0]), 0.5),
    )
    assert png.stat().st_size > 5000
    month, mean = scenario_plot.monthly_means(dates[:59], np.arange(59.0))
    np.testing.assert_allclose(mean, [15.0, 44.5])
    assert month[1] == np.datetime64("2018-02-01")
    del series["grass"]["lai"]
    with pytest.raises(KeyError, match="lai"):
        scenario_plot.write_pixel_panels(tmp_path / "bad.png", dates, series, dates[0], "t")
