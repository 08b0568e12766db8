"""Twin-experiment problem builders shared by the assimilation tests (obs_da_spec §6.9).

One synthetic 2-tile Iberian pixel (TmEv 60 %, C3Gr 40 %), 60-day window after a 10-day spin-up, four
streams at TCCAS-like densities scaled to the window. The expensive compiled functions (vmapped
``assimilate_pixel``, the cost gradient) are built once per session; a file lock plus JAX's persistent
compilation cache in pytest's cache folder lets the second xdist worker load the executable compiled by
the first instead of compiling it again.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tccas import model
from tccas.da import AssimilationSettings, ObsStream, PixelProblem
from tccas.obs import EO_STREAMS, common

LAT, LON = 39.94, -5.77
N_DAYS, N_SPIN = 60, 10
PFTS = np.array([3, 9], dtype=np.int32)
FRACTIONS = np.array([0.6, 0.4])
# σ_obs per stream and absolute-only model errors (σ_d independent of the noisy value: clean χ² statistics)
SIGMA_OBS = {"fapar": 0.05, "sif": 0.2, "vod": 0.04, "sm": 0.04}
ERRORS = (
    ("fapar", common.StreamErrorModel(0.05, 0.0, 0.02)),
    ("sif", common.StreamErrorModel(0.1, 0.0, 0.1)),
    ("vod", common.StreamErrorModel(0.05, 0.0, 0.02)),
    ("sm", common.StreamErrorModel(0.04, 0.0, 0.02)),
)
SETTINGS = AssimilationSettings(max_iter=20, error_models=ERRORS)


def obs_hours():
    """Hour indices: FAPAR every 6 d (10:00 UTC), SIF every 3 d at the 13:30 LST hour, SMOS VOD/SM every
    2 d at the 06:00 LST hour (obs_da_spec §0 densities scaled to 60 days)."""
    sif_h = int(np.floor(13.5 - LON / 15.0))
    smos_h = int(np.floor(6.0 - LON / 15.0))
    return {
        "fapar": np.arange(3, N_DAYS, 6) * 24 + 10,
        "sif": np.arange(1, N_DAYS, 3) * 24 + sif_h,
        "vod": np.arange(0, N_DAYS, 2) * 24 + smos_h,
        "sm": np.arange(1, N_DAYS, 2) * 24 + smos_h,
    }


def make_problem(values: dict, masks: dict | None = None, valid=1.0) -> PixelProblem:
    hours = obs_hours()
    obs = {}
    for s in EO_STREAMS:
        n = hours[s].shape[0]
        mask = np.ones(n) if masks is None else masks[s]
        obs[s] = ObsStream(
            hours[s].astype(np.int32),
            np.asarray(values[s], dtype=np.float64),
            np.full(n, SIGMA_OBS[s]),
            np.zeros(n),
            np.asarray(mask, dtype=np.float64),
        )
    fw = model.synthetic_forcing(LAT, LON, "2018-04-01", N_DAYS, seed=11)
    sp = model.synthetic_forcing(LAT, LON, "2018-04-01", N_SPIN, seed=11)
    return PixelProblem(
        fw,
        sp,
        model.default_site(LAT, LON),
        PFTS.copy(),
        FRACTIONS.copy(),
        obs,
        np.asarray(valid, dtype=np.float64),
    )


def stack(problems):
    return jax.tree_util.tree_map(lambda *a: jnp.stack([jnp.asarray(x) for x in a]), *problems)


def batch_members(twin):
    """Batch of 8: all streams, each stream alone (others masked), no obs, padding (NaN data), all again."""
    hours = obs_hours()
    ones = {s: np.ones(h.shape) for s, h in hours.items()}
    zeros = {s: np.zeros(h.shape) for s, h in hours.items()}
    members = [make_problem(twin["values"])]
    for s in EO_STREAMS:
        members.append(
            make_problem(twin["values"], {k: (ones[k] if k == s else zeros[k]) for k in EO_STREAMS})
        )
    members.append(make_problem(twin["values"], zeros))
    nan_values = {s: np.full(h.shape, np.nan) for s, h in hours.items()}
    members.append(make_problem(nan_values, zeros, valid=0.0))
    members.append(make_problem(twin["values"]))
    return members
