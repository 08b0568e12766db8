"""Intervention scenario (obs_da_spec §8): convert a fraction of a pixel's grass to trees and compute the
extra carbon uptake over a horizon, with its posterior and prior uncertainty (§6.7). Pure JAX on ONE pixel."""

from tccas.scenario.conversion import NewPools, Split, new_tile_pools, split_tiles, tree_source
from tccas.scenario.core import SERIES_KEYS, ScenarioInputs, ScenarioRun, run_scenario
from tccas.scenario.pixel import (
    JACOBIAN_TARGETS,
    intervention_pixel,
    output_keys,
    tree_control_names,
    tree_prior,
    unconverted_result,
)
from tccas.scenario.settings import (
    GRASS_PFTS,
    TREE_PFTS,
    ScenarioSettings,
    recycle_plan,
    tree_pft_from_config,
)
from tccas.scenario.targets import POOLS, STATISTICS, TARGET_NAMES, TARGETS, TargetSpec
from tccas.scenario.uncertainty import (
    Propagated,
    combination_sd,
    propagate,
    quadratic_sd,
    reduction,
    value_and_jacobian,
)

__all__ = [
    "GRASS_PFTS",
    "JACOBIAN_TARGETS",
    "POOLS",
    "SERIES_KEYS",
    "STATISTICS",
    "TARGETS",
    "TARGET_NAMES",
    "TREE_PFTS",
    "NewPools",
    "Propagated",
    "ScenarioInputs",
    "ScenarioRun",
    "ScenarioSettings",
    "Split",
    "TargetSpec",
    "combination_sd",
    "intervention_pixel",
    "new_tile_pools",
    "output_keys",
    "propagate",
    "quadratic_sd",
    "recycle_plan",
    "reduction",
    "run_scenario",
    "split_tiles",
    "tree_control_names",
    "tree_pft_from_config",
    "tree_prior",
    "tree_source",
    "unconverted_result",
    "value_and_jacobian",
]
