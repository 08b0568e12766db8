"""D&B process model (DALEC2 carbon + BETHY photosynthesis, radiation, energy, water, snow) in JAX.

Implements ``shared/spec/model_spec.md`` §1-§4 as pure functions of one tile (one PFT on one pixel);
:func:`run_pixel` vmaps over the ≤ 6 tiles of a pixel. Public names form contract C1.
"""

from tccas.model.core import (
    HOURLY_KEYS,
    MAX_TILES,
    PIXEL_DAILY_KEYS,
    PixelOutput,
    TileState,
    aggregate,
    first_years,
    initial_state,
    pixel_output,
    prepare_met,
    run_pixel,
    run_tile,
    run_tiles,
    spinup,
)
from tccas.model.dalec import DALEC_FLUX_NAMES, steady_state_pools
from tccas.model.forcing import Forcing, Site, default_site, synthetic_forcing
from tccas.model.hydrology import WaterState
from tccas.model.options import ModelOptions
from tccas.model.parameters import (
    GLOBAL_PARAM_NAMES,
    PARAMETERS,
    PFT_NAMES,
    POOL_SPECS,
    TILE_PARAM_NAMES,
    GlobalParams,
    ParamSpec,
    Pools,
    TileParams,
    default_global_params,
    default_pools,
    default_tile_params,
    param_spec,
    pft_traits,
    stack_tiles,
)

__all__ = [
    "DALEC_FLUX_NAMES",
    "GLOBAL_PARAM_NAMES",
    "HOURLY_KEYS",
    "MAX_TILES",
    "PARAMETERS",
    "PFT_NAMES",
    "PIXEL_DAILY_KEYS",
    "POOL_SPECS",
    "TILE_PARAM_NAMES",
    "Forcing",
    "GlobalParams",
    "ModelOptions",
    "ParamSpec",
    "PixelOutput",
    "Pools",
    "Site",
    "TileParams",
    "TileState",
    "WaterState",
    "aggregate",
    "default_global_params",
    "default_pools",
    "default_site",
    "default_tile_params",
    "first_years",
    "initial_state",
    "param_spec",
    "pft_traits",
    "pixel_output",
    "prepare_met",
    "run_pixel",
    "run_tile",
    "run_tiles",
    "spinup",
    "stack_tiles",
    "steady_state_pools",
    "synthetic_forcing",
]
