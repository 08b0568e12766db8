"""Stages of a site run (``tccas site <stage>``; rules of ``workflow/sites.smk``), one function each.

Every stage reads the validated site config (:func:`tccas.site.config.load_sites_config`), loads the site
(:func:`tccas.site.load_site`) and writes its products through :mod:`tccas.io` (atomically):

=============  ==============================================================  ==========================
stage          what                                                            writes
=============  ==============================================================  ==========================
``spinup``     the prior's repeated-climate spin-up, pool by pool, per cycle   ``spinup.nc``
``prior``      prior run over the whole record                                 ``prior.nc``
``assimilate`` tower streams of the calibration years → posterior controls     ``fit.nc``
``posterior``  posterior run over the whole record, with daily σ               ``posterior.nc``
``validate``   skill of prior and posterior, calibration and validation years  ``skill.csv``, ``skill.md``
``report``     CalLMIP Phase 1 files, figures, one report page                 ``report.md``, ``callmip/``
``calibrate``  joint multi-site calibration of the PFT-level parameters        prior file, control table
``validation-  every site's daily GPP/ET/NEE skill in one table, beside          ``site_skill.csv``, ``.md``
table``        DifferLand v1.0
=============  ==============================================================  ==========================
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from tccas.io.site_store import read_fit, read_run, write_fit, write_run

log = logging.getLogger(__name__)


def _setup(config: dict, site_id: str):
    """(SiteData, AssimilationSettings, spin-up years) of ``site_id`` under ``config``."""
    from tccas import enable_float64
    from tccas.pipeline.cluster import use_worker_environment
    from tccas.site import load_configured_site, site_settings

    use_worker_environment()  # persistent compilation cache shared by the stages' processes
    enable_float64()
    if site_id not in config["sites"]:
        raise KeyError(f"site {site_id!r} is not configured; configured: {', '.join(config['sites'])}")
    sd = load_configured_site(config, site_id)
    return sd, site_settings(config), int(config["spinup"]["years"])


def site_dir(config: dict, site_id: str) -> Path:
    """Output folder of ``site_id``: ``output_dir/<site>``."""
    return Path(config["output_dir"]) / site_id


def stage_spinup(config: dict, site_id: str, out) -> Path:
    """Spin-up diagnostics of the prior: pools and peak LAI at the end of every spin-up cycle and the
    relative drift of each pool over the last cycle (:func:`tccas.site.spinup_trajectory`)."""
    from tccas.site import spinup_trajectory

    sd, settings, years = _setup(config, site_id)
    ds = spinup_trajectory(sd, settings, spinup_years=years, cycles=int(config["spinup"]["cycles"]))
    return write_run(out, ds)


def stage_prior(config: dict, site_id: str, out) -> Path:
    """Prior run over the site's whole record."""
    from tccas.site import run

    sd, settings, years = _setup(config, site_id)
    return write_run(out, run(sd, settings, spinup_years=years))


def stage_assimilate(config: dict, site_id: str, out) -> Path:
    """Assimilation of the configured tower streams over the calibration years."""
    from tccas.site import assimilate, calibration_period

    sd, settings, years = _setup(config, site_id)
    cal = calibration_period(sd, int(config["split"]["calibration_years"]))
    fit = assimilate(sd, settings, calibration=cal, spinup_years=years)
    log.info(
        "%s: cost %.1f -> %.1f, %d iterations, status %d",
        site_id,
        fit.cost_prior,
        fit.cost_post,
        fit.n_iter,
        fit.status,
    )
    return write_fit(out, fit)


def stage_posterior(config: dict, site_id: str, fit_path, out) -> Path:
    """Posterior run over the whole record with the daily σ of the main fluxes and pools."""
    from tccas.site import Fit, posterior_run

    sd, settings, years = _setup(config, site_id)
    fit = Fit(**read_fit(fit_path))
    return write_run(out, posterior_run(sd, settings, fit, spinup_years=years))


def _periods(config: dict, sd) -> dict[str, tuple[str, str]]:
    from tccas.site import calibration_period

    cal = calibration_period(sd, int(config["split"]["calibration_years"]))
    last = str(sd.dates[-1])
    val_start = str(np.datetime64(cal[1]) + np.timedelta64(1, "D"))
    periods = {"calibration": cal}
    if val_start <= last:
        periods["validation"] = (val_start, last)
    return periods


def stage_validate(config: dict, site_id: str, prior_path, posterior_path, csv_out, md_out) -> pd.DataFrame:
    """Skill of the prior and the posterior against the tower (daily, monthly, annual), calibration and
    validation years apart; CSV and Markdown."""
    from tccas.io.site_report import write_skill_table
    from tccas.site import skill_of_runs

    sd, _, _ = _setup(config, site_id)
    runs = {"prior": read_run(prior_path), "posterior": read_run(posterior_path)}
    table = skill_of_runs(sd, runs, _periods(config, sd))
    write_skill_table(table, csv_out, md_out)
    return table


def stage_report(config: dict, site_id: str, prior_path, posterior_path, fit_path, skill_csv, out) -> Path:
    """CalLMIP Phase 1 NetCDF files (prior and posterior, calibration and validation years), the figures and
    the report page of one site."""
    from tccas import __version__
    from tccas.io.callmip import write_callmip
    from tccas.io.site_report import plot_site, write_site_report
    from tccas.site import Fit

    sd, _, _ = _setup(config, site_id)
    out = Path(out)
    prior, post = read_run(prior_path), read_run(posterior_path)
    fit = Fit(**read_fit(fit_path))
    periods = _periods(config, sd)
    cm = config["callmip"]
    for name, (start, end) in periods.items():
        for kind, ds in (("Prior", prior), ("Posterior", post)):
            write_callmip(
                out.parent / "callmip",
                ds.sel(time=slice(start, end)),
                model=cm["model"],
                version=__version__,
                scenario=int(cm["scenario"]),
                site=site_id,
                period="Cal" if name == "calibration" else "Val",
                kind=kind,
            )
    figure = plot_site(prior, post, sd.obs, out.parent / "figures" / f"{site_id}.png", periods=periods)
    return write_site_report(
        out,
        site=site_id,
        skill=pd.read_csv(skill_csv),
        figures=figure,
        controls=fit.controls,
        meta=sd.attrs,
        periods=periods,
    )


def calibration_settings(config: dict):
    """(:class:`tccas.site.calibrate.CalibrationSettings`, :class:`tccas.da.AssimilationSettings`, sites) of
    the ``calibration`` section of a validated site config."""
    import dataclasses

    from tccas.site import site_settings
    from tccas.site.calibrate import PER_SITE_DEFAULT, SHARED_DEFAULT, CalibrationSettings

    c = config["calibration"]
    cal = CalibrationSettings(
        shared=SHARED_DEFAULT if c["shared"] is None else tuple(c["shared"]),
        per_site=PER_SITE_DEFAULT if c["per_site"] is None else tuple(c["per_site"]),
        edc_weight=float(c["edc_weight"]),
        max_iter=int(c["max_iter"]),
        sigma_floor_rel=float(c["sigma_floor_rel"]),
    )
    settings = dataclasses.replace(site_settings(config), streams=tuple(c["streams"]))
    sites = list(c["sites"] or config["sites"])
    unknown = [s for s in sites if s not in config["sites"]]
    if unknown:
        raise KeyError(
            f"calibration sites {unknown} are not configured; configured: {', '.join(config['sites'])}"
        )
    return cal, settings, sites


def stage_calibrate(config: dict, out, table_out) -> Path:
    """Joint calibration of the PFT-level parameters on the calibration years of the configured calibration
    sites (:func:`tccas.site.calibrate.calibrate`); writes the prior-parameter file ``out`` and the control
    table ``table_out`` (:mod:`tccas.io.priors`)."""
    from tccas import enable_float64
    from tccas.io.priors import write_control_table, write_prior_file
    from tccas.model import prior_sets
    from tccas.pipeline.cluster import use_worker_environment
    from tccas.site import calibration_period, load_configured_site
    from tccas.site.calibrate import calibrate

    use_worker_environment()
    enable_float64()
    cal, settings, site_ids = calibration_settings(config)
    years = int(config["split"]["calibration_years"])
    sites = []
    for site_id in site_ids:
        sd = load_configured_site(config, site_id)
        sites.append(sd.between(*calibration_period(sd, years)))
    result, _ = calibrate(sites, settings, cal, spinup_years=int(config["spinup"]["years"]), log=log.info)
    log.info(
        "calibration: cost %.1f -> %.1f, %d iterations (%s), reduced chi2 %.2f, %.0f s",
        result.cost_prior,
        result.cost_post,
        result.n_iter,
        result.status,
        result.chi2_reduced,
        result.seconds,
    )
    provenance = {
        **result.provenance(),
        "started_from_prior_set": prior_sets.active_prior_set(),
        "streams": list(settings.streams),
        "spinup": dict(config["spinup"]),
        "site_config": {k: config[k] for k in ("run_id", "data_root", "co2")},
    }
    write_control_table(table_out, result)
    return write_prior_file(out, result.shared_table(), provenance)


def stage_validation_table(config: dict, skill_paths, csv_out, md_out) -> Path:
    """One validation table of the sites' skill tables ``skill_paths`` (written by ``tccas site validate``):
    daily GPP, ET and NEE per site, period and run (:func:`tccas.io.site_report.write_validation_table`),
    with DifferLand v1.0's test-period skill beside it where the config names its table."""
    from tccas.io.site_report import write_validation_table

    skill = pd.concat([pd.read_csv(p) for p in skill_paths], ignore_index=True)
    ref = config["validation"]["differland_skill"]
    differland = None
    if ref:
        path = Path(ref) if Path(ref).is_absolute() else Path(config["data_root"]) / ref
        differland = pd.read_csv(path)
    return write_validation_table(skill, csv_out, md_out, differland)[0]
