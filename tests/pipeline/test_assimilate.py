"""Assimilate-tile pieces: padded batches, footprint representativeness errors (obs_da_spec §7.3), slot
control names, gathering; the end-to-end tile run and its batch/worker invariance are in tests/workflow."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tccas.pipeline import assimilate


def test_padded_batches_fixed_shape_cover_every_pixel():
    batches = list(assimilate.padded_index_batches(11, 4))
    assert [b for b, _, _ in batches] == [0, 1, 2]
    assert all(idx.size == 4 for _, idx, _ in batches)
    assert [n for _, _, n in batches] == [4, 4, 3]
    real = np.concatenate([idx[:n] for _, idx, n in batches])
    np.testing.assert_array_equal(real, np.arange(11))
    assert batches[-1][1][-1] == 10  # padding repeats the last real pixel (finite inputs)


def test_footprint_sigma_repr_mode_a():
    # footprint 7: pixels 0,1,2 (slot 0) with prior 1, 2, 6 -> mean 3, var 14/3
    # footprint 9: pixel 0 slot 1 only (a fine obs) -> 0; -1 = padding -> 0
    prior = {"sif": np.array([[1.0, 5.0], [2.0, np.nan], [6.0, 0.0]])}
    ids = {"sif": np.array([[7, 9], [7, -1], [7, -1]])}
    sigma = assimilate.footprint_sigma_repr(prior, ids)["sif"]
    var = np.var([1.0, 2.0, 6.0])
    np.testing.assert_allclose(sigma[:, 0], np.sqrt((np.array([1.0, 2.0, 6.0]) - 3.0) ** 2 + var))
    assert sigma[0, 1] == 0.0 and sigma[1, 1] == 0.0 and sigma[2, 1] == 0.0
    with pytest.raises(ValueError, match="differ"):
        assimilate.footprint_sigma_repr({"sif": np.zeros((2, 2))}, {"sif": np.zeros((2, 3), int)})


def test_with_sigma_repr_marks_padding_invalid():
    from typing import NamedTuple

    class Obs(NamedTuple):
        value: np.ndarray
        sigma_repr: np.ndarray

    class Batch(NamedTuple):
        obs: dict
        valid: np.ndarray

    batch = Batch(
        {"sif": Obs(np.ones((4, 2)), np.zeros((4, 2))), "fapar": Obs(np.ones((4, 2)), np.zeros((4, 2)))},
        np.ones(4),
    )
    out = assimilate._with_sigma_repr(batch, {"sif": np.full((4, 2), 0.3)}, n_real=3)
    np.testing.assert_array_equal(out.valid, [1, 1, 1, 0])
    assert (out.obs["sif"].sigma_repr == 0.3).all() and (out.obs["fapar"].sigma_repr == 0).all()
    assert (batch.valid == 1).all()  # input untouched


def test_gather_drops_padding_rows():
    results = {0: {"a": np.arange(4.0)}, 1: {"a": np.arange(4.0) + 10}}
    np.testing.assert_array_equal(assimilate._gather(results, 6, 4)["a"], [0, 1, 2, 3, 10, 11])


def test_tile_input_paths_follow_contract_layout(tmp_path):
    paths = assimilate.tile_input_paths(tmp_path, "iberia", "1kmE2882N1977")
    assert set(paths) == {"forcing", "landcover", "fapar", "sif", "smos"}
    assert paths["sif"] == tmp_path / "regrid" / "iberia" / "1kmE2882N1977" / "sif.zarr"


def test_empty_tile_returns_no_results():
    problem = SimpleNamespace(n_pixels=0)
    assert assimilate.run_tile_problem(problem, None, 4, None, None) == 0  # no batch run
    with pytest.raises(ValueError, match="footprint_mode"):
        assimilate.run_tile_problem(problem, None, 4, None, None, footprint_mode="joint")
