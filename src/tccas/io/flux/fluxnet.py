"""FLUXNET2015 / ONEFlux FULLSET CSV reader (half-hourly HH, hourly HR, daily DD).

Format (Pastorello et al. 2020, Sci. Data 7, 225; card ``fluxnet2015``): comma-separated, one header
line, ``-9999`` = missing. Sub-daily files carry ``TIMESTAMP_START``/``TIMESTAMP_END`` (``YYYYMMDDHHMM``,
local standard time, no daylight saving), daily files ``TIMESTAMP`` (``YYYYMMDD``). The resolution comes
from the file name (``FLX_<SITE>_FLUXNET2015_FULLSET_<HH|HR|DD>_<years>_<version>.csv``, or
``<SITE>_<years>_FLUXNET2015_FULLSET_<HH|HR|DD>[_tag].csv``) or else from the time-stamp columns and the
record length (30 min → HH, 60 min → HR).

Columns read (card ``columns``) and conversions to the canonical variables of :mod:`tccas.io.flux`:

- ``TA_F`` → ``t_air`` [degC] (DD: ``t_mean``; the DD product has no daily extremes, so ``t_min``/``t_max``
  come only from :func:`tccas.io.flux.aggregate_daily` of a sub-daily file);
- ``SW_IN_F``, ``LW_IN_F``, ``NETRAD`` → ``sw_down``, ``lw_down``, ``rnet`` [W m-2];
- ``VPD_F`` [hPa] × 100 → ``vpd`` [Pa]; ``PA_F`` [kPa] × 1000 → ``pressure`` [Pa];
- ``P_F`` [mm per record] / record length [h] → ``precip`` [mm h-1] (DD: [mm d-1] as stored);
- ``WS_F`` → ``wind``; ``PPFD_IN`` → ``par``; ``SWC_F_MDS_1`` [%] / 100 → ``swc`` [m3 m-3];
  ``CO2_F_MDS`` [umol mol-1] → ``co2_local`` [ppm];
- ``NEE_VUT_MEAN``, ``GPP_NT_VUT_MEAN``, ``RECO_NT_VUT_MEAN``, ``GPP_DT_VUT_MEAN`` and
  ``NEE_VUT_USTAR50_JOINTUNC`` → ``nee``, ``gpp``, ``reco``, ``gpp_dt``, ``nee_unc``: sub-daily
  [umol CO2 m-2 s-1] × 1.0377504 → [gC m-2 d-1]; DD already in gC m-2 d-1;
- ``LE_F_MDS``, ``LE_CORR``, ``LE_RANDUNC``, ``H_F_MDS``, ``H_CORR``, ``H_RANDUNC`` → ``le``, ``le_corr``,
  ``le_unc``, ``h``, ``h_corr``, ``h_unc`` [W m-2];
- ``et`` [mm d-1] = LE_F_MDS / λ(TA_F) × 86400 with ``et_unc`` from ``LE_RANDUNC`` and ``et_qc`` =
  ``le_qc`` (λ of Allen et al. 1998, see :mod:`tccas.io.flux._common`);
- ``<COL>_QC`` → ``<name>_qc``: sub-daily the FLUXNET flag 0..3, DD the fraction of measured and
  good-quality gap-filled records.

The partitioned GPP/RECO have no random uncertainty in FLUXNET2015 (``*_SE`` is the standard error over
the USTAR-threshold ensemble, not read). Sub-daily ``time`` = record START in UTC = local standard time −
UTC offset (``utc_offset_h`` argument, else the site table); daily ``time`` = the local day. Records are
returned as stored (a missing record stays missing; :func:`~tccas.io.flux.aggregate_daily` handles gaps).
Forcing values outside the card's plausible ranges raise :class:`~tccas.io.errors.ImplausibleValueError`
(a unit mistake); a missing required forcing column, a truncated row, a non-numeric cell or an irregular
time axis raise the other :class:`~tccas.io.errors.ProductError` subclasses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tccas.io.cards import load_card
from tccas.io.errors import MissingFieldError, SchemaMismatchError
from tccas.io.flux._common import (
    DAILY_NAMES,
    build_dataset,
    check_range,
    convert,
    et_from_le,
    read_text,
    split_rows,
    to_numeric,
    var_attrs,
)
from tccas.io.flux.sites import site_attrs


def _parse_stamps(values: list[str], fmt: str, path: Path, column: str, lines: np.ndarray) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(values), format=fmt, errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        raise SchemaMismatchError(path, column, f"bad time stamp {values[k]!r} at line {int(lines[k])}")
    out = stamps.to_numpy().astype("datetime64[m]")
    if out.size > 1 and np.any(np.diff(out) <= np.timedelta64(0, "m")):
        k = int(np.argmax(np.diff(out) <= np.timedelta64(0, "m"))) + 1
        raise SchemaMismatchError(path, column, f"time stamps not increasing at line {int(lines[k])}")
    return out


def _sub_daily_time(cols, path, lines, table, res_from_name):
    """Record starts (local) and the resolution from TIMESTAMP_START/END."""
    start_col, end_col = table["time_columns"]["sub_daily"]
    start = _parse_stamps(cols[start_col], "%Y%m%d%H%M", path, start_col, lines)
    end = _parse_stamps(cols[end_col], "%Y%m%d%H%M", path, end_col, lines)
    step = np.unique((end - start).astype(np.int64))
    by_step = {int(m): r for r, m in table["step_minutes"].items()}
    if step.size != 1 or int(step[0]) not in by_step:
        raise SchemaMismatchError(
            path, end_col, f"record lengths {step.tolist()} min; expected one of {sorted(by_step)}"
        )
    res = by_step[int(step[0])]
    if res_from_name and res_from_name != res:
        raise SchemaMismatchError(path, end_col, f"file name says {res_from_name}, records are {res}")
    minutes = (start - start.astype("datetime64[D]")).astype(np.int64)
    if np.any(minutes % int(step[0])):
        k = int(np.argmax(minutes % int(step[0]) != 0))
        raise SchemaMismatchError(path, start_col, f"record start off the {res} grid at line {int(lines[k])}")
    return start, res, int(step[0])


def read_fluxnet(path, *, site: str | None = None, utc_offset_h: float | None = None):
    """Read a FLUXNET2015 FULLSET CSV (HH, HR or DD) into a canonical ``xarray.Dataset`` (module docstring).

    ``site`` overrides the site id of the file name; ``utc_offset_h`` [h] overrides the site table's UTC
    offset of local standard time (needed for sub-daily files of sites not in the table). Global attrs:
    ``site, lat, lon, elevation, utc_offset_h, resolution, source, reader`` (NaN where unknown).
    """
    path = Path(path)
    card = load_card("fluxnet2015")
    table = card.extra["table"]
    lines = read_text(path)
    header = [h.strip() for h in lines[0].split(table["separator"])]
    from_name = card.match_name(path.name) or {}
    site = site or from_name.get("site")
    rows, line_numbers = split_rows(lines[1:], header, path, sep=table["separator"], first_line=2)
    daily_col = table["time_columns"]["daily"][0]
    sub_cols = table["time_columns"]["sub_daily"]
    cols = {c: [r[header.index(c)] for r in rows] for c in (*sub_cols, daily_col) if c in header}
    if any(c in header for c in sub_cols) and not all(c in header for c in sub_cols):
        missing = next(c for c in sub_cols if c not in header)
        raise MissingFieldError(path, missing, "time-stamp column missing")
    if all(c in header for c in sub_cols):
        start, res, step_min = _sub_daily_time(cols, path, line_numbers, table, from_name.get("resolution"))
        daily = False
    elif daily_col in header:
        if from_name.get("resolution") not in (None, "DD"):
            raise SchemaMismatchError(path, daily_col, f"file name says {from_name['resolution']}, stamps DD")
        start = _parse_stamps(cols[daily_col], "%Y%m%d", path, daily_col, line_numbers)
        res, step_min, daily = "DD", 1440, True
    else:
        raise MissingFieldError(
            path, "TIMESTAMP_START", "no time-stamp columns (TIMESTAMP_START/END or TIMESTAMP)"
        )

    attrs = site_attrs(site)
    if utc_offset_h is not None:
        attrs["utc_offset_h"] = float(utc_offset_h)
    if daily:
        time = start.astype("datetime64[D]")
    else:
        if attrs["utc_offset_h"] is None:
            raise MissingFieldError(
                path, "UTC offset", f"site {site!r} is not in the site table; pass utc_offset_h"
            )
        shift = np.timedelta64(round(attrs["utc_offset_h"] * 60), "m")
        time = (start - shift).astype("datetime64[ns]")

    kind = "daily" if daily else "sub_daily"
    data: dict[str, np.ndarray] = {}
    wanted = []
    for col, spec in table["columns"].items():
        if col not in header:
            if spec.get("required", False):
                raise MissingFieldError(path, col, "required forcing column missing")
            continue
        wanted.append((col, spec))
        if spec.get("qc") in header:
            wanted.append((spec["qc"], None))
    names = [c for c, _ in wanted]
    index = [header.index(c) for c in names]
    values = to_numeric([[r[j] for j in index] for r in rows], names, path, line_numbers)
    values[values == float(table["missing"])] = np.nan
    for k, (col, spec) in enumerate(wanted):
        if spec is None:
            continue
        name = spec["name"]
        out_name = DAILY_NAMES.get(name, name) if daily else name
        units = spec["units"][kind] if isinstance(spec["units"], dict) else spec["units"]
        target = var_attrs(out_name, daily)["units"]
        data[out_name] = convert(values[:, k], units, target, step_h=step_min / 60.0)
        if name in table["valid"]:
            check_range(data[out_name], *table["valid"][name], path, col, line_numbers)
        if spec.get("qc") in names:
            data[f"{out_name}_qc"] = values[:, names.index(spec["qc"])]

    t_name = "t_mean" if daily else "t_air"
    notes = {}
    if "le" in data:
        data["et"] = et_from_le(data["le"], data[t_name])
        notes["et"] = "LE_F_MDS / lambda(TA_F) x 86400, lambda = 2.501e6 - 2361 T J kg-1 (Allen et al. 1998)"
        if "le_unc" in data:
            data["et_unc"] = et_from_le(data["le_unc"], data[t_name])
        if "le_qc" in data:
            data["et_qc"] = data["le_qc"]
    attrs.update(resolution=res, source=str(path), reader="tccas.io.flux.read_fluxnet")
    return build_dataset(time, data, daily=daily, attrs=attrs, notes=notes)
