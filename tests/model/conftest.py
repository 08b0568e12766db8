"""Shared fixtures of the process-model tests: compile once per shape (session scope)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from tccas import model as M

SODANKYLA = (67.37, 26.63)
MAJADAS = (39.94, -5.77)
LOOBOS = (52.17, 5.74)
N_DAYS = 6  # every short run in the suite uses this length so the jitted functions compile once

# site of each PFT for the ecosystem-magnitude test (model_spec §6.6)
PFT_SITES = {
    1: (0.5, 25.0),
    2: (-10.0, 30.0),
    3: MAJADAS,
    4: LOOBOS,
    5: SODANKYLA,
    6: (60.0, 30.0),
    7: SODANKYLA,
    8: (62.0, 20.0),
    9: MAJADAS,
    10: (10.0, 20.0),
    11: (69.0, 27.0),
    12: LOOBOS,
    13: LOOBOS,
}


def tile_inputs(pfts):
    tp = M.stack_tiles([M.default_tile_params(p) for p in pfts])
    pools = M.stack_tiles([M.default_pools(p) for p in pfts])
    return tp, pools


@pytest.fixture(scope="session")
def make_tiles():
    """Factory: stacked default (TileParams, Pools) for a list of PFT codes."""
    return tile_inputs


@pytest.fixture(scope="session")
def n_days():
    return N_DAYS


@pytest.fixture(scope="session")
def gp():
    return M.default_global_params()


@pytest.fixture(scope="session")
def run_pixel_jit():
    return jax.jit(M.run_pixel, static_argnames="options")


@pytest.fixture(scope="session")
def forcing_summer():
    """Loobos-like pixel, early June (growing season, rain events)."""
    return M.synthetic_forcing(*LOOBOS, "2018-06-01", N_DAYS, seed=3), M.default_site(*LOOBOS)


@pytest.fixture(scope="session")
def forcing_polar_night():
    """Sodankylä around the winter solstice (polar night, snow, frozen soil)."""
    return M.synthetic_forcing(*SODANKYLA, "2018-12-18", N_DAYS, seed=4), M.default_site(*SODANKYLA)


@pytest.fixture(scope="session")
def pixel_summer(run_pixel_jit, forcing_summer, gp):
    """Two-tile pixel (TmSg 0.6 + C3Gr 0.4) over the summer forcing."""
    f, site = forcing_summer
    pfts = np.array([4, 9])
    tp, pools = tile_inputs(pfts)
    out = run_pixel_jit(tp, gp, pools, np.array([0.6, 0.4]), f, site, pfts=pfts)
    return out, tp, pools, pfts


@pytest.fixture(scope="session")
def pixel_polar(run_pixel_jit, forcing_polar_night, gp):
    """Two-tile pixel (EvCn + EShr) in Sodankylä polar night."""
    f, site = forcing_polar_night
    pfts = np.array([5, 7])
    tp, pools = tile_inputs(pfts)
    out = run_pixel_jit(tp, gp, pools, np.array([0.5, 0.5]), f, site, pfts=pfts)
    return out, tp, pools, pfts


def _site(lat, lon):
    """Default site; Majadas (ES-LM1) has sandy soils: W_max = 120 mm (model_spec §4.4 sand/loam) [D]."""
    site = M.default_site(lat, lon)
    if (lat, lon) == MAJADAS:
        site = site._replace(w_max=np.float64(120.0))
    return site


@pytest.fixture(scope="session")
def year_batch(gp):
    """All 13 vegetated PFTs for one year (2018) after a one-year spin-up, one vmapped compile."""
    pfts = np.arange(1, 14)
    fs = [M.synthetic_forcing(*PFT_SITES[p], "2018-01-01", 365, seed=int(p)) for p in pfts]
    forcing = M.Forcing(*(np.stack(x) for x in zip(*fs, strict=True)))
    sites = M.Site(*(np.stack(x) for x in zip(*[_site(*PFT_SITES[p]) for p in pfts], strict=True)))
    tp, pools = tile_inputs(pfts)

    def one(tp_i, pools_i, f_i, s_i, pft_i):
        return M.run_tile(tp_i, gp, pools_i, f_i, s_i, pft_i, M.ModelOptions(), spinup_forcing=f_i)

    hourly, daily, _ = jax.jit(jax.vmap(one))(tp, pools, forcing, sites, pfts)
    keep_h = ("t_canopy", "t_air", "fapar", "albedo")
    return pfts, {k: np.asarray(hourly[k]) for k in keep_h}, {k: np.asarray(v) for k, v in daily.items()}
