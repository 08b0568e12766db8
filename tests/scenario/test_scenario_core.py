"""Intervention vs counterfactual runs of one pixel (obs_da_spec §8 steps 2–4), short configuration."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scenario_inputs import C3GR, SHORT_HORIZON, TMEV

from tccas import model
from tccas.scenario import ScenarioSettings, run_scenario


def _effects(run):
    return np.concatenate(
        [[float(run.uptake), float(run.d_total)], np.asarray(run.d_pools), np.asarray(run.uptake_annual)]
    )


def test_fraction_zero_gives_exactly_zero(run_short, short_inputs):
    run = run_short(short_inputs, 0.0)
    assert np.all(_effects(run) == 0.0)
    assert float(run.planted) == 0.0 and float(run.converted) == 0.0
    assert float(run.grass_area) == pytest.approx(0.7)
    assert run.uptake_annual.shape == (SHORT_HORIZON,)


def test_effect_is_continuous_and_linear_in_fraction(run_short, short_inputs):
    """Per-area trajectories do not depend on the covers, so the effect is exactly linear in φ."""
    per_unit = [_effects(run_short(short_inputs, phi)) / phi for phi in (1e-6, 0.25, 0.5, 1.0)]
    assert np.all(np.isfinite(per_unit[0])) and np.any(per_unit[0] != 0.0)
    for other in per_unit[1:]:
        np.testing.assert_allclose(other, per_unit[0], rtol=1e-8, atol=1e-9)
    small = _effects(run_short(short_inputs, 1e-9))
    assert np.max(np.abs(small)) < 1e-6


def test_carbon_conservation_of_combined_tiles(run_short, short_inputs):
    run = run_short(short_inputs, 0.5)
    scale = float(run.stock_c0)
    assert scale > 1e3
    # over the horizon: stock change of the combined tiles = cumulative NEP (both runs)
    assert float(run.stock_i1 - run.stock_i0) == pytest.approx(float(run.nep_i), abs=1e-9 * scale)
    assert float(run.stock_c1 - run.stock_c0) == pytest.approx(float(run.nep_c), abs=1e-9 * scale)
    # at the conversion: only planted saplings enter, exported grass leaves (litter mode: none)
    assert float(run.exported) == 0.0 and float(run.planted) > 0.0
    assert float(run.stock_i0 - run.stock_c0) == pytest.approx(float(run.planted), abs=1e-9 * scale)
    # effect on total carbon = extra uptake = sum of the pool effects
    assert float(run.d_total) == pytest.approx(float(run.uptake), abs=1e-9 * scale)
    assert float(run.d_total) == pytest.approx(float(np.sum(run.d_pools)), abs=1e-9 * scale)
    assert float(run.uptake_annual[-1]) == pytest.approx(float(run.uptake), abs=1e-9 * scale)
    assert float(run.uptake) == pytest.approx(float(run.nep_i - run.nep_c), abs=1e-9 * scale)


def test_planted_pools_are_one_percent_of_the_adult_tree_tile(run_short, short_inputs):
    run = run_short(short_inputs, 0.5)
    assert float(run.has_tree) == 1.0
    # new wood at the conversion = 1 % of the adult TmEv tile's wood at the end of the window
    adult_woo = float(run.new_woo[0]) / 0.01
    assert 0.5 * float(model.default_pools(TMEV).woo) < adult_woo < 2.0 * float(model.default_pools(TMEV).woo)
    assert run.new_woo.shape == (SHORT_HORIZON + 1,)


def test_pixel_without_grass_has_no_effect(run_short, short_inputs):
    evcn = model.PFT_NAMES.index("EvCn")
    inputs = short_inputs._replace(
        pfts=jnp.array([TMEV, evcn], dtype=jnp.int32),
        tile_params=model.stack_tiles([model.default_tile_params(p) for p in (TMEV, evcn)]),
        pools0=model.stack_tiles([model.default_pools(p) for p in (TMEV, evcn)]),
    )
    run = run_short(inputs, 0.8)
    assert float(run.grass_area) == 0.0
    assert np.all(_effects(run) == 0.0)


def test_grass_pixel_without_tree_tile_uses_reference_adult_and_ignores_padding(short_inputs):
    """C3Gr + a padding tile (cover 0, NoVeg): adult pools from the reference tree run, no NaN. From the
    assimilated state (no equilibrium spin-up) the reference adult's wood stays close to its prior pools over
    the short window, so the saplings' wood is 1 % of it."""
    settings = ScenarioSettings(horizon_years=SHORT_HORIZON, initial_state="assimilated")
    run_short = jax.jit(functools.partial(run_scenario, settings=settings))
    inputs = short_inputs._replace(
        pfts=jnp.array([C3GR, 0], dtype=jnp.int32),
        fractions=jnp.array([1.0, 0.0]),
        tile_params=model.stack_tiles([model.default_tile_params(p) for p in (C3GR, 0)]),
        pools0=model.stack_tiles([model.default_pools(p) for p in (C3GR, 0)]),
    )
    run = run_short(inputs, 0.5)
    assert float(run.has_tree) == 0.0
    assert float(run.converted) == pytest.approx(0.5)
    values = _effects(run)
    assert np.all(np.isfinite(values)) and np.any(values != 0.0)
    assert float(run.new_woo[0]) == pytest.approx(0.01 * float(model.default_pools(TMEV).woo), rel=0.2)
    assert float(run.stock_i1 - run.stock_i0) == pytest.approx(
        float(run.nep_i), abs=1e-9 * float(run.stock_c0)
    )


def test_tree_pft_is_a_traced_input(run_short, short_inputs):
    """One compiled scenario serves every tree PFT (the pipeline compiles it once for all regions): planting
    TmSg on the TmEv + C3Gr pixel uses the reference adult TmSg run (no TmSg tile) and gives other, finite,
    carbon-conserving effects than planting TmEv (which continues the pixel's own TmEv tile)."""
    tmsg = model.PFT_NAMES.index("TmSg")
    tmev_run = run_short(short_inputs, 0.5)
    compiled = run_short._cache_size()
    tmsg_inputs = short_inputs._replace(
        tree_pft=jnp.asarray(tmsg, dtype=jnp.int32),
        tree_params=model.default_tile_params(tmsg),
        tree_pools0=model.default_pools(tmsg),
    )
    tmsg_run = run_short(tmsg_inputs, 0.5)
    assert run_short._cache_size() == compiled
    assert float(tmev_run.has_tree) == 1.0 and float(tmsg_run.has_tree) == 0.0
    assert np.all(np.isfinite(_effects(tmsg_run)))
    assert float(tmsg_run.new_woo[-1]) != pytest.approx(float(tmev_run.new_woo[-1]), rel=1e-3)
    assert float(tmsg_run.stock_i1 - tmsg_run.stock_i0) == pytest.approx(
        float(tmsg_run.nep_i), abs=1e-9 * float(tmsg_run.stock_c0)
    )
