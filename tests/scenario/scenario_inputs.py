"""Input builders of the scenario tests: synthetic Majadas-like pixels (TmEv + C3Gr dehesa, 39.94 N 5.77 W).

SHORT configuration: window and spin-up of ``SHORT_DAYS`` days, horizon of ``SHORT_HORIZON`` recycled blocks.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from tccas import model
from tccas.da import ObsStream, PixelProblem
from tccas.obs import STREAMS
from tccas.scenario import ScenarioInputs

LAT, LON, ELEV = 39.94, -5.77, 260.0
TMEV, C3GR = model.PFT_NAMES.index("TmEv"), model.PFT_NAMES.index("C3Gr")
SHORT_DAYS = 12
SHORT_HORIZON = 3


def majadas_inputs(n_days: int, pfts=(TMEV, C3GR), fractions=(0.3, 0.7)) -> ScenarioInputs:
    """Prior inputs of a synthetic Majadas pixel: window from 2018-01-01, spin-up = the previous days."""
    forcing = model.synthetic_forcing(LAT, LON, "2018-01-01", n_days, seed=3, elevation=ELEV)
    start = str(np.datetime64("2018-01-01") - np.timedelta64(n_days, "D"))
    spin = model.synthetic_forcing(LAT, LON, start, n_days, seed=4, elevation=ELEV)
    return ScenarioInputs(
        tile_params=model.stack_tiles([model.default_tile_params(p) for p in pfts]),
        global_params=model.default_global_params(),
        pools0=model.stack_tiles([model.default_pools(p) for p in pfts]),
        tree_params=model.default_tile_params(TMEV),
        tree_pools0=model.default_pools(TMEV),
        fractions=jnp.asarray(fractions, dtype=jnp.float64),
        pfts=jnp.asarray(pfts, dtype=jnp.int32),
        forcing=model.Forcing(*(jnp.asarray(a) for a in forcing)),
        spinup_forcing=model.Forcing(*(jnp.asarray(a) for a in spin)),
        site=model.Site(*(jnp.asarray(a) for a in model.default_site(LAT, LON, ELEV))),
        tree_pft=jnp.asarray(TMEV, dtype=jnp.int32),
    )


def pixel_problem(inputs: ScenarioInputs) -> PixelProblem:
    """A ``tccas.da.PixelProblem`` with the inputs' forcing and tiles and no observations (all masked)."""
    empty = ObsStream(
        t_hour=jnp.zeros(2, dtype=jnp.int32),
        value=jnp.full(2, jnp.nan),
        sigma_obs=jnp.ones(2),
        sigma_repr=jnp.zeros(2),
        mask=jnp.zeros(2),
    )
    return PixelProblem(
        forcing=inputs.forcing,
        spinup_forcing=inputs.spinup_forcing,
        site=inputs.site,
        pfts=inputs.pfts,
        fractions=inputs.fractions,
        obs={s: empty for s in STREAMS},
        valid=jnp.asarray(1.0),
    )
