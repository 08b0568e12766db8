"""Site mode: the D&B model at flux towers (prior, assimilation, posterior) and its skill scores.

From Python (a notebook), after switching JAX to float64 explicitly::

    import tccas
    tccas.enable_float64()
    from tccas import site

    fr = site.load_site("FR-Pue", "differland/FR-Pue.nc", fluxes=["callmip/FR-Pue_…_Flux.nc"])
    settings = site.settings(streams=("nee", "le", "h"))
    prior = site.run(fr, settings)                                   # xarray.Dataset, daily, with units
    fit = site.assimilate(fr, settings, calibration=("2001-01-01", "2005-12-31"))
    fit.controls                                                      # name, prior, posterior, σ
    post = site.posterior_run(fr, settings, fit)                     # with <var>_sigma

A flux tower is one pixel of the regional machinery (the same model, cost and solver): see
:mod:`tccas.site.run`; :func:`from_tile_pixel` loads a pixel of a regional tile as a site. Files are read
through :mod:`tccas.io.flux` (:mod:`tccas.site.load`); the stages of
the ``tccas site`` command and of ``workflow/sites.smk`` are in :mod:`tccas.pipeline.site`. The joint
multi-site calibration of the PFT-level parameters is :mod:`tccas.site.calibrate`.
"""

from tccas.site.config import load_sites_config, settings, site_settings, validate_sites_config
from tccas.site.data import SiteData, calibration_period
from tccas.site.load import from_tile_pixel, load_configured_site, load_site
from tccas.site.run import (
    RUN_VARIABLES,
    SIGMA_VARIABLES,
    Fit,
    assimilate,
    posterior_run,
    prior_x,
    run,
    site_problem,
    skill_of_runs,
    spinup_trajectory,
)

__all__ = [
    "RUN_VARIABLES",
    "SIGMA_VARIABLES",
    "Fit",
    "SiteData",
    "assimilate",
    "calibration_period",
    "from_tile_pixel",
    "load_configured_site",
    "load_site",
    "load_sites_config",
    "posterior_run",
    "prior_x",
    "run",
    "settings",
    "site_problem",
    "site_settings",
    "skill_of_runs",
    "spinup_trajectory",
    "validate_sites_config",
]
