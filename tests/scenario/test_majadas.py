"""The Iberia demo pixel at Majadas de Tietar (TmEv + C3Gr dehesa, 39.94 N 5.77 W): 25-year intervention.

ONE 25-year run (one recycled year of synthetic forcing, prior parameters), forward only, shared by the
assertions of this module.

The two issue-8 expectations (the converted fraction's wood grows; positive extra uptake after 25 years)
do NOT hold with the current process model and priors; they are strict xfails so they turn into failures
(and the markers must go) as soon as the model satisfies them. Diagnosis (measured, 2-core CPU):

* wood: ``tccas.model.dalec`` takes the smooth positive part of NPP with an ABSOLUTE width
  (``_NPP_WIDTH = 1e-2 gC m-2 d-1``), comparable to the NPP of a 1 % sapling tile (~0.02 gC m-2 d-1): the
  smoothing allocates up to w/e ≈ 0.004 gC m-2 d-1 of phantom NPP and debits it from the labile pool, which
  drains and the saplings die back (wood 69 → 54 gC m-2). With a width of 1e-5 the same run grows the
  young-tree wood 70 → 1713 gC m-2.
* uptake: dominated by SOM (d_som ≈ −6300 gC m-2 pixel): the counterfactual C3Gr tile, with the demo prior
  pools and the model's high grass productivity (GPP ≈ 2150 gC m-2 yr-1), accumulates SOM at ≈ +575 gC
  m-2 yr-1 for decades, a sink the converted area forgoes, while the young trees' litter inputs are tiny.
  Also negative with the NPP width fixed (−6190) and with the analytic steady-state spin-up (−5875).
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import pytest
from scenario_inputs import TMEV, majadas_inputs

from tccas.scenario import ScenarioSettings, run_scenario

pytestmark = pytest.mark.xdist_group("scenario_forward")


@pytest.fixture(scope="module")
def majadas_run():
    settings = ScenarioSettings(tree_pft=TMEV, horizon_years=25)
    inputs = majadas_inputs(365)
    return jax.jit(functools.partial(run_scenario, settings=settings))(inputs, 0.5)


def test_majadas_carbon_is_conserved_over_25_years(majadas_run):
    run = majadas_run
    scale = float(run.stock_c0)
    assert run.uptake_annual.shape == (25,)
    assert float(run.stock_i1 - run.stock_i0) == pytest.approx(float(run.nep_i), abs=1e-9 * scale)
    assert float(run.d_total) == pytest.approx(float(run.uptake), abs=1e-9 * scale)


@pytest.mark.xfail(strict=True, reason="model: absolute NPP smoothing width drains 1 % sapling labile pools")
def test_majadas_converted_fraction_wood_grows(majadas_run):
    woo = np.asarray(majadas_run.new_woo)
    assert woo[-1] > 2.0 * woo[0], f"young-tree wood {woo[0]:.1f} -> {woo[-1]:.1f} gC m-2 over 25 years"


@pytest.mark.xfail(strict=True, reason="model/priors: counterfactual grass SOM sink dominates the effect")
def test_majadas_extra_uptake_after_25_years_is_positive(majadas_run):
    uptake = float(majadas_run.uptake)
    assert uptake > 0.0, (
        f"extra uptake {uptake:.0f} gC m-2 (pools: {np.round(np.asarray(majadas_run.d_pools)).tolist()})"
    )
