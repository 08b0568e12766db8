"""Contract C5: build_tile_problem / TileProblem.batch on a small synthetic world."""

from __future__ import annotations

import numpy as np
import pytest

from tccas.config import validate_config
from tccas.grid import tile_containing
from tccas.io import regrid as rg
from tccas.io.synthetic.world import sif_value, sm_value, write_world
from tccas.io.tilestore import read_tile_store
from tccas.pipeline.problem import build_tile_problem, padded_length, template_problem
from tccas.pipeline.regrid import run_regrid

REGION = "lapland"
TILE = tile_containing(26.64, 67.36, 1)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    write_world(root / "resources" / REGION, REGION, TILE, "2018-07-01", 3, seed=5)
    config = validate_config(
        {
            "period": {"start": "2018-07-01", "end": "2018-07-02", "spinup_years": 0},
            "regions": {REGION: {"tile_km": 1, "points": [[26.64, 67.36]]}},
            "data": {"source": "synthetic", "root": str(root / "resources"), "seed": 5},
            "outputs": {"root": str(root / "results")},
            "assimilation": {"max_tiles": 2},
        }
    )
    stores = {
        p: run_regrid(config, REGION, TILE.name, p) for p in ("forcing", "landcover", "sif", "smos", "fapar")
    }
    return config, stores, build_tile_problem(stores, config, REGION, TILE)


def test_pixels_tiles_and_dates(built):
    _config, stores, tp = built
    lc = read_tile_store(stores["landcover"], "landcover")
    assert tp.n_pixels == int((lc.land.values & (lc.fraction.values[:2].sum(0) > 0)).sum()) > 0
    assert tp.rows.shape == tp.cols.shape == (tp.n_pixels,)
    assert tp.dates.tolist() == [np.datetime64("2018-07-01"), np.datetime64("2018-07-02")]
    assert tp.pfts.shape == tp.fractions.shape == (tp.n_pixels, 2)
    np.testing.assert_array_equal(tp.fractions[:, 0], lc.fraction.values[0][tp.rows, tp.cols])


def test_batch_shapes_forcing_and_obs(built):
    _config, stores, tp = built
    b1 = tp.batch(np.array([0, 1, 2]))
    b2 = tp.batch(np.array([tp.n_pixels - 1, 0, 5]))
    assert b1.forcing.t_air.shape == (3, 2, 24) and b1.forcing.day_number.shape == (3, 2)
    assert b1.spinup_forcing.t_air.shape == (3, 1, 24)
    for s in ("fapar", "sif", "vod", "sm"):
        assert b1.obs[s].value.shape == b2.obs[s].value.shape == tp.footprint_ids[s][[0, 1, 2]].shape
        assert b1.obs[s].t_hour.dtype == np.int32
    # forcing = bilinear of the native fields minus the lapse rate × dz
    fo = read_tile_store(stores["forcing"], "forcing")
    r, c = tp.rows[0], tp.cols[0]
    idx, w, dz = fo.src_index.values[r, c], fo.weight.values[r, c], fo.dz.values[r, c]
    native = fo.t_air.values[:48].reshape(48, -1)
    expect = (native[:, idx] * w).sum(-1) - rg.LAPSE_T * dz
    np.testing.assert_allclose(b1.forcing.t_air[0].ravel(), expect, atol=1e-10)
    # observations: values of the footprints containing the pixel, keys in footprint_ids, SM ascending pass
    sm = b1.obs["sm"]
    ok = sm.mask[0] > 0
    assert ok.sum() == 2  # one ascending overpass per window day
    np.testing.assert_allclose(
        sm.value[0][ok], sm_value(tp.footprint_ids["sm"][0][ok] % 10_000_000), rtol=1e-6
    )
    assert np.all(tp.footprint_ids["sm"][0][~ok] == -1)
    sif = b1.obs["sif"]
    keys = tp.footprint_ids["sif"][0][sif.mask[0] > 0]
    np.testing.assert_allclose(sif.value[0][sif.mask[0] > 0], sif_value(keys), rtol=1e-6)
    ds = read_tile_store(stores["sif"], "sif")
    ix, iy = TILE.ix0 + tp.cols[0], TILE.iy0 + TILE.ny - 1 - tp.rows[0]
    mine = set(ds.fp_key_m.values[(ds.ix.values == ix) & (ds.iy.values == iy)].tolist())
    in_window = ds.obs_key.values[(ds.time.values < np.datetime64("2018-07-03"))]
    assert set(keys.tolist()) == mine & set(in_window.tolist())


def test_errors(built):
    config, stores, _ = built
    with pytest.raises(KeyError, match="missing regridded inputs"):
        build_tile_problem({k: v for k, v in stores.items() if k != "sif"}, config, REGION, TILE)
    late = dict(config, period={"start": "2018-07-02", "end": "2018-07-09", "spinup_years": 0})
    with pytest.raises(ValueError, match="does not cover the window"):
        build_tile_problem(stores, late, REGION, TILE)


def test_observation_slots_depend_on_the_window_only():
    """Whole slots per window day: tiles with different observation counts share shapes (one compile)."""
    assert padded_length(0, 365, True) == padded_length(40, 365, True) == padded_length(365, 365, True) == 365
    assert padded_length(366, 365, True) == 730  # overlapping orbits: two slots per day
    assert padded_length(5, 31, False) == 1


def _signature(batch):
    """Tree structure, shapes and dtypes of a batch: what selects the compiled program."""
    import jax

    leaves, tree = jax.tree_util.tree_flatten(batch)
    return tree, [(np.shape(x), np.result_type(x)) for x in leaves]


def test_template_problem_batches_have_the_shapes_of_a_real_tile(built):
    """The precompiled programs are built from the template: its batches must select the same program as
    the batches of a real tile, or every tile job would compile again."""
    config, _stores, tp = built
    idx = np.array([0, 1, 2])
    assert _signature(template_problem(config).batch(np.zeros(3, np.int64))) == _signature(tp.batch(idx))
    more_slots = dict(config, assimilation={**config["assimilation"], "max_tiles": 3})
    assert _signature(template_problem(more_slots).batch(np.zeros(3, np.int64))) != _signature(tp.batch(idx))


def test_tile_problems_carry_the_regional_streams_of_the_registry(built):
    """The EO streams of the registry, in its order; the tower streams (site mode) are not carried, and a
    regional config that enables one is refused naming the key."""
    from tccas.obs import EO_STREAMS, STREAMS
    from tccas.pipeline import problem

    config, _stores, tp = built
    assert problem.STREAMS is STREAMS
    assert tuple(tp.streams) == EO_STREAMS == problem.regional_streams(config)
    assert tuple(tp.batch(np.array([0])).obs) == EO_STREAMS
    assert tuple(template_problem(config).streams) == EO_STREAMS
    tower = dict(config, streams={**config["streams"], "nee": {**config["streams"]["nee"], "enabled": True}})
    with pytest.raises(ValueError, match=r"streams\.nee\.enabled: the regional workflow has no observations"):
        template_problem(tower)
    with pytest.raises(ValueError, match=r"streams\.nee\.enabled"):
        problem.regional_streams(tower)
