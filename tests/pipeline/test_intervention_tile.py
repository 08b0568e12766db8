"""Issue #28: the intervention runs per tile like the assimilation — batches stored as they finish, a
resumed tile equal to an uninterrupted one, the per-tile scenario result written in blocks — and the
region job assembles the scenario group, its overviews, quick-looks and panels from the tiles.

The tile problem and the batched scenario are stand-ins (a deterministic ``scenario_batch`` whose results
depend on the posterior inputs it is given), so these tests exercise the jobs' own machinery in seconds; the
compiled scenario itself is tested in tests/scenario.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from tccas.config import planned_tiles, validate_config
from tccas.grid import lonlat_to_cell
from tccas.io import output_store as store_io
from tccas.io import scenario_plot
from tccas.io import scenario_store as sstore
from tccas.pipeline import intervention, products
from tccas.scenario import output_keys

POINT = (5.74, 52.17)
N_C = 4  # controls per pixel
H = 3  # horizon years
DAYS = np.arange(np.datetime64("2018-06-01"), np.datetime64("2018-06-11"))
C3GR, TMSG, EVCN = 9, 4, 5


class Batch(NamedTuple):
    pfts: np.ndarray
    fractions: np.ndarray


class FakeProblem:
    """41 land pixels of a 10 × 10 tile in raster order (the point's cell among them): two tile slots, a
    C3 grass tile on every other pixel (the others: evergreen needleleaf), the tree PFT on every third."""

    def __init__(self, tile):
        rng = np.random.default_rng(5)
        ix, iy = lonlat_to_cell(*POINT)
        point = (tile.iy0 + tile.ny - 1 - int(iy)) * 10 + int(ix) - tile.ix0
        cells = np.union1d(rng.choice(100, 40, replace=False), [point])
        self.tile = tile
        self.rows, self.cols = (a.astype(np.int64) for a in np.divmod(cells, 10))
        self.n_pixels = cells.size
        self.point_index = int(np.searchsorted(cells, point))
        self.dates = DAYS
        k = np.arange(self.n_pixels)
        first = np.where(k % 2 == 0, C3GR, EVCN)
        second = np.where(k % 3 == 0, TMSG, EVCN)
        self.pfts = np.stack([first, second], 1).astype(np.int32)
        self.fractions = np.stack([np.full(k.size, 0.6), np.full(k.size, 0.4)], 1)

    def batch(self, idx):
        return Batch(self.pfts[idx], self.fractions[idx])


def assimilation_result(path: Path, problem) -> dict[str, np.ndarray]:
    """A per-tile assimilation result of the fake problem: statuses 0–4 (2 and 4 unusable), one usable
    pixel with a non-finite x_post (unusable too)."""
    rng = np.random.default_rng(9)
    n = problem.n_pixels
    x = rng.normal(size=(n, N_C))
    a = rng.normal(size=(n, N_C, N_C))
    status = (np.arange(n) * 7 % 5).astype(np.int32)
    status[problem.point_index] = 0
    x[np.nonzero(status == 0)[0][-1], 1] = np.nan
    results = {
        "status": status,
        "x_post": x,
        "x_prior": x * 0.5,
        "x_sd_prior": np.ones((n, N_C)),
        "x_sd_post": np.full((n, N_C), 0.3),
        "x_cov_post": np.einsum("nij,nkj->nik", a, a),
    }
    names = [f"c{i}" for i in range(N_C)]
    store_io.write_tile_result(path, problem.tile, problem.rows, problem.cols, results, DAYS, names, {})
    return results


class FakeScenarioBatch:
    """Deterministic stand-in of :func:`intervention.scenario_batch`: each result is a function of the
    pixel's posterior inputs (stored float32 results are exact for these values); ``fail_after``: raise
    after that many batches (a job killed mid-tile)."""

    def __init__(self, fail_after: int | None = None):
        self.fail_after = fail_after
        self.batches = 0

    def __call__(self, batch, post, fraction, tree_pft, settings, da_settings):
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise RuntimeError("killed")
        self.batches += 1
        h = (
            np.round(post["x_post"].sum(1) * 4.0) / 4.0
            + np.trace(post["x_cov_post"], axis1=1, axis2=2).round()
        )
        out = {}
        for key in output_keys(settings):
            out[key] = (
                np.repeat(h[:, None], H, 1) * np.arange(1, H + 1) if key.startswith("uptake_annual") else h
            )
        out["grass_area"] = np.full(h.shape, fraction * 0.6)
        out["uptake"] = h * fraction + tree_pft
        return out


def fake_panels(problem, index, x, fraction, tree_pft, settings, da_settings):
    series = {"young trees": {k: np.full(DAYS.size, float(np.nansum(x))) for k in scenario_plot.PANELS}}
    return {
        "dates": DAYS,
        "series": series,
        "conversion_date": DAYS[-1],
        "uptake_annual": np.arange(H + 1.0),
        "year_ends": DAYS[-1] + np.arange(H + 1) * 365,
    }


@pytest.fixture
def job(tmp_path, monkeypatch):
    """``run(fake=None, **scenario)``: intervention-tile of the fake tile in process, batches of 3."""

    def config(**scenario):
        return validate_config(
            {
                "period": {"start": "2018-06-01", "end": "2018-06-10", "spinup_years": 0},
                "regions": {"netherlands": {"tile_km": 1, "points": [list(POINT)]}},
                "outputs": {"root": str(tmp_path), "io_chunk_mb": 1},
                "scenario": {"horizon_years": H, **scenario},
            }
        )

    (tile,) = planned_tiles(config(), "netherlands")
    problem = FakeProblem(tile)
    monkeypatch.setattr("tccas.pipeline.problem.build_tile_problem", lambda *a: problem)
    monkeypatch.setattr(intervention, "pixel_panels", fake_panels)
    inputs = {"forcing": tmp_path / "forcing.zarr"}
    inputs["forcing"].write_text("inputs")
    result_path = tmp_path / "assimilate" / "netherlands" / f"{tile.name}.zarr"
    result = assimilation_result(result_path, problem)

    def run(fake=None, output=None, **scenario):
        fake = fake or FakeScenarioBatch()
        monkeypatch.setattr(intervention, "scenario_batch", fake)
        out = output or tmp_path / "scenario" / "netherlands" / f"{tile.name}.zarr"
        intervention.intervention_tile(
            config(**scenario), "netherlands", tile.name, out, inputs=inputs, n_workers=0, batch_size=3
        )
        return fake

    run.config, run.tile, run.problem, run.result = config, tile, problem, result
    run.output = tmp_path / "scenario" / "netherlands" / f"{tile.name}.zarr"
    return run


def _chunks(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in store.rglob("c/**/*") if p.is_file()}


def test_interrupted_tile_resumes_from_stored_batches_bit_for_bit(job, tmp_path):
    clean = tmp_path / "clean.zarr"
    usable = np.isin(job.result["status"], (0, 1, 3)) & np.isfinite(job.result["x_post"]).all(1)
    grass = job.problem.pfts[:, 0] == C3GR
    n_run = int(np.sum(usable & grass))
    assert n_run >= 7  # several batches of 3
    assert job(output=clean).batches == -(-n_run // 3)
    parts = store_io.batch_parts_dir(job.output)
    with pytest.raises(RuntimeError, match="killed"):
        job(FakeScenarioBatch(fail_after=2))
    assert not job.output.exists() and sorted(store_io.BatchParts(parts).done()) == [0, 1]
    assert job().batches == -(-n_run // 3) - 2
    assert not parts.exists()
    chunks = _chunks(job.output)
    assert len(chunks) > 20 and chunks == _chunks(clean)
    # another scenario (fraction) never reuses the stored batches of this one
    with pytest.raises(RuntimeError, match="killed"):
        job(FakeScenarioBatch(fail_after=1))
    assert job(fraction=0.3).batches == -(-n_run // 3)


def test_tile_result_status_effects_and_point(job):
    job()
    ds = sstore.open_scenario_tile(job.output)
    p = job.problem
    status = ds["status"].values[p.rows, p.cols]
    uptake = ds["uptake"].values[p.rows, p.cols]
    usable = np.isin(job.result["status"], (0, 1, 3)) & np.isfinite(job.result["x_post"]).all(1)
    grass = p.pfts[:, 0] == C3GR
    np.testing.assert_array_equal(status, np.where(usable, np.where(grass, 0, 1), 2))
    assert np.all(np.isnan(uptake[~usable])) and np.all(uptake[usable & ~grass] == 0.0)
    x, cov = job.result["x_post"], job.result["x_cov_post"]
    h = np.round(x.sum(1) * 4.0) / 4.0 + np.trace(cov, axis1=1, axis2=2).round()
    run = usable & grass
    np.testing.assert_allclose(uptake[run], (h * 0.5 + TMSG)[run], rtol=1e-6)  # the default fraction 0.5
    annual = ds["uptake_annual"].values[:, p.rows, p.cols]
    np.testing.assert_allclose(annual[:, run], (h[run][:, None] * np.arange(1, H + 1)).T, rtol=1e-6)
    assert np.isnan(ds["uptake"].values[~np.isin(np.arange(100), p.rows * 10 + p.cols).reshape(10, 10)]).all()
    attrs = ds.attrs
    assert attrs["pixels"] == p.n_pixels and attrs["pixels_run"] == int(run.sum())
    assert attrs["status"] == {
        "computed": int(run.sum()),
        "no_grass_tile": int((usable & ~grass).sum()),
        "no_posterior": int((~usable).sum()),
    }
    assert attrs["uptake_mean"] == pytest.approx(np.nanmean(uptake), rel=1e-6)
    point = sstore.read_point_series(job.output)
    assert point["lonlat"] == POINT
    assert point["uptake_sd"] == pytest.approx(float(ds["uptake_sd"].values[p.rows, p.cols][p.point_index]))
    expected = float(np.nansum(x[p.point_index]))
    assert point["series"]["young trees"]["lai"][0] == pytest.approx(expected)


def test_region_job_assembles_the_tiles(job, tmp_path):
    job()
    cfg = job.config()
    store = tmp_path / "maps" / "netherlands.zarr"
    products.init_store(cfg, "netherlands", store, tmp_path / "template.json", control_names=["a"])
    sentinel = tmp_path / "maps" / "netherlands.sentinels" / "scenario.json"
    intervention.intervention_region(cfg, "netherlands", sentinel)
    ds = sstore.open_scenario(store)
    one = sstore.open_scenario_tile(job.output)
    np.testing.assert_array_equal(ds["uptake"].values, one["uptake"].values)
    np.testing.assert_array_equal(ds["uptake_annual"].values, one["uptake_annual"].values)
    summary = json.loads(sentinel.read_text())
    assert summary["pixels"] == job.problem.n_pixels and summary["covariance"] == ["full"]
    assert summary["tiles"][0]["status"] == one.attrs["status"]
    pngs = {Path(p).name for p in summary["pngs"]}
    assert {"scenario_uptake.png", "scenario_status.png", "scenario_pixel_series.png"} <= pngs
    levels = (tmp_path / "maps" / "netherlands.scenario.overviews.zarr" / "1" / "uptake").exists()
    assert levels and Path(summary["series_png"]).stat().st_size > 5000


def test_region_job_needs_every_tile(job, tmp_path):
    cfg = job.config()
    store = tmp_path / "maps" / "netherlands.zarr"
    products.init_store(cfg, "netherlands", store, tmp_path / "template.json", control_names=["a"])
    with pytest.raises(FileNotFoundError, match=job.tile.name):
        intervention.intervention_region(cfg, "netherlands", tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()
