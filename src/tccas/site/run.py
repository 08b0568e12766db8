"""Site runs of the D&B model: the prior, a variational assimilation of tower fluxes, the posterior.

A flux tower is ONE pixel of the regional machinery: :func:`site_problem` builds the same
:class:`tccas.da.PixelProblem` the tile jobs build (forcing, spin-up forcing, PFT tiles, one
:class:`tccas.da.ObsStream` per registered stream, the tower streams filled from the site's daily data and
the EO streams all-masked), so the site mode calibrates and validates exactly the model and the cost that
produce the maps.

- **Spin-up** (model_spec §2.2; CalLMIP Phase 1 protocol §3, "spin-up to equilibrium"): the first
  ``spinup_years`` of the window are cycled ``ModelOptions.spinup_cycles`` times before the window, inside
  the differentiated function, optionally with the analytic steady state of the slow pools after the first
  cycle (``ModelOptions.steady_state_spinup``). Because the spin-up recycles the *first* years of the
  window, a run over the calibration years and a run over the whole period start from the same state: the
  posterior run over the whole period is the continuation of the assimilated trajectory.
- **Assimilation** (obs_da_spec §6): the bounded L-BFGS-B of :func:`tccas.da.assimilate_pixel` on the
  calibration years only; the validation years never enter the cost.
- **Posterior uncertainty of the daily series**: ``σ_y(t)² = diag(J C_x Jᵀ)`` with ``J = ∂y(t)/∂x`` at the
  posterior (linear propagation, Tarantola 2005 §3.2.2 / obs_da_spec §6.7). With the Cholesky factor
  ``C_x = L Lᵀ``, ``σ_y² = Σ_k (J L_k)²``: one tangent-linear run of the whole period per column ``L_k``
  (no Jacobian is ever stored).

Outputs are :class:`xarray.Dataset` objects with a daily ``time`` axis, pixel (cover-weighted) values and
``units`` on every variable (:data:`RUN_VARIABLES`).
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import xarray as xr

from tccas import model
from tccas.da import (
    AssimilationSettings,
    PixelProblem,
    assimilate_pixel,
    controls,
    cost,
    daily_stream,
)
from tccas.da.pixel import layout_for, map_in_chunks
from tccas.obs import STREAMS, common, stream_module
from tccas.site import metrics
from tccas.site.data import SiteData

#: Daily run variables: name → (units, long name). Carbon fluxes are rates per day, NEE positive = source.
RUN_VARIABLES: dict[str, tuple[str, str]] = {
    "gpp": ("gC m-2 d-1", "gross primary production"),
    "ra": ("gC m-2 d-1", "autotrophic respiration"),
    "rh": ("gC m-2 d-1", "heterotrophic respiration"),
    "reco": ("gC m-2 d-1", "ecosystem respiration Ra + Rh"),
    "nee": ("gC m-2 d-1", "net ecosystem exchange Ra + Rh - GPP (positive = source)"),
    "et": ("mm d-1", "evapotranspiration (transpiration + soil + interception evaporation + sublimation)"),
    "transpiration": ("mm d-1", "transpiration"),
    "evap_soil": ("mm d-1", "soil evaporation"),
    "evap_interception": ("mm d-1", "evaporation of intercepted water"),
    "sublimation": ("mm d-1", "snow sublimation"),
    "le": ("W m-2", "latent heat flux, daily mean"),
    "h": ("W m-2", "sensible heat flux, daily mean (available energy - LE)"),
    "available_energy": ("W m-2", "net radiation minus soil heat flux, daily mean"),
    "lai": ("m2 m-2", "leaf area index"),
    "c_lab": ("gC m-2", "labile carbon"),
    "c_fol": ("gC m-2", "foliage carbon"),
    "c_roo": ("gC m-2", "fine-root carbon"),
    "c_woo": ("gC m-2", "wood carbon"),
    "c_lit": ("gC m-2", "litter carbon"),
    "c_som": ("gC m-2", "soil organic carbon"),
    "w_root": ("mm", "root-zone plant-available water"),
    "w_surface": ("mm", "surface-layer (5 cm) water"),
    "f_soil": ("1", "plant-available water fraction"),
    "t_soil": ("degC", "soil-temperature proxy (running mean air temperature)"),
}
_DAILY_SOURCE = {"w_root": "w_r", "w_surface": "w_s"}
_NORMALISED = ("le", "h", "available_energy")
#: Variables whose posterior σ is propagated by :func:`posterior_run`.
SIGMA_VARIABLES: tuple[str, ...] = ("gpp", "reco", "nee", "et", "le", "h", "lai", "c_woo", "c_som")


def _spinup_forcing(forcing: model.Forcing, years: int) -> model.Forcing:
    """The first ``years`` × 365 days of the record (``tccas.model.first_years``); ``years = 0``: its first
    day, as the regional tile problems do (the model initialises its state from a spin-up day)."""
    if int(years) == 0:
        return model.Forcing(*(np.asarray(a)[:1] for a in forcing))
    return model.first_years(forcing, years)


def site_problem(sd: SiteData, settings: AssimilationSettings, spinup_years: int = 1) -> PixelProblem:
    """The :class:`~tccas.da.PixelProblem` of the site over its whole record (window = ``sd.dates``).

    The problem carries the streams enabled in ``settings`` only (a stream it does not carry costs nothing:
    ``tccas.da.cost.problem_streams``): prepared streams (``sd.streams``, the EO streams of a regional pixel)
    as they are, daily tower series from ``sd.obs[stream]`` with σ ``sd.obs[stream + '_unc']`` (a missing σ
    taken as 0 so that the stream's model-error term alone remains; values outside the stream's
    ``VALID_RANGE`` and gaps masked: :func:`tccas.da.daily_stream`; a stream module's
    ``INDEPENDENT_EVERY_DAYS`` keeps one day in that many, counted from the first day of ``sd``); an enabled
    stream the site does not observe is all-masked.
    """
    n_days = sd.dates.size
    obs = {}
    for s in (s for s in STREAMS if s in settings.streams):
        if s in sd.streams:
            obs[s] = sd.streams[s]
            continue
        value = sd.obs[s].values if s in sd.obs else np.full(n_days, np.nan)
        unc = sd.obs[f"{s}_unc"].values if f"{s}_unc" in sd.obs else np.zeros(n_days)
        every = int(getattr(stream_module(s), "INDEPENDENT_EVERY_DAYS", 1))
        if every > 1:  # one day in `every` of a series interpolated from coarser composites
            value = np.where(np.arange(n_days) % every == 0, value, np.nan)
        obs[s] = daily_stream(
            np.arange(n_days),
            value,
            np.where(np.isfinite(unc), unc, 0.0),
            valid_range=stream_module(s).VALID_RANGE,
        )
    forcing = model.Forcing(*(np.asarray(a, dtype=np.float64) for a in sd.forcing))
    return PixelProblem(
        forcing=forcing,
        spinup_forcing=_spinup_forcing(forcing, spinup_years),
        site=model.Site(*(np.float64(v) for v in sd.site)),
        pfts=np.asarray(sd.pfts, dtype=np.int32),
        fractions=np.asarray(sd.fractions, dtype=np.float64),
        obs=obs,
        valid=np.float64(1.0),
    )


def _pixel_daily(out, problem) -> dict[str, jax.Array]:
    """Daily pixel values of :data:`RUN_VARIABLES` from a model output: cover-weighted sums of the tiles
    (``tccas.model.aggregate``), the energy fluxes normalised by the covered fraction as their tower
    operators do (``tccas.obs.common.aggregate_normalised``: the uncovered remainder exchanges energy too)."""
    d, fr = out.daily, problem.fractions
    agg = {
        name: model.aggregate(d[_DAILY_SOURCE.get(name, name)], fr)
        for name in RUN_VARIABLES
        if name not in _NORMALISED and name != "reco"
    }
    agg.update({name: common.aggregate_normalised(d[name], fr) for name in _NORMALISED})
    agg["reco"] = agg["ra"] + agg["rh"]
    return agg


@functools.partial(jax.jit, static_argnames=("settings",))
def _run_daily(x, problem: PixelProblem, settings: AssimilationSettings):
    layout = layout_for(problem.pfts.shape[0], settings)
    out, _ = cost.run_model(x, problem, layout, settings)
    return _pixel_daily(out, problem)


@functools.partial(jax.jit, static_argnames=("settings", "chunk"))
def _daily_sigma(x, chol, problem: PixelProblem, settings: AssimilationSettings, chunk: int):
    """σ of :data:`SIGMA_VARIABLES` per day, ``sqrt(Σ_k (J L_k)²)`` over the columns L_k of ``chol``."""

    def f(xx):
        d = _run_daily(xx, problem, settings)
        return jnp.stack([d[v] for v in SIGMA_VARIABLES])

    def tangent(col):
        return jax.jvp(f, (x,), (col,))[1] ** 2

    return jnp.sqrt(jnp.sum(map_in_chunks(tangent, chol.T, chunk), axis=0))


def _dataset(daily: dict, sd: SiteData, run: str, sigma: dict | None = None) -> xr.Dataset:
    data = {}
    for name, (units, long_name) in RUN_VARIABLES.items():
        data[name] = ("time", np.asarray(daily[name]), {"units": units, "long_name": long_name})
    for name, values in (sigma or {}).items():
        units, long_name = RUN_VARIABLES[name]
        data[f"{name}_sigma"] = (
            "time",
            np.asarray(values),
            {"units": units, "long_name": f"1-sigma of {long_name}"},
        )
    return xr.Dataset(data, coords={"time": sd.dates}, attrs={**sd.attrs, "run": run})


@dataclasses.dataclass(frozen=True)
class Fit:
    """Result of :func:`assimilate`: the control vector before and after, its covariance and diagnostics."""

    names: tuple[str, ...]
    x_prior: np.ndarray
    x_post: np.ndarray
    sd_prior: np.ndarray
    sd_post: np.ndarray
    cov_post: np.ndarray
    status: int
    n_iter: int
    n_eval: int
    cost_prior: float
    cost_post: float
    n_obs: dict[str, int]
    calibration: tuple[str, str]

    @property
    def controls(self) -> pd.DataFrame:
        """The controls as a labelled table: name, prior, posterior, σ prior, σ posterior, uncertainty
        reduction 1 − σ_post/σ_prior."""
        return pd.DataFrame(
            {
                "name": list(self.names),
                "prior": self.x_prior,
                "posterior": self.x_post,
                "sigma_prior": self.sd_prior,
                "sigma_posterior": self.sd_post,
                "uncertainty_reduction": 1.0 - self.sd_post / self.sd_prior,
            }
        )


def prior_x(sd: SiteData, settings: AssimilationSettings) -> np.ndarray:
    """The prior control vector x0 of the site's PFT tiles (obs_da_spec §6.2)."""
    layout = layout_for(len(sd.pfts), settings)
    return np.asarray(controls.prior(layout, np.asarray(sd.pfts, dtype=np.int32)).x0)


def run(sd: SiteData, settings: AssimilationSettings, *, x=None, spinup_years: int = 1, name: str = "prior"):
    """Run the model over the site's whole record at control vector ``x`` (physical units; default the prior
    :func:`prior_x`) and return the daily :class:`xarray.Dataset` of :data:`RUN_VARIABLES`."""
    model.core.require_float64()
    problem = site_problem(sd, settings, spinup_years)
    x = prior_x(sd, settings) if x is None else np.asarray(x, dtype=np.float64)
    return _dataset(_run_daily(x, problem, settings), sd, name)


def posterior_run(
    sd: SiteData, settings: AssimilationSettings, fit: Fit, *, spinup_years: int = 1, chunk: int = 8
) -> xr.Dataset:
    """The posterior run over the whole record with the 1-σ of :data:`SIGMA_VARIABLES` (module docstring)."""
    model.core.require_float64()
    problem = site_problem(sd, settings, spinup_years)
    x = np.asarray(fit.x_post)
    cov = 0.5 * (fit.cov_post + fit.cov_post.T)
    w, v = np.linalg.eigh(cov)
    chol = v * np.sqrt(np.clip(w, 0.0, None))[None, :]  # C = (V √Λ)(V √Λ)ᵀ, robust to round-off
    sig = np.asarray(_daily_sigma(x, chol, problem, settings, chunk))
    return _dataset(
        _run_daily(x, problem, settings), sd, "posterior", dict(zip(SIGMA_VARIABLES, sig, strict=True))
    )


_assimilate = jax.jit(assimilate_pixel, static_argnames=("settings",))


def assimilate(
    sd: SiteData,
    settings: AssimilationSettings,
    *,
    calibration: tuple[str, str],
    spinup_years: int = 1,
) -> Fit:
    """Assimilate the site's enabled tower streams over the ``calibration`` dates (inclusive ISO dates);
    the rest of the record is withheld. Returns a :class:`Fit`."""
    model.core.require_float64()
    cal = sd.between(*calibration)
    problem = site_problem(cal, settings, spinup_years)
    if sum(float(np.sum(problem.obs[s].mask)) for s in settings.streams) == 0:
        raise ValueError(
            f"site {sd.site_id}: no observation of the streams {list(settings.streams)} between "
            f"{calibration[0]} and {calibration[1]}"
        )
    res = {k: np.asarray(v) for k, v in _assimilate(problem, settings).items()}
    names = tuple(controls.control_names(layout_for(len(sd.pfts), settings), sd.pfts))
    return Fit(
        names=names,
        x_prior=res["x_prior"],
        x_post=res["x_post"],
        sd_prior=res["x_sd_prior"],
        sd_post=res["x_sd_post"],
        cov_post=res["x_cov_post"],
        status=int(res["status"]),
        n_iter=int(res["n_iter"]),
        n_eval=int(res["n_eval"]),
        cost_prior=float(res["cost_prior"]),
        cost_post=float(res["cost_post"]),
        n_obs={s: int(res[f"n_obs_{s}"]) for s in STREAMS if f"n_obs_{s}" in res},
        calibration=(str(calibration[0]), str(calibration[1])),
    )


def skill_of_runs(
    sd: SiteData, runs: dict[str, xr.Dataset], periods: dict[str, tuple[str, str]]
) -> pd.DataFrame:
    """Skill (:func:`tccas.site.metrics.skill_table`) of each named run against the site's observations over
    each period, one long table."""
    tables = [
        metrics.skill_table(ds, sd.obs, site=sd.site_id, run_name=name, periods=periods)
        for name, ds in runs.items()
    ]
    return pd.concat(tables, ignore_index=True)


@functools.partial(jax.jit, static_argnames=("options",))
def _spin_cycle(state, forcing, tp, gp, pft, site, options):
    return model.spinup(state, forcing, tp, gp, pft, site, options)


def spinup_trajectory(
    sd: SiteData, settings: AssimilationSettings, *, x=None, spinup_years: int = 1, cycles: int = 3
) -> xr.Dataset:
    """Pools and LAI of every tile at the end of each pass of the repeated-climate spin-up at ``x`` (default
    the prior), and each pool's relative change over the last pass (``drift_<pool>``, per year): the
    equilibrium diagnostic of the spin-up (model_spec §2.2; Bloom & Williams 2015's steady-state EDC asks
    for |ΔC/C| per year well below 1 %). With ``steady_state_spinup`` the first pass ends with the analytic
    steady state of the slow pools, as in the runs."""
    model.core.require_float64()
    problem = site_problem(sd, settings, spinup_years)
    x = prior_x(sd, settings) if x is None else np.asarray(x, dtype=np.float64)
    up = controls.unpack(jnp.asarray(x), layout_for(len(sd.pfts), settings), problem.pfts)
    opts = settings.model_options
    first = dataclasses.replace(opts, spinup_cycles=1)
    later = dataclasses.replace(opts, spinup_cycles=1, steady_state_spinup=False)
    pools = np.zeros((cycles, len(sd.pfts), len(model.Pools._fields)))
    lai = np.zeros((cycles, len(sd.pfts)))
    for t in range(len(sd.pfts)):
        tp = jax.tree_util.tree_map(lambda a, t=t: a[t], up.tile_params)
        p0 = jax.tree_util.tree_map(lambda a, t=t: a[t], up.pools0)
        state = model.initial_state(p0, tp, problem.site, problem.spinup_forcing, up.global_params)
        for k in range(cycles):
            state = _spin_cycle(
                state, problem.spinup_forcing, tp, up.global_params, problem.pfts[t], problem.site,
                first if k == 0 else later,
            )  # fmt: skip
            pools[k, t] = np.asarray(state.pools)
            lai[k, t] = float(state.pools.fol / tp.lma)
    data = {
        f"c_{p}": (
            ("cycle", "tile"),
            pools[:, :, i],
            {"units": "gC m-2", "long_name": f"{p} carbon at end of pass"},
        )
        for i, p in enumerate(model.Pools._fields)
    }
    data["lai"] = (("cycle", "tile"), lai, {"units": "m2 m-2", "long_name": "LAI at the end of each pass"})
    if cycles > 1:
        prev = np.where(np.abs(pools[-2]) > 0, pools[-2], np.nan)
        drift = (pools[-1] - pools[-2]) / prev / float(spinup_years)
        for i, p in enumerate(model.Pools._fields):
            data[f"drift_{p}"] = (
                "tile",
                drift[:, i],
                {"units": "yr-1", "long_name": f"relative {p} change per year, last pass"},
            )
    return xr.Dataset(
        data,
        coords={"cycle": np.arange(1, cycles + 1), "tile": list(sd.pft_names)},
        attrs={**sd.attrs, "run": "spinup", "spinup_years": spinup_years},
    )
