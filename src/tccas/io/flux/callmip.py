"""CalLMIP Phase 1b daily flux observations and the TRENDY annual CO2 series.

:func:`read_callmip_flux` reads the PLUMBER2-derived daily flux files
``<SITE>_daily_aggregated_<start>-<end>_FLUXNET2015_Flux.nc`` (card ``callmip_flux``; Ukkola et al. 2022,
Earth Syst. Sci. Data 14, 449 for PLUMBER2, CalLMIP Phase 1 protocol for the aggregation):

- ``NEE_daily`` [gC m-2 d-1] → ``nee`` (FLUXNET ``NEE_VUT_REF``, sum of the half-hours ×1e-6·12·1800,
  positive = source), ``NEE_uc_daily`` → ``nee_unc`` (root sum of squares of the half-hourly joint
  uncertainty);
- ``Qle_daily``, ``Qh_daily`` [W m-2] → ``le``, ``h`` (daily means of ``LE_F_MDS``/``H_F_MDS``),
  ``Qle_uc_daily``, ``Qh_uc_daily`` → ``le_unc``, ``h_unc`` (joint uncertainty of the energy-balance
  corrected ``LE_CORR``/``H_CORR``, root sum of squares divided by the number of half-hours);
- days with more than 25 % gap-filled half-hours are missing (NaN) in the file; there is no QC variable.

The files hold no temperature, so no ``et`` is derived. ``time`` (seconds since the first year) becomes
the day; the site id is the ``site_code`` attribute or else the file name; latitude/longitude come from
the file, elevation and UTC offset from the site table.

:func:`read_co2_series` reads the TRENDY annual global-mean CO2 text file (card ``trendy_co2``) and
:func:`co2_daily` interpolates it linearly in time between mid-year values.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from tccas.io._util import to_datetime
from tccas.io.cards import decode, load_card, open_netcdf, validate
from tccas.io.errors import CorruptFileError, CoverageError, MissingFieldError, SchemaMismatchError
from tccas.io.flux._common import build_dataset, read_text
from tccas.io.flux.sites import site_attrs

_FLUXES = ("nee", "nee_unc", "le", "le_unc", "h", "h_unc")
_NOTES = {
    "nee": "FLUXNET NEE_VUT_REF, sum of measured half-hours; days with > 25 % gap-filling are missing",
    "le": "FLUXNET LE_F_MDS, daily mean",
    "le_unc": "joint uncertainty of LE_CORR (FLUXNET LE_CORR_JOINTUNC), root sum of squares / n",
    "h": "FLUXNET H_F_MDS, daily mean",
    "h_unc": "joint uncertainty of H_CORR (FLUXNET H_CORR_JOINTUNC), root sum of squares / n",
}


def read_callmip_flux(path):
    """Read a CalLMIP Phase 1b daily flux NetCDF into a canonical daily dataset (module docstring)."""
    path = Path(path)
    card = load_card("callmip_flux")
    nc = open_netcdf(path, card)
    try:
        handles = validate(nc, card, path)
        tvar = handles["time"]
        if "units" not in tvar.ncattrs():
            raise MissingFieldError(path, "time@units", "time variable has no units")
        time = to_datetime(decode(tvar, card.var("time"), path), tvar.units, path, "time")
        data = {k: decode(handles[k], card.var(k), path) for k in _FLUXES}
        coords = {
            k: float(decode(handles[k], card.var(k), path)[0]) if k in handles else None
            for k in ("latitude", "longitude")
        }
        site_code = str(nc.getncattr("site_code")) if "site_code" in nc.ncattrs() else None
    finally:
        nc.close()
    if np.any(np.isnat(time)):
        raise SchemaMismatchError(path, "time", "missing time values (truncated file?)")
    days = time.astype("datetime64[D]")
    if np.any(time != days.astype(time.dtype)):
        raise SchemaMismatchError(path, "time", "time stamps are not at 00:00 of each day")
    if days.size > 1 and np.any(np.diff(days) != np.timedelta64(1, "D")):
        raise SchemaMismatchError(
            path, "time", "time axis is not one value per consecutive day (truncated file?)"
        )
    site = site_code or (card.match_name(path.name) or {}).get("site")
    attrs = site_attrs(site)
    if coords["latitude"] is not None:
        attrs["lat"] = coords["latitude"]
    if coords["longitude"] is not None:
        attrs["lon"] = coords["longitude"]
    attrs.update(resolution="DD", source=str(path), reader="tccas.io.flux.read_callmip_flux")
    return build_dataset(days, data, daily=True, attrs=attrs, notes=_NOTES)


def read_co2_series(path) -> pd.Series:
    """Annual global-mean CO2 [ppm] indexed by calendar year (int), from the TRENDY text file.

    Every non-blank line must read ``Annee_<year>=<ppm>``; years must be consecutive and the values
    within the card's plausible range. ``series.attrs`` holds ``units`` and ``source``.
    """
    path = Path(path)
    table = load_card("trendy_co2").extra["table"]
    pattern = re.compile(table["line"])
    years, values = [], []
    for k, line in enumerate(read_text(path), start=1):
        if not line.strip():
            continue
        m = pattern.match(line)
        if m is None:
            raise CorruptFileError(path, "Annee", f"line {k} is not 'Annee_<year>=<ppm>': {line[:60]!r}")
        years.append(int(m["year"]))
        try:
            values.append(float(m["ppm"]))
        except ValueError:
            raise SchemaMismatchError(path, f"Annee_{m['year']}", f"non-numeric value at line {k}") from None
    years_a, ppm = np.asarray(years), np.asarray(values)
    if years_a.size > 1 and np.any(np.diff(years_a) != 1):
        k = int(np.argmax(np.diff(years_a) != 1)) + 1
        raise SchemaMismatchError(path, f"Annee_{years_a[k]}", "years are not consecutive")
    lo, hi = table["valid"]
    bad = (ppm < lo) | (ppm > hi)
    if bad.any():
        k = int(np.argmax(bad))
        raise SchemaMismatchError(path, f"Annee_{years_a[k]}", f"{ppm[k]} ppm outside {lo}..{hi}")
    series = pd.Series(ppm, index=pd.Index(years_a, name="year"), name="co2")
    series.attrs = {"units": table["units"], "source": str(path)}
    return series


def _decimal_year(time) -> np.ndarray:
    t = np.asarray(time, dtype="datetime64[s]")
    year = t.astype("datetime64[Y]")
    start = year.astype("datetime64[s]")
    length = (year + np.timedelta64(1, "Y")).astype("datetime64[s]") - start
    return year.astype(np.int64) + 1970 + (t - start) / length


def co2_daily(series: pd.Series, time) -> np.ndarray:
    """CO2 [ppm] at the instants ``time`` from an annual series (:func:`read_co2_series`).

    Each annual value is placed at the middle of its year (decimal year ``Y + 0.5``) and the series is
    interpolated linearly in decimal time (``Y + elapsed / length of year Y``); within the first and last
    half-years the end segments are extrapolated linearly. Times outside the years of the series raise
    :class:`~tccas.io.errors.CoverageError`.
    """
    years = np.asarray(series.index, dtype=np.int64)
    ppm = np.asarray(series.values, dtype=np.float64)
    x = _decimal_year(time)
    if x.size and (np.min(x) < years[0] or np.max(x) >= years[-1] + 1):
        raise CoverageError(
            series.attrs.get("source"), "year", f"times outside the CO2 series years {years[0]}..{years[-1]}"
        )
    mid = years + 0.5
    if years.size == 1:
        return np.full(x.shape, ppm[0])
    out = np.interp(x, mid, ppm)
    lo, hi = x < mid[0], x > mid[-1]
    out[lo] = ppm[0] + (x[lo] - mid[0]) * (ppm[1] - ppm[0])
    out[hi] = ppm[-1] + (x[hi] - mid[-1]) * (ppm[-1] - ppm[-2])
    return out
