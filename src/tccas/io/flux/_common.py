"""Shared pieces of the flux-tower readers: canonical variables, unit conversions, text tables, datasets.

Canonical variables (units as written in the ``units`` attribute; "daily" = per-day value of a daily file):

==============  =======================  =====================================================================
name            units                    meaning
==============  =======================  =====================================================================
t_air           degC                     air temperature (sub-daily)
t_mean/min/max  degC                     daily mean / minimum / maximum air temperature
sw_down         W m-2                    incoming shortwave radiation (daily: daily-mean flux)
lw_down         W m-2                    incoming longwave radiation
vpd             Pa                       vapour-pressure deficit
pressure        Pa                       air pressure
precip          mm h-1 | mm d-1          precipitation rate (sub-daily | daily)
wind            m s-1                    wind speed
par             umol m-2 s-1             incoming photosynthetic photon flux density
swc             m3 m-3                   volumetric soil water content (shallowest layer)
co2_local       ppm                      CO2 mole fraction measured at the tower (not the global background)
rnet            W m-2                    net radiation
nee             gC m-2 d-1               net ecosystem exchange, positive = source to the atmosphere
gpp, gpp_dt     gC m-2 d-1               gross primary production (night-time / day-time partitioning)
reco            gC m-2 d-1               ecosystem respiration
le, le_corr     W m-2                    latent heat flux (gap-filled / energy-balance corrected)
h, h_corr       W m-2                    sensible heat flux (gap-filled / energy-balance corrected)
et              mm d-1                   evapotranspiration
lai             m2 m-2                   leaf area index
<var>_unc       as <var>                 1-sigma uncertainty
<var>_qc        1                        sub-daily: FLUXNET flag 0 measured, 1 good, 2 medium, 3 poor fill;
                                         daily: fraction 0..1 of measured / good-quality records
==============  =======================  =====================================================================

Carbon fluxes are rates in gC m-2 d-1 at every resolution: 1 umol CO2 m-2 s-1 = 12.011e-6 × 86400
= 1.0377504 gC m-2 d-1 (molar mass of carbon 12.011 g mol-1, IUPAC conventional atomic weight). With it
the FR-Pue 2014 half-hours sum to the 654.9 gC m-2 yr-1 of GPP_NT_VUT_MEAN quoted for that site-year.

Evapotranspiration from latent heat: ET [mm d-1] = LE / λ(T) × 86400 s d-1 (1 kg m-2 of water = 1 mm),
λ(T) = 2.501e6 − 2361·T [J kg-1] with T the air temperature [degC] (Allen et al. 1998, FAO Irrigation and
Drainage Paper 56, Annex 3 eq. 3-1, after Harrison 1963).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from tccas.io.errors import CorruptFileError, ImplausibleValueError, SchemaMismatchError

M_C = 12.011  # g mol-1, molar mass of carbon (IUPAC conventional atomic weight)
SECONDS_PER_DAY = 86400.0
UMOL_CO2_TO_GC_PER_DAY = M_C * 1e-6 * SECONDS_PER_DAY  # (umol CO2 m-2 s-1) → (gC m-2 d-1)
LAMBDA_0 = 2.501e6  # J kg-1, latent heat of vaporisation at 0 degC (Allen et al. 1998, eq. 3-1)
LAMBDA_SLOPE = 2361.0  # J kg-1 K-1, its temperature decrease (Allen et al. 1998, eq. 3-1)

# name: (units, long_name) of the canonical variables; precipitation and the qc/unc companions are
# completed by :func:`var_attrs` according to the resolution.
CANONICAL: dict[str, tuple[str, str]] = {
    "t_air": ("degC", "air temperature"),
    "t_mean": ("degC", "daily mean air temperature"),
    "t_min": ("degC", "daily minimum air temperature"),
    "t_max": ("degC", "daily maximum air temperature"),
    "sw_down": ("W m-2", "incoming shortwave radiation"),
    "lw_down": ("W m-2", "incoming longwave radiation"),
    "vpd": ("Pa", "vapour-pressure deficit"),
    "pressure": ("Pa", "air pressure"),
    "wind": ("m s-1", "wind speed"),
    "par": ("umol m-2 s-1", "incoming photosynthetic photon flux density"),
    "swc": ("m3 m-3", "volumetric soil water content, shallowest layer"),
    "co2_local": ("ppm", "CO2 mole fraction measured at the site"),
    "rnet": ("W m-2", "net radiation"),
    "nee": ("gC m-2 d-1", "net ecosystem exchange of CO2 (positive = source to the atmosphere)"),
    "gpp": ("gC m-2 d-1", "gross primary production (night-time partitioning)"),
    "gpp_dt": ("gC m-2 d-1", "gross primary production (day-time partitioning)"),
    "reco": ("gC m-2 d-1", "ecosystem respiration"),
    "le": ("W m-2", "latent heat flux"),
    "le_corr": ("W m-2", "latent heat flux corrected for energy-balance closure"),
    "h": ("W m-2", "sensible heat flux"),
    "h_corr": ("W m-2", "sensible heat flux corrected for energy-balance closure"),
    "et": ("mm d-1", "evapotranspiration"),
    "lai": ("m2 m-2", "leaf area index"),
}
DAILY_NAMES = {"t_air": "t_mean"}

# (file units, canonical units) → multiplicative factor; "mm" → "mm h-1" (amount per record) is handled
# in :func:`convert` with the record length.
_FACTORS: dict[tuple[str, str], float] = {
    ("hPa", "Pa"): 100.0,
    ("kPa", "Pa"): 1000.0,
    ("%", "m3 m-3"): 0.01,
    ("umol CO2 m-2 s-1", "gC m-2 d-1"): UMOL_CO2_TO_GC_PER_DAY,
    ("umol mol-1", "ppm"): 1.0,
    ("MJ m-2 d-1", "W m-2"): 1e6 / SECONDS_PER_DAY,
    ("W d-1", "W m-2"): 1.0,  # SMEAR II readme typo for the daily-mean sensible heat flux
}


def convert(values: np.ndarray, from_units: str, to_units: str, step_h: float | None = None) -> np.ndarray:
    """File units → canonical units (:data:`_FACTORS`); ``mm`` per record → ``mm h-1`` needs ``step_h``."""
    values = np.asarray(values, dtype=np.float64)
    if from_units == to_units:
        return values
    if (from_units, to_units) == ("mm", "mm h-1"):
        if not step_h:
            raise ValueError("converting an amount per record to mm h-1 needs the record length")
        return values / float(step_h)
    try:
        return values * _FACTORS[(from_units, to_units)]
    except KeyError:
        raise ValueError(f"no conversion from {from_units!r} to {to_units!r}") from None


def latent_heat(t_air_c) -> np.ndarray:
    """λ [J kg-1] = 2.501e6 − 2361·T, T [degC] (Allen et al. 1998, FAO-56 Annex 3 eq. 3-1)."""
    return LAMBDA_0 - LAMBDA_SLOPE * np.asarray(t_air_c, dtype=np.float64)


def et_from_le(le_w_m2, t_air_c) -> np.ndarray:
    """ET [mm d-1] = LE [W m-2] / λ(T) [J kg-1] × 86400 s d-1 (1 kg m-2 = 1 mm; Allen et al. 1998)."""
    return np.asarray(le_w_m2, dtype=np.float64) / latent_heat(t_air_c) * SECONDS_PER_DAY


def var_attrs(name: str, daily: bool) -> dict[str, str]:
    """``units`` and ``long_name`` of a canonical variable (``<var>_unc`` / ``<var>_qc`` included)."""
    if name.endswith("_qc"):
        base = var_attrs(name[:-3], daily)["long_name"]
        if daily:
            return {"units": "1", "long_name": f"fraction of measured / good-quality records: {base}"}
        return {
            "units": "1",
            "long_name": f"quality flag (0 measured, 1 good, 2 medium, 3 poor gap-filling): {base}",
        }
    if name.endswith("_unc"):
        attrs = var_attrs(name[:-4], daily)
        return {"units": attrs["units"], "long_name": f"1-sigma uncertainty of {attrs['long_name']}"}
    if name == "precip":
        return {"units": "mm d-1" if daily else "mm h-1", "long_name": "precipitation rate"}
    units, long_name = CANONICAL[name]
    if daily and name in ("sw_down", "lw_down", "vpd", "pressure", "wind", "par", "rnet", "le", "h"):
        long_name = f"daily mean {long_name}"
    return {"units": units, "long_name": long_name}


def build_dataset(
    time: np.ndarray,
    data: dict[str, np.ndarray],
    *,
    daily: bool,
    attrs: dict,
    notes: dict[str, str] | None = None,
) -> xr.Dataset:
    """A ``(time,)`` dataset of canonical float64 variables with ``units``/``long_name`` (+ ``comment``)."""
    notes = notes or {}
    variables = {}
    for name, values in data.items():
        a = var_attrs(name, daily)
        if name in notes:
            a["comment"] = notes[name]
        variables[name] = ("time", np.asarray(values, dtype=np.float64), a)
    ds = xr.Dataset(variables, coords={"time": ("time", time)})
    ds["time"].attrs = {
        "long_name": "local day" if daily else "start of the record",
        **({} if daily else {"timezone": "UTC"}),
    }
    ds.attrs = {k: (np.nan if v is None else v) for k, v in attrs.items()}
    return ds


def read_text(path: Path) -> list[str]:
    """The lines of a text file; a missing, empty or non-text file raises :class:`CorruptFileError`."""
    if not path.is_file():
        raise CorruptFileError(path, "", "file does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorruptFileError(path, "", f"not a text file ({err.reason} at byte {err.start})") from err
    if "\x00" in text:
        raise CorruptFileError(path, "", "not a text file (contains NUL bytes)")
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise CorruptFileError(path, "", "file is empty")
    return lines


def split_rows(
    lines: list[str], names: list[str], path: Path, *, sep: str | None, first_line: int
) -> tuple[list[list[str]], np.ndarray]:
    """Split data lines into fields; a row with a wrong field count (truncated/corrupted) raises.

    ``first_line`` is the 1-based file line number of ``lines[0]``; blank lines are skipped (a trailing
    newline is not an error). Returns the rows and their file line numbers.
    """
    rows, numbers, n = [], [], len(names)
    for k, line in enumerate(lines):
        if not line.strip():
            continue
        fields = line.split(sep) if sep else line.split()
        if len(fields) != n:
            missing = names[len(fields)] if len(fields) < n else ""
            raise CorruptFileError(
                path,
                missing,
                f"line {first_line + k} has {len(fields)} fields, expected {n} (truncated or corrupted row)",
            )
        rows.append([f.strip() for f in fields])
        numbers.append(first_line + k)
    if not rows:
        raise CorruptFileError(path, "", "no data rows")
    return rows, np.asarray(numbers)


def to_numeric(rows: list[list[str]], names: list[str], path: Path, line_numbers: np.ndarray) -> np.ndarray:
    """Float64 ``(n_rows, n_cols)`` table; empty cells are NaN, a non-numeric cell raises (naming it)."""
    cells = np.array(rows, dtype=object)
    cells[cells == ""] = "nan"
    out = np.empty(cells.shape, dtype=np.float64)
    for j, name in enumerate(names):
        try:
            out[:, j] = cells[:, j].astype(np.float64)
        except ValueError:
            for i, cell in enumerate(cells[:, j]):
                try:
                    float(cell)
                except ValueError:
                    raise SchemaMismatchError(
                        path, name, f"non-numeric value {cell!r} at line {int(line_numbers[i])}"
                    ) from None
            raise
    return out


def check_range(values: np.ndarray, lo: float, hi: float, path: Path, field: str, lines: np.ndarray) -> None:
    """Finite values outside the plausible ``[lo, hi]`` (canonical units) raise
    :class:`ImplausibleValueError`, naming the field and the file line of the first one."""
    with np.errstate(invalid="ignore"):
        bad = np.isfinite(values) & ((values < lo) | (values > hi))
    if bad.any():
        k = int(np.argmax(bad))
        raise ImplausibleValueError(
            path,
            field,
            f"{int(bad.sum())} values outside {lo}..{hi} (first {values[k]:g} at line {int(lines[k])}); "
            "wrong units?",
        )


def fill_flagged(values: np.ndarray, bad: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace ``bad`` entries by linear interpolation in time between the nearest good neighbours.

    Before the first / after the last good value the nearest good value is used (``np.interp``). Returns
    the filled series and the daily quality fraction (1 measured, 0 filled; NaN where no good value exists).
    """
    out = np.asarray(values, dtype=np.float64).copy()
    good = ~bad & np.isfinite(out)
    qc = np.where(good, 1.0, np.where(bad, 0.0, np.nan))
    if bad.any() and good.any():
        idx = np.arange(out.size)
        out[bad] = np.interp(idx[bad], idx[good], out[good])
    elif bad.any():
        out[bad] = np.nan
        qc[bad] = np.nan
    return out, qc
