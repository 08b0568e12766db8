"""tccas.pipeline.precompile: which programs are built, for which shapes, and the sentinel (no XLA compile:
``compiled_for`` is replaced by a recorder; the template's shapes are tested in test_problem.py)."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

import tccas.pipeline.assimilate as assimilate
import tccas.pipeline.cluster as cluster
import tccas.pipeline.intervention as intervention
from tccas.config import validate_config
from tccas.pipeline.precompile import precompile

CONFIG = {
    "period": {"start": "2018-07-01", "end": "2018-07-03", "spinup_years": 0},
    "regions": {"netherlands": {"tile_km": 1, "points": [[5.74, 52.17]]}},
    "data": {"source": "synthetic", "root": "resources"},
    "assimilation": {"max_tiles": 2, "pixels_per_batch": 5},
    "scenario": {"pixels_per_batch": 3, "tree_pft": {"netherlands": "TmSg"}},
}


@pytest.fixture
def recorded(monkeypatch, tmp_path):
    calls = []

    def record(jitted, *args, name=None):
        calls.append((name, [np.shape(x) for x in jax.tree_util.tree_leaves(args)]))

    monkeypatch.setattr(assimilate, "compiled_for", record)
    monkeypatch.setattr(intervention, "compiled_for", record)
    env = {"JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax"), "TCCAS_PROGRAM_CACHE": str(tmp_path / "p")}
    monkeypatch.setattr(cluster, "use_worker_environment", lambda: {**env, "XLA_FLAGS": "--flags"})
    return calls, validate_config(CONFIG)


def test_solver_builds_the_prior_and_assimilation_programs_for_the_batch_size(recorded, tmp_path):
    calls, config = recorded
    sentinel = precompile(config, "solver", tmp_path / "programs" / "solver.json")
    names = [name.split(":")[0] for name, _ in calls]
    assert names == ["tccas.da.prior", "tccas.da.assimilate"]
    assert calls[0][1] == calls[1][1] and all(shape[0] == 5 for shape in calls[0][1])
    assert (3, 24) in {shape[1:] for shape in calls[0][1]}  # hourly window forcing of 3 days
    record = json.loads(sentinel.read_text())
    assert record["program"] == "solver" and record["pixels_per_batch"] == 5 and record["solver_slots"] == 5
    assert record["posterior_pixels"] == 5  # the schema default
    # one slot per pixel unless assimilation.solver_slots is set; the prior program does not depend on them
    assert calls[1][0].endswith(":Batching(slots=5, posterior_pixels=5)")
    assert "Batching" not in calls[0][0]
    assert record["TCCAS_PROGRAM_CACHE"] == str(tmp_path / "p")


def test_scenario_builds_one_program_with_posterior_shapes(recorded, tmp_path):
    calls, config = recorded
    precompile(config, "scenario", tmp_path / "scenario.json")
    assert [name.split(":")[0] for name, _ in calls] == ["tccas.scenario"]
    shapes = calls[0][1]
    n_c = len(assimilate.slot_control_names(2, assimilate.assimilation_settings(config)))
    assert (3, n_c) in shapes and (3, n_c, n_c) in shapes and shapes[-2:] == [(), ()]


def test_unknown_program_is_refused_and_writes_nothing(recorded, tmp_path):
    _calls, config = recorded
    with pytest.raises(ValueError, match="unknown program 'solvr'"):
        precompile(config, "solvr", tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()
