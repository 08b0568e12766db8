"""Skill scores of a site run against tower observations (pure NumPy/pandas/xarray; writes nothing).

Scores over the days (months, years) on which both the model and the observation are finite:

- Nash–Sutcliffe efficiency (Nash & Sutcliffe 1970, J. Hydrol. 10, 282–290)
  ``NSE = 1 − Σ(m − o)² / Σ(o − ō)²`` [-]: 1 is perfect, 0 is no better than the observed mean;
- Pearson correlation ``r`` [-];
- root-mean-square error ``RMSE = √(mean (m − o)²)`` and ``bias = mean(m − o)`` (model − obs), in the
  variable's units;
- ``n``, the number of paired values.

Coarser scales (:func:`resample`): calendar-month means and calendar-year values of the daily series. A month
(year) counts only where at least :data:`MIN_COVERAGE` of its calendar days are valid: a monthly mean from
fewer than half of the days, or an annual value with more than a fifth of the year missing, is dominated by
which days happen to be observed (a missing summer biases an annual GPP by half). A variable whose units are
a rate per day (``… d-1``) becomes an annual *total* ``mean(valid days) × days in the year`` (gC m-2 yr-1,
mm yr-1); any other variable (W m-2, m2 m-2, stocks) an annual mean.

:func:`skill_table` scores a run per variable, period and scale. At the monthly and annual scales the model
is *sampled like the tower*: it enters a month or year only on the days with an observation, so gaps in the
tower record do not show up as model error (the usual paired-sampling practice of site benchmarks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

SCALES: tuple[str, ...] = ("daily", "monthly", "annual")
#: Minimum fraction of the calendar days of a month / year with a valid value (module docstring).
MIN_COVERAGE: dict[str, float] = {"monthly": 0.5, "annual": 0.8}
#: Columns of :func:`skill_table`, in order.
COLUMNS: tuple[str, ...] = (
    "site",
    "variable",
    "period",
    "run",
    "scale",
    "nse",
    "r",
    "rmse",
    "bias",
    "annual_model",
    "annual_obs",
    "n",
)
#: Tower-observable variables scored by default (those present in both the run and the observations).
SKILL_VARIABLES: tuple[str, ...] = ("gpp", "reco", "nee", "et", "le", "h")
_FREQ = {"monthly": "MS", "annual": "YS"}


def skill(model, obs) -> dict[str, float]:
    """NSE, r, RMSE, bias (model − obs) and n of two equally shaped series over their jointly finite
    elements (module docstring; Nash & Sutcliffe 1970). Undefined scores are NaN: everything for n = 0;
    NSE for an observation without variance; r for a series without variance."""
    m = np.asarray(model, dtype=np.float64)
    o = np.asarray(obs, dtype=np.float64)
    if m.shape != o.shape:
        raise ValueError(f"skill: model shape {m.shape} differs from observation shape {o.shape}")
    ok = np.isfinite(m) & np.isfinite(o)
    m, o = m[ok], o[ok]
    n = int(m.size)
    nan = float("nan")
    if n == 0:
        return {"nse": nan, "r": nan, "rmse": nan, "bias": nan, "n": 0}
    err = m - o
    sse = float(np.sum(err**2))
    sst = float(np.sum((o - o.mean()) ** 2))
    dm, do = m - m.mean(), o - o.mean()
    den = float(np.sqrt(np.sum(dm**2) * np.sum(do**2)))
    return {
        "nse": 1.0 - sse / sst if sst > 0.0 else nan,
        "r": float(np.sum(dm * do)) / den if den > 0.0 else nan,
        "rmse": float(np.sqrt(sse / n)),
        "bias": float(np.mean(err)),
        "n": n,
    }


def _check_daily(obj, what: str) -> pd.DatetimeIndex:
    if "time" not in obj.dims:
        raise ValueError(f"{what}: needs a daily 'time' dimension, has dims {tuple(obj.dims)}")
    time = pd.DatetimeIndex(obj["time"].values)
    if time.size and (not time.is_monotonic_increasing or not time.is_unique):
        raise ValueError(f"{what}: the time axis must be strictly increasing")
    if time.size and not (time == time.normalize()).all():
        raise ValueError(f"{what}: the time axis must hold whole days (00:00), got e.g. {time[0]}")
    return time


def _per_year(units: str) -> str | None:
    """``"gC m-2 d-1"`` → ``"gC m-2 yr-1"``; None where the units are not a rate per day."""
    tokens = units.split()
    if not tokens or tokens[-1] not in ("d-1", "day-1"):
        return None
    return " ".join([*tokens[:-1], "yr-1"])


def _resample_array(da: xr.DataArray, scale: str, min_coverage: float) -> xr.DataArray:
    freq = _FREQ[scale]
    mean = da.resample(time=freq).mean()
    count = da.notnull().resample(time=freq).sum()
    starts = pd.DatetimeIndex(mean["time"].values)
    if scale == "monthly":
        days = starts.days_in_month.to_numpy(np.float64)
    else:
        days = np.where(starts.is_leap_year, 366.0, 365.0)
    days_da = xr.DataArray(days, dims="time", coords={"time": mean["time"]})
    out = mean.where(count >= min_coverage * days_da)
    attrs = dict(da.attrs)
    per_year = _per_year(str(attrs.get("units", "")))
    if scale == "annual" and per_year is not None:
        out = out * days_da
        attrs["units"] = per_year
        attrs["cell_methods"] = "time: sum (valid-day mean times days in the year)"
    else:
        attrs["cell_methods"] = "time: mean"
    attrs["min_coverage"] = min_coverage
    out.attrs = attrs
    return out


def resample(ds: xr.Dataset | xr.DataArray, scale: str, *, min_coverage: float | None = None):
    """Daily → ``"monthly"`` means or ``"annual"`` values (totals for per-day rates, else means) of every
    variable with a ``time`` dimension (module docstring); ``"daily"`` returns ``ds`` unchanged.

    A month or year with fewer than ``min_coverage`` (default :data:`MIN_COVERAGE` of the scale) of its
    calendar days valid is NaN; partial months or years at the ends of the record count against their full
    calendar length. The new ``time`` is the first day of each month/year. Uncertainty variables are treated
    like any other: the mean of daily σ is not the σ of the mean.
    """
    if scale not in SCALES:
        raise ValueError(f"resample: scale {scale!r} is not one of {SCALES}")
    _check_daily(ds, "resample")
    if scale == "daily":
        return ds
    cov = MIN_COVERAGE[scale] if min_coverage is None else float(min_coverage)
    if not 0.0 < cov <= 1.0:
        raise ValueError(f"resample: min_coverage must lie in (0, 1], got {cov}")
    if isinstance(ds, xr.DataArray):
        return _resample_array(ds, scale, cov)
    out = {k: _resample_array(v, scale, cov) for k, v in ds.data_vars.items() if "time" in v.dims}
    return xr.Dataset(out, attrs=dict(ds.attrs))


def _paired(model: xr.DataArray, obs: xr.DataArray, units: str) -> xr.Dataset:
    both = model.notnull() & obs.notnull()
    return xr.Dataset(
        {
            "model": model.where(both).assign_attrs(units=units),
            "obs": obs.where(both).assign_attrs(units=units),
        }
    )


def skill_table(
    run: xr.Dataset,
    obs: xr.Dataset,
    *,
    site: str | None = None,
    run_name: str | None = None,
    periods: Mapping[str, tuple] | None = None,
    variables: Sequence[str] | None = None,
    scales: Sequence[str] = SCALES,
    min_coverage: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Skill of ``run`` against the tower ``obs`` per variable × period × scale (columns :data:`COLUMNS`).

    ``obs`` is put on the run's days (tower days outside the run are ignored); ``periods`` maps a name
    (``"calibration"``, ``"validation"``) to inclusive (start, end) dates, default the whole run as
    ``"all"``; ``variables`` default the :data:`SKILL_VARIABLES` present in both datasets, and an explicitly
    named variable missing from either is an error. ``site`` and ``run_name`` default to the run's ``site``
    and ``run`` attributes; ``min_coverage`` overrides :data:`MIN_COVERAGE` per scale.

    Scores at the monthly and annual scales are between paired resampled series (module docstring); ``n``
    counts the paired days, months or years. ``annual_model`` and ``annual_obs`` are, for every row of the
    variable and period, the means over the period's complete years (:data:`MIN_COVERAGE`) of the paired
    annual values: totals in gC m-2 yr-1 / mm yr-1 for per-day rates, means in the variable's units
    otherwise.
    """
    for s in scales:
        if s not in SCALES:
            raise ValueError(f"skill_table: scale {s!r} is not one of {SCALES}")
    run_time = _check_daily(run, "skill_table run")
    _check_daily(obs, "skill_table observations")
    site = str(run.attrs.get("site", "")) if site is None else site
    run_name = str(run.attrs.get("run", "")) if run_name is None else run_name
    if variables is None:
        variables = [v for v in SKILL_VARIABLES if v in run and v in obs]
    else:
        for v in variables:
            for name, ds in (("run", run), ("observations", obs)):
                if v not in ds:
                    raise KeyError(f"skill_table: variable {v!r} is not in the {name}")
    if periods is None:
        periods = {"all": (run_time[0], run_time[-1])} if run_time.size else {}
    cov = {**MIN_COVERAGE, **(min_coverage or {})}
    obs_on_run = obs.reindex(time=run["time"])
    rows = []
    for v in variables:
        units = str(run[v].attrs.get("units", ""))
        paired = _paired(run[v].astype(np.float64), obs_on_run[v].astype(np.float64), units)
        for period, (start, end) in periods.items():
            sub = paired.sel(time=slice(pd.Timestamp(start), pd.Timestamp(end)))
            annual = resample(sub, "annual", min_coverage=cov["annual"])
            years = annual["model"].notnull() & annual["obs"].notnull()
            n_years = int(years.sum())
            annual_model = float(annual["model"].where(years).mean()) if n_years else float("nan")
            annual_obs = float(annual["obs"].where(years).mean()) if n_years else float("nan")
            for scale in scales:
                res = sub if scale == "daily" else resample(sub, scale, min_coverage=cov[scale])
                sk = skill(res["model"].values, res["obs"].values)
                rows.append(
                    {
                        "site": site,
                        "variable": v,
                        "period": period,
                        "run": run_name,
                        "scale": scale,
                        **{k: sk[k] for k in ("nse", "r", "rmse", "bias")},
                        "annual_model": annual_model,
                        "annual_obs": annual_obs,
                        "n": sk["n"],
                    }
                )
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    return table.astype({"n": np.int64})
