"""The Iberia demo pixel at Majadas de Tietar (TmEv + C3Gr dehesa, 39.94 N 5.77 W): 25-year intervention.

ONE 25-year run (one recycled year of synthetic forcing, prior parameters), forward only, shared by the
assertions of this module.

Issue-8 expectations: the converted fraction's wood grows (holds since the NPP smoothing width was made
small, 1e-5 gC m-2 d-1: the former absolute width of 1e-2 drained the labile pool of a 1 % sapling
tile), and a positive extra uptake after 25 years, which does NOT hold with the current model and priors: the
counterfactual grass tile keeps gaining soil carbon at ~+575 gC m-2 yr-1 (grass GPP ~2150 gC m-2 yr-1 at
Majadas under the synthetic climate, above the C3Gr range of model_spec §6.6), so the converted area gives up
a large SOM sink. That test is a strict xfail: it turns into a failure (and the marker must go) as soon as the
model and priors satisfy it.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest
from scenario_inputs import majadas_inputs

from tccas.scenario import ScenarioSettings, run_scenario


@pytest.fixture(scope="module")
def majadas_run():
    settings = ScenarioSettings(horizon_years=25)
    inputs = majadas_inputs(365)
    return jax.jit(functools.partial(run_scenario, settings=settings))(inputs, 0.5)


def test_majadas_carbon_is_conserved_over_25_years(majadas_run):
    run = majadas_run
    scale = float(run.stock_c0)
    assert run.uptake_annual.shape == (25,)
    assert float(run.stock_i1 - run.stock_i0) == pytest.approx(float(run.nep_i), abs=1e-9 * scale)
    assert float(run.d_total) == pytest.approx(float(run.uptake), abs=1e-9 * scale)


def test_majadas_converted_fraction_wood_grows(majadas_run):
    woo = np.asarray(majadas_run.new_woo)
    assert woo[-1] > 2.0 * woo[0], f"young-tree wood {woo[0]:.1f} -> {woo[-1]:.1f} gC m-2 over 25 years"


@pytest.mark.xfail(strict=True, reason="model/priors: counterfactual grass SOM sink dominates the effect")
def test_majadas_extra_uptake_after_25_years_is_positive(majadas_run):
    uptake = float(majadas_run.uptake)
    assert uptake > 0.0, (
        f"extra uptake {uptake:.0f} gC m-2 (pools: {np.round(np.asarray(majadas_run.d_pools)).tolist()})"
    )
