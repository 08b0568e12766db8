"""Region map store: registry, template, idempotent region writes, time aggregation, CF/GeoZarr metadata,
rioxarray CRS/transform, finalize validation — on synthetic per-tile DA results (contract C2 keys)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
import zarr

from tccas.config import validate_config
from tccas.grid import tile_from_name
from tccas.io import output_store as store_io
from tccas.pipeline import products

CONTROLS = ["vcmax25[0]", "vcmax25[1]", "sif_scale"]
TARGETS = ("sif743_mean", "woody_biomass", "nee_mean", "nee_total", "gpp_mean", "lai_mean")
TILE_A = "1kmE5242N4797"
TILE_B = "1kmE5243N4797"


def _config(tmp_path, time_step="monthly"):
    lon, lat = 5.74, 52.17  # Loobos, netherlands
    cfg = validate_config(
        {
            "run_id": "test",
            "period": {"start": "2018-01-20", "end": "2018-03-05", "spinup_years": 1},
            "regions": {"netherlands": {"tile_km": 1, "points": [[lon, lat]]}},
            "outputs": {"root": str(tmp_path), "time_step": time_step},
        }
    )
    return cfg


def fake_results(n_pixels: int, days: np.ndarray, seed: int = 0, status=None) -> dict[str, np.ndarray]:
    """Synthetic per-pixel DA results with every contract-C2 key."""
    rng = np.random.default_rng(seed)
    n_days = days.size
    out: dict[str, np.ndarray] = {
        "status": np.zeros(n_pixels, np.int32) if status is None else np.asarray(status, np.int32),
        "n_iter": rng.integers(1, 20, n_pixels).astype(np.int32),
        "n_eval": rng.integers(20, 40, n_pixels).astype(np.int32),
        "cost_prior": rng.uniform(50, 100, n_pixels),
        "cost_post": rng.uniform(10, 50, n_pixels),
        "dfs": rng.uniform(0, 5, n_pixels),
    }
    for s in ("fapar", "sif", "vod", "sm"):
        out[f"n_obs_{s}"] = rng.integers(0, 100, n_pixels).astype(np.int32)
        out[f"cost_post_{s}"] = rng.uniform(0, 10, n_pixels)
    for t in TARGETS:
        sign = -1.0 if t.startswith("nee") else 1.0
        out[t] = sign * rng.uniform(0.5, 5, n_pixels)
        out[f"{t}_sd"] = rng.uniform(0.1, 0.5, n_pixels)
        out[f"{t}_prior"] = sign * rng.uniform(0.5, 5, n_pixels)
        out[f"{t}_prior_sd"] = rng.uniform(0.5, 1.0, n_pixels)
        out[f"{t}_ur"] = 1 - out[f"{t}_sd"] / out[f"{t}_prior_sd"]
    for k in ("x_post", "x_prior", "x_sd_post", "x_sd_prior", "x_ur"):
        out[k] = rng.uniform(0, 1, (n_pixels, len(CONTROLS)))
    a = rng.normal(size=(n_pixels, len(CONTROLS), len(CONTROLS)))
    out["x_cov_post"] = a @ a.transpose(0, 2, 1)
    for k in ("sif743", "gpp", "nee", "lai", "woody_biomass"):
        out[f"series_{k}"] = rng.uniform(-1, 3, (n_pixels, n_days))
    out["pfts"] = np.tile(np.array([5, 9], np.int32), (n_pixels, 1))
    out["fractions"] = np.tile(np.array([0.7, 0.3]), (n_pixels, 1))
    return out


@pytest.fixture
def region_store(tmp_path):
    """A template store for the netherlands demo tile, and a per-tile result of 60 of its 100 pixels."""
    cfg = _config(tmp_path)
    (tile,) = [t.name for t in products.planned_tiles(cfg, "netherlands")]
    store = tmp_path / "maps" / "netherlands.zarr"
    products.init_store(cfg, "netherlands", store, tmp_path / "s" / "template.json", control_names=CONTROLS)
    tile_obj = tile_from_name(tile)
    days = np.arange(np.datetime64("2018-01-20"), np.datetime64("2018-03-06"))
    rng = np.random.default_rng(1)
    cells = np.sort(rng.choice(100, 60, replace=False))  # raster order, as build_tile_problem lists pixels
    rows, cols = np.divmod(cells, 10)
    status = np.where(np.arange(60) % 10 == 0, 3, 0)
    res = fake_results(60, days, status=status)
    result = tmp_path / "assimilate" / f"{tile}.zarr"
    store_io.write_tile_result(result, tile_obj, rows, cols, res, days, CONTROLS, {"wall_seconds": 1.0})
    return cfg, tile, store, result, (rows, cols), res, days


def test_registry_covers_contract_targets():
    reg = store_io.load_registry()
    names = {s.name for s in reg}
    for t in TARGETS:
        assert {t, f"{t}_sd", f"{t}_prior", f"{t}_prior_sd", f"{t}_ur"} <= names
    assert {"status", "n_iter", "x_post", "x_sd_post", "pft", "cover_fraction"} <= names
    series = [s for s in reg if s.kind == "series"]
    assert {s.name for s in series} == {
        f"{k}_series" for k in ("sif743", "gpp", "nee", "lai", "woody_biomass")
    }
    assert all(s.dtype == "float32" and s.dims == ("time", "y", "x") for s in series)
    by = {s.name: s for s in reg}
    assert by["woody_biomass_sd"].standard_name == "wood_carbon_content standard_error"
    assert by["lai_mean"].standard_name == "leaf_area_index"
    assert by["nee_mean"].standard_name is None and by["nee_mean"].quicklook == "diverging"
    assert by["gpp_mean_ur"].standard_name is None and by["gpp_mean_ur"].units == "1"


def test_time_axis_monthly_and_daily():
    starts, bounds = products.time_axis("2018-01-20", "2018-03-05", "monthly")
    assert starts.tolist() == np.array(["2018-01-20", "2018-02-01", "2018-03-01"], "datetime64[D]").tolist()
    assert bounds[-1, 1] == np.datetime64("2018-03-06")
    starts, bounds = products.time_axis("2018-01-01", "2018-01-03", "daily")
    assert starts.size == 3 and (bounds[:, 1] - bounds[:, 0] == 1).all()
    with pytest.raises(ValueError, match="time_step"):
        products.time_axis("2018-01-01", "2018-01-03", "weekly")


def test_aggregate_series_means_per_step():
    days = np.arange(np.datetime64("2018-01-30"), np.datetime64("2018-02-03"))
    values = np.arange(4.0)[:, None, None] * np.ones((4, 1, 2))
    values[1, 0, 1] = np.nan
    _, bounds = products.time_axis("2018-01-01", "2018-03-31", "monthly")
    out = products.aggregate_series(values, days, bounds)
    assert out.shape == (3, 1, 2)
    np.testing.assert_allclose(out[0, 0], [0.5, 0.0])
    np.testing.assert_allclose(out[1, 0], [2.5, 2.5])
    assert np.isnan(out[2]).all()


def test_template_metadata_crs_and_geozarr(region_store):
    _, tile, store, *_ = region_store
    ds = store_io.open_store(store)
    assert ds.attrs["Conventions"] == "CF-1.11"
    assert ds.attrs["proj:code"] == "EPSG:3035"
    assert {c["name"] for c in ds.attrs["zarr_conventions"]} == {"proj:", "spatial:"}
    tile_obj = tile_from_name(tile)
    assert ds.attrs["spatial:transform"] == list(tile_obj.transform)[:6]
    assert ds.time.size == 3 and ds.time_bounds.shape == (3, 2)
    assert list(ds.control.values) == CONTROLS
    for var in ("sif743_mean", "nee_series", "x_post", "status"):
        da = ds[var]
        assert da.rio.crs.to_epsg() == 3035
        assert tuple(da.rio.transform()) == tuple(tile_obj.transform)
        assert {"units", "long_name", "grid_mapping"} <= set(da.attrs)
    assert np.isnan(ds["sif743_mean"].values).all()  # template only: no data yet
    meta = json.loads((store / "nee_series" / "zarr.json").read_text())
    assert meta["data_type"] == "float32"
    assert meta["chunk_grid"]["configuration"]["chunk_shape"] == [1, 10, 10]
    assert json.loads((store / "status" / "zarr.json").read_text())["fill_value"] == -1


def test_write_tile_values_idempotent_and_finalize(region_store, tmp_path):
    cfg, tile, store, result, (rows, cols), res, days = region_store
    sentinel = tmp_path / "s" / f"{tile}.json"
    payload = products.write_tile(cfg, "netherlands", tile, result, store, sentinel)
    assert payload["status"]["converged"] == 54 and payload["status"]["no_obs"] == 6
    assert payload["status"]["no_data"] == 40 and payload["n_pixels"] == 60
    ds = store_io.open_store(store).load()
    np.testing.assert_allclose(ds["nee_total"].values[rows, cols], res["nee_total"].astype("f4"))
    np.testing.assert_allclose(ds["x_sd_post"].values[:, rows, cols], res["x_sd_post"].T.astype("f4"))
    assert (ds["pft"].values[:, rows, cols] == np.array([[5], [9]])).all()
    mask = np.ones((10, 10), bool)
    mask[rows, cols] = False
    assert np.isnan(ds["gpp_mean"].values[mask]).all() and np.isnan(ds["status"].values[mask]).all()
    jan = (days < np.datetime64("2018-02-01")).nonzero()[0]
    np.testing.assert_allclose(
        ds["gpp_series"].values[0, rows, cols], res["series_gpp"][:, jan].mean(axis=1), rtol=1e-6
    )
    before = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    products.write_tile(cfg, "netherlands", tile, result, store, sentinel)
    after = {p.relative_to(store): p.read_bytes() for p in store.rglob("*") if p.is_file()}
    assert before == after  # rewriting a tile changes nothing, byte for byte

    summary = products.finalize(cfg, "netherlands", store, [sentinel], tmp_path / "summary.json")
    assert summary["status_totals"]["converged"] == 54
    assert (store / "zarr.json").exists()
    assert "consolidated_metadata" in json.loads((store / "zarr.json").read_text())
    reopened = xr.open_zarr(store, consolidated=True)
    assert reopened.attrs["tiles_written"] == [tile]
    assert store_io.open_store(store).sizes["x"] == 10  # unconsolidated read still works


def test_finalize_rejects_nan_where_converged(region_store, tmp_path):
    cfg, tile, store, result, (rows, cols), *_ = region_store
    sentinel = tmp_path / "s" / f"{tile}.json"
    products.write_tile(cfg, "netherlands", tile, result, store, sentinel)
    arr = zarr.open_group(store, mode="r+")["lai_mean"]
    data = arr[:]
    data[rows[1], cols[1]] = np.nan  # pixel 1 is converged
    arr[:] = data
    with pytest.raises(store_io.StoreValidationError, match="lai_mean: 1 non-finite"):
        products.finalize(cfg, "netherlands", store, [sentinel], tmp_path / "summary.json")


def test_finalize_requires_every_tile_sentinel(region_store, tmp_path):
    cfg, tile, store, *_ = region_store
    with pytest.raises(FileNotFoundError, match="sentinels missing"):
        products.finalize(cfg, "netherlands", store, [tmp_path / "s" / f"{tile}.json"], tmp_path / "x.json")


def _write_result(tmp_path, tile, res, rows, cols, days):
    path = tmp_path / "assimilate" / f"{tile}-variant.zarr"
    store_io.write_tile_result(
        path, tile_from_name(tile), rows, cols, res, days, CONTROLS, {"wall_seconds": 1.0}
    )
    return path


def test_finalize_refuses_nan_costs_and_all_failed_tiles(region_store, tmp_path):
    """Issue #29 (b) and (a): NaN reached the cost of assimilated pixels (their maps NaN, status failed), or
    every assimilated pixel of a tile failed: the finalisation names the tile and the count."""
    cfg, tile, store, _, (rows, cols), res, days = region_store
    sentinel, summary = tmp_path / "s" / f"{tile}.json", tmp_path / "summary.json"
    nan_cost = {**res, "cost_prior": np.where(np.arange(60) < 7, np.nan, res["cost_prior"])}
    nan_cost["status"] = np.where(np.arange(60) < 7, 2, res["status"]).astype(np.int32)
    products.write_tile(
        cfg, "netherlands", tile, _write_result(tmp_path, tile, nan_cost, rows, cols, days), store, sentinel
    )
    with pytest.raises(
        store_io.StoreValidationError,
        match=rf"tile {tile}: 7 of 55 assimilated pixels have a non-finite cost",
    ):
        products.finalize(cfg, "netherlands", store, [sentinel], summary)
    failed = {**res, "status": np.where(res["status"] == 3, 3, 2).astype(np.int32)}
    products.write_tile(
        cfg, "netherlands", tile, _write_result(tmp_path, tile, failed, rows, cols, days), store, sentinel
    )
    with pytest.raises(
        store_io.StoreValidationError, match=rf"tile {tile}: all 54 assimilated pixels failed"
    ):
        products.finalize(cfg, "netherlands", store, [sentinel], summary)
    assert not summary.exists()


def test_interrupted_write_and_stale_sentinel_are_refused(region_store, tmp_path):
    cfg, tile, store, result, *_ = region_store
    sentinel, summary = tmp_path / "s" / f"{tile}.json", tmp_path / "summary.json"
    products.write_tile(cfg, "netherlands", tile, result, store, sentinel)
    products.finalize(cfg, "netherlands", store, [sentinel], summary)
    assert summary.exists() and not store_io.write_marker(sentinel).exists()
    # a write killed after it started: the summary is gone, the marker stays, the sentinel is missing
    store_io.unfinalize(summary)
    store_io.begin_region_write(sentinel, {"tile": tile})
    assert not summary.exists() and not sentinel.exists()
    with pytest.raises(
        store_io.StoreValidationError, match=rf"interrupted tile writes .*{tile}\.json\.writing"
    ):
        products.finalize(cfg, "netherlands", store, [sentinel], summary)
    products.write_tile(cfg, "netherlands", tile, result, store, sentinel, summary=summary)  # the rerun
    assert not store_io.write_marker(sentinel).exists()
    products.finalize(cfg, "netherlands", store, [sentinel], summary)
    # a template written again after the tile (init_store reran): the tile's sentinel is stale
    products.init_store(
        cfg, "netherlands", store, tmp_path / "s" / "template.json", control_names=CONTROLS, summary=summary
    )
    assert not summary.exists()
    with pytest.raises(store_io.StoreValidationError, match=rf"stale tile sentinels .*: {tile}; rerun"):
        products.finalize(cfg, "netherlands", store, [sentinel], summary)


def test_write_tile_unfinalizes_the_region(region_store, tmp_path):
    cfg, tile, store, result, *_ = region_store
    summary = tmp_path / "summary.json"
    summary.write_text("{}")
    products.write_tile(
        cfg, "netherlands", tile, result, store, tmp_path / "s" / f"{tile}.json", summary=summary
    )
    assert not summary.exists()


def test_store_grid_of_several_tiles_and_regions():
    a, b = tile_from_name(TILE_A), tile_from_name(TILE_B)
    grid = store_io.StoreGrid.from_tiles([b, a])
    assert (grid.nx, grid.ny, grid.tile_px) == (20, 10, 10)
    assert grid.region_of(b) == {"y": slice(0, 10), "x": slice(10, 20)}
    with pytest.raises(ValueError, match="outside"):
        grid.region_of(tile_from_name("1kmE5250N4797"))
    with pytest.raises(ValueError, match="share size"):
        store_io.StoreGrid.from_tiles([a, tile_from_name("10kmE524N479")])


def test_template_refuses_overwrite_unless_asked(region_store, tmp_path):
    cfg, _, store, *_ = region_store
    with pytest.raises(FileExistsError):
        products.init_store(
            cfg, "netherlands", store, tmp_path / "t.json", control_names=CONTROLS, overwrite=False
        )


def test_tile_result_keeps_full_covariance(region_store):
    """x_cov_post survives the per-tile result as float32 (control, control_b, y, x) and the scenario reads
    it back per pixel as the full covariance (no diagonal fallback)."""
    from tccas.pipeline.intervention import tile_posterior

    _, _, _, result, (rows, cols), res, _ = region_store
    ds = store_io.read_tile_result(result)
    assert ds["x_cov_post"].dims == ("control", "control_b", "y", "x")
    assert ds["x_cov_post"].dtype == np.float32
    assert list(ds["control_b"].values) == list(CONTROLS)
    post = tile_posterior(ds, rows, cols, str(result))
    assert post["covariance"] == "full"
    np.testing.assert_allclose(post["x_cov_post"], res["x_cov_post"], rtol=1e-6)
    land = np.zeros((10, 10), bool)
    land[rows, cols] = True
    assert np.isnan(ds["x_cov_post"].values[:, :, ~land]).all()


def test_streamed_write_and_finalize_do_not_depend_on_the_block_size(tmp_path):
    """Issue #28: write-tile reads the per-tile result in blocks of rows and writes the time-resolved maps in
    groups of time steps, the finalisation validates band by band and in groups of steps; with blocks of one
    row and one step the region store is the same as with one block, and a NaN in the last step is found."""
    stores = {}
    for name, chunk_mb in (("whole", None), ("blocks", 1e-5)):
        cfg = _config(tmp_path / name, time_step="daily")
        if chunk_mb is not None:  # below the schema's minimum: one row, one time step per block
            cfg["outputs"]["io_chunk_mb"] = chunk_mb
        (tile,) = [t.name for t in products.planned_tiles(cfg, "netherlands")]
        store = tmp_path / name / "maps.zarr"
        products.init_store(cfg, "netherlands", store, tmp_path / name / "t.json", control_names=CONTROLS)
        days = np.arange(np.datetime64("2018-01-20"), np.datetime64("2018-03-06"))
        cells = np.sort(np.random.default_rng(2).choice(100, 70, replace=False))
        rows, cols = np.divmod(cells, 10)
        result = tmp_path / name / "r.zarr"
        store_io.write_tile_result(
            result, tile_from_name(tile), rows, cols, fake_results(70, days), days, CONTROLS, {}, chunk_mb
        )
        assert store_io.open_tile_result(result).attrs["block_rows"] == (1 if chunk_mb else 10)
        sentinel = tmp_path / name / "s.json"
        products.write_tile(cfg, "netherlands", tile, result, store, sentinel)
        products.finalize(cfg, "netherlands", store, [sentinel], tmp_path / name / "summary.json")
        stores[name] = (cfg, store, sentinel, rows, cols)
    whole, blocks = (store_io.open_store(stores[k][1]).load() for k in ("whole", "blocks"))
    assert whole.sizes["time"] == 45
    xr.testing.assert_identical(whole.drop_attrs(deep=False), blocks.drop_attrs(deep=False))
    cfg, store, sentinel, rows, cols = stores["blocks"]
    arr = zarr.open_group(store, mode="r+")["gpp_series"]
    arr[44, rows[0], cols[0]] = np.nan
    with pytest.raises(store_io.StoreValidationError, match="gpp_series: 1 non-finite"):
        products.finalize(cfg, "netherlands", store, [sentinel], tmp_path / "summary.json")


def test_region_store_without_daily_series(tmp_path):
    """``assimilation.store_daily_series: false``: per-tile results without ``series_*``, a region store
    without time-resolved maps that finalises; a result without series refused by a store that has them."""
    cfg = _config(tmp_path)
    cfg["assimilation"]["store_daily_series"] = False
    (tile,) = [t.name for t in products.planned_tiles(cfg, "netherlands")]
    store = tmp_path / "maps.zarr"
    products.init_store(cfg, "netherlands", store, tmp_path / "t.json", control_names=CONTROLS)
    days = np.arange(np.datetime64("2018-01-20"), np.datetime64("2018-03-06"))
    res = {k: v for k, v in fake_results(100, days).items() if not k.startswith("series_")}
    rows, cols = np.divmod(np.arange(100), 10)
    result = tmp_path / "r.zarr"
    store_io.write_tile_result(result, tile_from_name(tile), rows, cols, res, days, CONTROLS, {})
    sentinel = tmp_path / "s.json"
    products.write_tile(cfg, "netherlands", tile, result, store, sentinel)
    products.finalize(cfg, "netherlands", store, [sentinel], tmp_path / "summary.json")
    ds = store_io.open_store(store)
    assert ds.attrs["daily_series"] is False and not [v for v in ds.data_vars if v.endswith("_series")]
    cfg["assimilation"]["store_daily_series"] = True
    products.init_store(cfg, "netherlands", store, tmp_path / "t.json", control_names=CONTROLS)
    with pytest.raises(ValueError, match=r"no daily series 'series_sif743'.*rerun init-store"):
        products.write_tile(cfg, "netherlands", tile, result, store, sentinel)
