"""Sub-daily (HH/HR) → daily (DD) aggregation of a canonical flux-tower dataset.

Days are LOCAL standard-time days: record ``k`` (start ``t_k`` in UTC) belongs to the day of
``t_k + utc_offset_h`` and to slot ``s = (t_k + utc_offset_h − day) / step`` of that day (48 slots for HH,
24 for HR). With ``n`` = number of records of the day where the variable is finite and ``N`` = slots per
day, the rules are (exact: a complete day gives the plain sum / mean of its records):

- rates (``sw_down``, ``lw_down``, ``vpd``, ``pressure``, ``wind``, ``par``, ``swc``, ``co2_local``,
  ``rnet``, carbon fluxes [gC m-2 d-1], ``le``, ``h``, ``et`` [mm d-1], ...): mean of the ``n`` values;
- ``t_air`` → ``t_mean``, ``t_min``, ``t_max``: mean, minimum and maximum of the ``n`` values;
- ``precip`` [mm h-1] → [mm d-1]: 24 h × the mean rate, i.e. the daily sum Σ P_k·Δt on a complete day
  (an incomplete day is scaled by N / n);
- ``<var>_unc``: sqrt(Σσ_k²) / n, the 1-sigma of the daily mean of ``n`` independent errors (the CalLMIP
  Phase 1 rule for daily-mean fluxes);
- ``<var>_qc`` (FLUXNET flag 0..3) → fraction of the ``N`` slots whose flag is 0 (measured); a missing
  record counts as not measured. FLUXNET2015 DD files count flags 0 and 1 instead (Pastorello et al.
  2020, Sci. Data 7, 225), so the two are not interchangeable;
- a day with ``n / N < min_fraction`` is NaN (all rules except ``_qc``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from tccas.io.flux._common import build_dataset

SLOTS_PER_DAY = {"HH": 48, "HR": 24}


def _grid(values: np.ndarray, rows: np.ndarray, slots: np.ndarray, n_days: int, n_slots: int) -> np.ndarray:
    out = np.full((n_days, n_slots), np.nan)
    out[rows, slots] = values
    return out


def aggregate_daily(ds: xr.Dataset, *, min_fraction: float = 0.9) -> xr.Dataset:
    """Daily (DD) dataset from a sub-daily canonical one (module docstring for the exact rules).

    ``min_fraction`` (0..1, default 0.9 = at most 4 of 48 half-hours missing): the fraction of a day's
    records that must be present for its value; days between the first and the last record that have no
    record at all are included as NaN. Raises ``ValueError`` for a dataset that is not sub-daily or lacks
    its UTC offset.
    """
    res = ds.attrs.get("resolution")
    if res not in SLOTS_PER_DAY:
        raise ValueError(f"aggregate_daily needs an HH or HR dataset, got resolution {res!r}")
    if not 0.0 <= min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be within 0..1, got {min_fraction}")
    offset = ds.attrs.get("utc_offset_h")
    if offset is None or not np.isfinite(offset):
        raise ValueError("aggregate_daily needs the dataset's utc_offset_h attribute (local days)")
    n_slots = SLOTS_PER_DAY[res]
    step = np.timedelta64(1440 // n_slots, "m")
    local = ds["time"].values.astype("datetime64[m]") + np.timedelta64(round(offset * 60), "m")
    day = local.astype("datetime64[D]")
    within = local - day.astype("datetime64[m]")
    if np.any(within % step):
        raise ValueError(f"record starts are not on the {res} grid")
    slots = (within // step).astype(np.int64)
    days = np.arange(day.min(), day.max() + np.timedelta64(1, "D"), dtype="datetime64[D]")
    rows = (day - days[0]).astype(np.int64)
    if np.unique(rows * n_slots + slots).size != rows.size:
        raise ValueError("two records fall into the same slot of a day")

    data: dict[str, np.ndarray] = {}
    for name, var in ds.data_vars.items():
        g = _grid(var.values.astype(np.float64), rows, slots, days.size, n_slots)
        if name.endswith("_qc"):
            base = name[:-3]
            data[("t_mean" if base == "t_air" else base) + "_qc"] = np.sum(g == 0.0, axis=1) / n_slots
            continue
        ok = np.isfinite(g)
        n = ok.sum(axis=1)
        enough = n / n_slots >= min_fraction
        with np.errstate(invalid="ignore", divide="ignore"):
            if name.endswith("_unc"):
                value = np.sqrt(np.sum(np.where(ok, g * g, 0.0), axis=1)) / n
            else:
                value = np.sum(np.where(ok, g, 0.0), axis=1) / n
        if name == "t_air":
            data["t_mean"] = np.where(enough, value, np.nan)
            data["t_min"] = np.where(enough, np.min(np.where(ok, g, np.inf), axis=1), np.nan)
            data["t_max"] = np.where(enough, np.max(np.where(ok, g, -np.inf), axis=1), np.nan)
            continue
        if name == "precip":
            value = value * 24.0
        data[name] = np.where(enough, value, np.nan)

    attrs = dict(ds.attrs)
    attrs.update(
        resolution="DD",
        reader=f"tccas.io.flux.aggregate_daily({ds.attrs.get('reader', '')})",
        min_fraction=float(min_fraction),
    )
    notes = {k: v.attrs["comment"] for k, v in ds.data_vars.items() if "comment" in v.attrs and k in data}
    return build_dataset(days, data, daily=True, attrs=attrs, notes=notes)
