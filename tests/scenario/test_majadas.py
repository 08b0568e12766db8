"""The Iberia demo pixel at Majadas de Tiétar (TmEv + C3Gr dehesa, 39.94 N 5.77 W): the 25-year intervention
with the default (calibrated) prior, as a regional run uses it, judged by its carbon budget against the
literature (issue #26 items 1, 2, 4).

ONE 25-year run (one recycled year of synthetic Csa forcing, prior parameters, half the grass converted to
holm oak, counterfactual and trees from the equilibrium of the pixel's climate), forward only, in a fresh
interpreter without ``TCCAS_PRIORS`` (the other scenario tests run on the TCCAS demo priors), shared by the
assertions of this module. Expected values:

- counterfactual grass at equilibrium: mean NEE within ±50 gC m-2 yr-1 of zero over the horizon (issue #26
  item 1);
- young holm oak: biomass carbon accumulates at 25–75 gC m-2 yr-1 in Quercus ilex / Q. suber
  afforestations of former cropland in Extremadura planted 1998–2011 (Renna et al. 2024, Geoderma
  Regional), and at 70 gC m-2 yr-1 in 30-year-old Q. ilex / Pinus halepensis CAP afforestations of central
  Spain (Revista Ecosistemas 2026, Campo de Montiel); the test band is 20–100 for the wood pool of the
  model (stem, branches and coarse roots). Canopies of adult holm oak reach LAI 2–3 (Puéchabon, Rambal et
  al. 2003); a 25-year plantation stays below that;
- the effect: from those studies, soil organic carbon does not change significantly in the first two
  decades after planting (Renna et al. 2024; a 10 % loss after pasture-to-plantation conversion in the
  meta-analysis of Guo & Gifford 2002, Glob. Change Biol. 8, 345), so the extra uptake is about the
  biomass gain of the converted area: positive, at most ~100 gC m-2 yr-1 of converted area. Three parts of
  the budget are still wrong, each a strict xfail: the calibrated grass is not at equilibrium (its canopy
  slowly collapses in this climate), the young oaks grow faster than published, and the converted tile
  loses a fifth of its soil carbon (it inherits the grass SOM but not the herbaceous layer that keeps
  feeding it between young trees).
"""

from __future__ import annotations

import pytest

HORIZON = 25
_SCRIPT = f"""
import functools, json, sys
import numpy as np, jax
import tccas; tccas.enable_float64()
sys.path.insert(0, "tests/scenario")
from scenario_inputs import majadas_inputs
from tccas.model.prior_sets import active_prior_set
from tccas.scenario import ScenarioSettings, run_scenario
H = {HORIZON}
settings = ScenarioSettings(horizon_years=H, record_series=True)
run = jax.jit(functools.partial(run_scenario, settings=settings))(majadas_inputs(365), 0.5)
series = {{k: np.asarray(v)[:, 365:].reshape(-1, H, 365) for k, v in run.series.items()}}
new_woo = np.asarray(run.new_woo)
out = {{
    "prior_set": active_prior_set(),
    "scale": float(run.stock_c0),
    "uptake": float(run.uptake),
    "d_total": float(run.d_total),
    "d_pools": np.asarray(run.d_pools).tolist(),
    "stock_i": float(run.stock_i1 - run.stock_i0),
    "nep_i": float(run.nep_i),
    "converted": float(run.converted),
    "grass_nee_mean": float(series["nee"][1].sum() / H),
    "new_woo_rate": float((new_woo[-1] - new_woo[0]) / H),
    "new_lai_last": float(series["lai"][2, -1].max()),
    "new_som_start": float(series["c_som"][2, 0, 0]),
    "new_som_end": float(series["c_som"][2, -1, -1]),
}}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def majadas(default_prior_run):
    res = default_prior_run(_SCRIPT)
    return res


def test_majadas_carbon_is_conserved_over_25_years(majadas):
    m = majadas
    assert m["stock_i"] == pytest.approx(m["nep_i"], abs=1e-9 * m["scale"])
    assert m["d_total"] == pytest.approx(m["uptake"], abs=1e-9 * m["scale"])


@pytest.mark.xfail(
    strict=True,
    reason="the calibrated C3 grass (one Mediterranean annual grassland, US-Var) slowly loses its canopy "
    "under the Majadas climate, so even its equilibrium is a source (~+90 gC m-2 yr-1): the phenology "
    "transfer defect of tests/site/test_spinup_equilibrium.py",
)
def test_majadas_counterfactual_grass_is_at_equilibrium(majadas):
    assert abs(majadas["grass_nee_mean"]) <= 50.0, majadas


@pytest.mark.xfail(
    strict=True,
    reason="the young holm oaks of the calibrated TmEv (a closed Puechabon forest) accumulate wood at "
    "~125 gC m-2 yr-1, faster than the published afforestations (no establishment or competition limits)",
)
def test_majadas_young_oaks_grow_as_published(majadas):
    m = majadas
    assert 20.0 <= m["new_woo_rate"] <= 100.0, m  # gC m-2 yr-1 of the converted area (module docstring)
    assert 0.1 <= m["new_lai_last"] < 2.5, m


def test_majadas_extra_uptake_is_positive_and_within_the_biomass_budget(majadas):
    """Sign and magnitude from the budget: with soil carbon about unchanged the extra uptake is the biomass
    gain of the converted area, at most 100 gC m-2 yr-1 (twice the published mean) over the horizon."""
    m = majadas
    assert 0.0 < m["uptake"] <= m["converted"] * 100.0 * HORIZON, m


@pytest.mark.xfail(
    strict=True,
    reason="the converted tile loses its inherited grass soil carbon (no herbaceous layer between the young "
    "trees); published soil carbon hardly changes in the first two decades (module docstring)",
)
def test_majadas_converted_soil_carbon_changes_as_published(majadas):
    m = majadas
    som_change = m["new_som_end"] / m["new_som_start"] - 1.0
    assert som_change > -0.15, (
        f"converted tile SOM {som_change:+.0%} over {HORIZON} years (effect on the pools lab, fol, roo, woo, "
        f"lit, som: {[round(v) for v in m['d_pools']]} gC m-2)"
    )
