"""Issue #28 (a, b): assimilate-tile stores every batch as it finishes and resumes from the stored batches.

The tile problem and the batched DA functions are stand-ins (a synthetic problem with two streams and a
deterministic ``run_batch`` whose results depend on every input the real one reads, representativeness
errors included), so these tests exercise the job's own machinery in seconds: batch parts, resumption, the
streamed per-tile store. The real solver end to end is in tests/workflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest
import xarray as xr

from tccas.config import validate_config
from tccas.grid import tile_from_name
from tccas.io import output_store as store_io
from tccas.pipeline import assimilate

TILE = "1kmE4029N3237"
N_MAX = 3
DAYS = np.arange(np.datetime64("2018-06-01"), np.datetime64("2018-06-11"))


class Obs(NamedTuple):
    value: np.ndarray
    sigma_repr: np.ndarray


class Batch(NamedTuple):
    obs: dict
    valid: np.ndarray
    pfts: np.ndarray
    fractions: np.ndarray


class FakeProblem:
    """37 land pixels of a 10 × 10 tile in raster order, streams ``sif`` (a footprint of 4 pixels per obs
    slot) and ``fapar`` (one pixel per footprint)."""

    def __init__(self):
        rng = np.random.default_rng(3)
        cells = np.sort(rng.choice(100, 37, replace=False))
        self.rows, self.cols = (a.astype(np.int64) for a in np.divmod(cells, 10))
        self.n_pixels = cells.size
        self.dates = DAYS
        self.values = {s: rng.uniform(0, 1, (self.n_pixels, N_MAX)) for s in ("sif", "fapar")}
        pix = np.arange(self.n_pixels)[:, None]
        self.footprint_ids = {
            "sif": (pix // 4) * 10 + np.arange(N_MAX),
            "fapar": np.where(np.arange(N_MAX) < 2, pix * 10 + np.arange(N_MAX), -1),
        }
        self.pfts = np.tile(np.array([5, 9], np.int32), (self.n_pixels, 1))
        self.fractions = np.stack(
            [np.linspace(0.5, 0.9, self.n_pixels), np.linspace(0.5, 0.1, self.n_pixels)], 1
        )

    def batch(self, idx):
        obs = {s: Obs(v[idx], np.zeros((idx.size, N_MAX))) for s, v in self.values.items()}
        return Batch(obs, np.ones(idx.size), self.pfts[idx], self.fractions[idx])


class FakeRunBatch:
    """Deterministic stand-in of :func:`assimilate.run_batch`; ``fail_after``: raise on the assimilation
    batch after that many (a job killed mid-tile)."""

    def __init__(self, n_controls: int, fail_after: int | None = None):
        self.n_controls = n_controls
        self.fail_after = fail_after
        self.assimilated = 0

    def __call__(self, kind, batch, settings, batching=None):
        if kind == "prior":
            return {s: 2.0 * o.value for s, o in batch.obs.items()}
        if self.fail_after is not None and self.assimilated >= self.fail_after:
            raise RuntimeError("killed")
        self.assimilated += 1
        n = batch.valid.size
        h = batch.obs["sif"].value.sum(1) + batch.obs["sif"].sigma_repr.sum(1) / 3.0
        x = h[:, None] * np.arange(1, self.n_controls + 1) / 7.0
        return {
            "status": np.where(batch.valid > 0, 0, 4).astype(np.int32),
            "n_iter": np.full(n, 5, np.int32),
            "cost_post": h,
            "nee_mean": -h / 3.0,
            "x_post": x,
            "x_sd_post": np.sqrt(x) / 11.0,
            "x_cov_post": x[:, :, None] * x[:, None, :] / 13.0,
            "series_gpp": h[:, None] * np.linspace(0.1, 1.0, DAYS.size),
        }


@pytest.fixture
def job(tmp_path, monkeypatch):
    """``run(output, fake, **assimilation)``: assimilate-tile on the fake problem in process, batches of 4."""
    problem = FakeProblem()
    monkeypatch.setattr("tccas.pipeline.problem.build_tile_problem", lambda *a: problem)
    inputs = {"forcing": tmp_path / "forcing.zarr"}
    inputs["forcing"].write_text("inputs")

    def config(**assimilation):
        return validate_config(
            {
                "period": {"start": "2018-06-01", "end": "2018-06-10", "spinup_years": 0},
                "regions": {"netherlands": {"tile_km": 1, "points": [[5.74, 52.17]]}},
                "outputs": {"root": str(tmp_path), "io_chunk_mb": 1},
                "assimilation": assimilation,
            }
        )

    n_controls = len(assimilate.slot_control_names(2, assimilate.assimilation_settings(config())))

    def run(output, fake=None, chunk_mb=None, **assimilation):
        cfg = config(**assimilation)
        if chunk_mb is not None:  # below the schema's minimum: several row blocks in a 10 × 10 tile
            cfg["outputs"]["io_chunk_mb"] = chunk_mb
        fake = fake or FakeRunBatch(n_controls)
        monkeypatch.setattr(assimilate, "run_batch", fake)
        assimilate.assimilate_tile(cfg, "netherlands", TILE, output, inputs=inputs, n_workers=0, batch_size=4)
        return fake

    run.n_controls = n_controls
    run.problem = problem
    return run


def _chunks(store: Path) -> dict[str, bytes]:
    """The bytes of every data chunk of a store (metadata left out: it holds the wall time)."""
    return {str(p.relative_to(store)): p.read_bytes() for p in store.rglob("c/**/*") if p.is_file()}


def test_interrupted_tile_resumes_from_stored_batches_bit_for_bit(job, tmp_path):
    clean = tmp_path / "clean" / f"{TILE}.zarr"
    assert job(clean).assimilated == 10  # 37 pixels in batches of 4
    out = tmp_path / "assimilate" / f"{TILE}.zarr"
    parts = store_io.batch_parts_dir(out)
    with pytest.raises(RuntimeError, match="killed"):
        job(out, FakeRunBatch(job.n_controls, fail_after=3))
    assert not out.exists()  # nothing partial where the result goes
    assert sorted(store_io.BatchParts(parts).done()) == [0, 1, 2]
    # a batch killed while its part was written leaves only a temporary file: it is redone, never kept
    (parts / ".batch-0000003.tmp99-deadbeef.npz").write_bytes(b"half a batch")
    rerun = job(out)
    assert rerun.assimilated == 7
    assert not parts.exists()  # the stored batches are removed once the result is written
    chunks = _chunks(out)
    assert len(chunks) > 20 and chunks == _chunks(clean)
    a, b = store_io.open_tile_result(out).load(), store_io.open_tile_result(clean).load()
    xr.testing.assert_identical(a.drop_attrs(deep=False), b.drop_attrs(deep=False))


def test_batches_of_another_job_are_not_reused(job, tmp_path):
    out = tmp_path / "assimilate" / f"{TILE}.zarr"
    with pytest.raises(RuntimeError, match="killed"):
        job(out, FakeRunBatch(job.n_controls, fail_after=2))
    assert job(out, max_iter=7).assimilated == 10  # other settings: every batch again
    with pytest.raises(RuntimeError, match="killed"):
        job(out, FakeRunBatch(job.n_controls, fail_after=2))
    (tmp_path / "forcing.zarr").write_text("replaced inputs")
    assert job(out).assimilated == 10


def test_per_tile_result_dtypes_blocks_and_switches(job, tmp_path):
    """Maps float32, control vectors float64, compressed; the store is the same for any block size; the
    covariance and the daily series can be left out."""
    out = tmp_path / "a.zarr"
    job(out)
    ds = store_io.open_tile_result(out)
    assert ds["nee_mean"].dtype == np.float32 and ds["series_gpp"].dtype == np.float32
    assert ds["x_post"].dtype == np.float64 and ds["x_cov_post"].dtype == np.float32
    assert ds["status"].dtype == np.int32 and ds["fractions"].dtype == np.float32
    assert ds["x_post"].encoding["compressors"][0].cname.value == "zstd"
    p = job.problem
    res = FakeRunBatch(job.n_controls)("assimilate", p.batch(np.arange(p.n_pixels)), None)
    np.testing.assert_array_equal(ds["status"].values[p.rows, p.cols], 0)
    np.testing.assert_array_equal(ds["processed"].values.sum(), p.n_pixels)
    np.testing.assert_array_equal(ds["pfts"].values[:, p.rows, p.cols].T, p.pfts)
    # σ_repr of the fine stream is 0 and of the sif footprints (4 pixels, prior 2 × value) reaches cost_post
    assert not np.array_equal(ds["cost_post"].values[p.rows, p.cols], res["cost_post"].astype(np.float32))
    small = tmp_path / "small.zarr"
    job(small, chunk_mb=1e-3)
    assert store_io.open_tile_result(small).attrs["block_rows"] == 1 < ds.attrs["block_rows"]
    xr.testing.assert_identical(store_io.open_tile_result(small).load().drop_attrs(), ds.load().drop_attrs())
    lean = tmp_path / "lean.zarr"
    job(lean, store_covariance=False, store_daily_series=False)
    kept = set(store_io.open_tile_result(lean).data_vars)
    assert "x_cov_post" not in kept and "series_gpp" not in kept and "x_post" in kept


def test_batch_parts_fetch_across_batches_and_bad_part(tmp_path):
    parts = store_io.BatchParts.open(tmp_path / "p", "k1")
    for b in range(3):
        parts.write(b, {"a": np.arange(4.0) + 4 * b, "n": np.arange(4) + 4 * b})
    fetch = parts.pixels(4)
    got = fetch(3, 9)
    np.testing.assert_array_equal(got["a"], np.arange(3.0, 9.0))
    assert got["a"].dtype == np.float32 and got["n"].dtype == np.int32
    assert store_io.BatchParts.open(tmp_path / "p", "k1").done() == {0, 1, 2}
    assert store_io.BatchParts.open(tmp_path / "p", "k2").done() == set()
    with pytest.raises(FileNotFoundError, match="batch 0 of the tile job"):
        parts.read(0)
    (tmp_path / "p" / "batch-0000001.npz").write_bytes(b"not a zip")
    with pytest.raises(store_io.CorruptFileError, match=r"batch-0000001\.npz.*delete it"):
        parts.read(1)


def test_tile_result_refuses_pixels_out_of_raster_order(tmp_path):
    tile = tile_from_name(TILE)
    with pytest.raises(ValueError, match="raster order"):
        store_io.write_tile_result(
            tmp_path / "r.zarr", tile, np.array([3, 1]), np.array([0, 0]), {"a": np.ones(2)}, DAYS, [], {}
        )
    with pytest.raises(ValueError, match="'a' has 3 pixels, expected 2"):
        store_io.write_tile_result(
            tmp_path / "r.zarr", tile, np.array([1, 3]), np.array([0, 0]), {"a": np.ones(3)}, DAYS, [], {}
        )
    assert not (tmp_path / "r.zarr").exists()
