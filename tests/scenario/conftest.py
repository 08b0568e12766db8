"""Session fixtures of the scenario tests (see scenario_inputs.py for the pixels).

Compilation is the cost driver, so every jitted function is built once per session and reused with the same
shapes: a SHORT configuration (window and spin-up of 12 days, horizon of 3 recycled 12-day blocks) for the
property tests, and ONE 25-year configuration (one recycled year of forcing) for the Majadas test.
"""

from __future__ import annotations

import functools

import jax
import pytest
from scenario_inputs import SHORT_DAYS, SHORT_HORIZON, majadas_inputs

from tccas.da import AssimilationSettings
from tccas.da.controls import prior
from tccas.da.pixel import layout_for
from tccas.scenario import ScenarioInputs, ScenarioSettings, intervention_pixel, run_scenario


@pytest.fixture(scope="session")
def short_inputs() -> ScenarioInputs:
    return majadas_inputs(SHORT_DAYS)


@pytest.fixture(scope="session")
def short_settings() -> ScenarioSettings:
    return ScenarioSettings(horizon_years=SHORT_HORIZON)


@pytest.fixture(scope="session")
def run_short(short_settings):
    """``jit(run_scenario)`` for the short configuration: ``f(inputs, fraction) -> ScenarioRun``."""
    return jax.jit(functools.partial(run_scenario, settings=short_settings))


@pytest.fixture(scope="session")
def da_settings() -> AssimilationSettings:
    return AssimilationSettings()


@pytest.fixture(scope="session")
def short_prior(short_inputs, da_settings):
    """``(x_prior, x_sd_prior)`` of the DA control layout for the short pixel."""
    layout = layout_for(short_inputs.pfts.shape[0], da_settings)
    pr = prior(layout, short_inputs.pfts)
    return pr.x0, pr.sigma0


@pytest.fixture(scope="session")
def pixel_short(short_settings, da_settings):
    """``jit(intervention_pixel)`` for the short configuration:
    ``f(problem, x_post, x_cov_post, x_prior, x_sd_prior, fraction, tree_pft) -> dict`` (tree PFT traced)."""
    return jax.jit(functools.partial(intervention_pixel, settings=short_settings, da_settings=da_settings))
