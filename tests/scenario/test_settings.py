"""Scenario settings and the recycled-forcing calendar (obs_da_spec §8)."""

from __future__ import annotations

import numpy as np
import pytest

from tccas.model import PFT_NAMES
from tccas.scenario import ScenarioSettings, recycle_plan, tree_pft_from_config


def test_recycle_plan_whole_years_keep_calendar_phase():
    block, cycle, shift = recycle_plan(730, 5)
    assert block == 365
    np.testing.assert_array_equal(cycle, [0, 1, 0, 1, 0])
    # repetition m of the 2-year block is shifted by round(730.5 m) days
    np.testing.assert_array_equal(shift, [730.0, 730.0, 1461.0, 1461.0, 2192.0])
    block, cycle, shift = recycle_plan(400, 3)  # partial trailing year is not recycled
    np.testing.assert_array_equal(cycle, [0, 0, 0])
    np.testing.assert_array_equal(shift, [365.0, 730.0, 1096.0])


def test_recycle_plan_short_window_and_errors():
    block, cycle, shift = recycle_plan(12, 3)
    assert block == 12
    np.testing.assert_array_equal(cycle, [0, 0, 0])
    np.testing.assert_array_equal(shift, [12.0, 24.0, 36.0])
    with pytest.raises(ValueError, match="no days"):
        recycle_plan(0, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon_years": 0}, "horizon_years"),
        ({"removed_biomass": "burn"}, "removed_biomass"),
        ({"sapling_fraction": 0.0}, "sapling_fraction"),
        ({"prior_jacobian": "both"}, "prior_jacobian"),
        ({"grass_pfts": (3,)}, "grass_pfts"),
        ({"initial_state": "spun_up"}, "initial_state"),
        ({"equilibrium_cycles": 0}, "equilibrium_cycles"),
    ],
)
def test_settings_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ScenarioSettings(**kwargs)


def test_tree_pft_from_config_names_bad_pft():
    config = {
        "scenario": {"tree_pft": {"iberia": "Oak"}, "horizon_years": 25, "initial_state": "assimilated"}
    }
    with pytest.raises(ValueError, match=r"scenario\.tree_pft\.iberia.*Oak"):
        tree_pft_from_config(config, "iberia")
    config["scenario"]["tree_pft"]["iberia"] = "C3Gr"
    with pytest.raises(ValueError, match=r"scenario\.tree_pft\.iberia.*C3Gr is not a tree PFT"):
        tree_pft_from_config(config, "iberia")
    config["scenario"]["tree_pft"]["iberia"] = "TmEv"
    assert tree_pft_from_config(config, "iberia") == PFT_NAMES.index("TmEv")
    settings = ScenarioSettings.from_config(config)
    assert settings.horizon_years == 25 and settings.initial_state == "assimilated"
    assert settings.window_options() == settings.options  # the configured spin-up, no steady state
    eq = ScenarioSettings().window_options()
    assert eq.steady_state_spinup and eq.spinup_cycles == ScenarioSettings().equilibrium_cycles
