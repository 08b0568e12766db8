"""Site forcing: flux-tower meteorology → hourly :class:`tccas.model.Forcing` of the D&B model.

The model runs on hourly arrays (n_days, 24), hour 0 = 00–01 UTC (model_spec §2.3). Tower drivers come in
two forms, both as :class:`xarray.Dataset` objects with the canonical names of :mod:`tccas.io.flux`:

- **sub-daily** (FLUXNET HH, 30-min or 60-min records; ``time`` = record start, UTC): ``t_air`` [°C],
  ``sw_down``, ``lw_down`` [W m-2], ``vpd`` [Pa], ``pressure`` [Pa], ``precip`` [mm h-1, a rate], optional
  ``wind`` [m s-1] and ``co2`` [ppm] → :func:`hourly_forcing` (hourly means of the records);
- **daily** (DifferLand/CARDAMOM drivers, SMEAR II, aggregated FLUXNET DD; ``time`` one value per day):
  ``t_mean`` and/or ``t_min``/``t_max`` [°C], ``sw_down`` [W m-2, daily mean], ``vpd`` [Pa, daily mean],
  ``precip`` [mm d-1], ``pressure`` [Pa], optional ``lw_down`` [W m-2, daily mean], ``wind`` [m s-1],
  ``co2`` [ppm]; global attributes ``lat``, ``lon`` [degrees] → :func:`disaggregate_daily` (diurnal cycles
  that preserve every daily mean or total).

Vapour pressure is derived from VPD with the model's own saturation curve
(:func:`tccas.model.met.sat_vapour_pressure`, Tetens/Murray form over water and ice), so the VPD the model
recomputes from the forcing is the tower VPD. Bad input raises a :class:`tccas.io.errors.ProductError`
naming the dataset's ``source`` attribute (the file) and the variable.
"""

from __future__ import annotations

import numpy as np

from tccas.io.errors import MissingFieldError, SchemaMismatchError
from tccas.model import constants as c
from tccas.model import met
from tccas.model.forcing import EPOCH, Forcing
from tccas.model.parameters import default_global_params

#: Longest run of missing records (hours) that :func:`hourly_forcing` fills by linear interpolation.
MAX_GAP_HOURS = 2.0
#: Relative-humidity floor of the derived vapour pressure: e ≥ RH_MIN · e_s(T) [-].
RH_MIN = 0.01
#: Sub-steps per hour for hour-integrated solar geometry and hour-mean temperatures (5 min).
N_SUB = 12
#: Parton & Logan (1981, Agric. Meteorol. 23, 205, Table 1; air temperature at 150 cm): lag of the maximum
#: after solar noon a [h], nocturnal decay coefficient b [-], lag of the minimum after sunrise c [h].
PL_A, PL_B, PL_C = 1.86, 2.20, -0.17
#: Day length used by the temperature cycle is clipped to this range [h] (polar day/night, see below).
DAY_LENGTH_RANGE = (2.0, 22.0)
#: Thornton & Running (1999, Agric. For. Meteorol. 93, 211) transmittance-DTR relation, Bristow & Campbell
#: (1984) form: τ/τ_clear = 1 − exp(−B ΔT^C), C = 1.5, B = 0.031 + 0.201 exp(−0.185 ΔT̄); ΔT̄ = 10 K [D].
TR_C = 1.5
TR_B = 0.031 + 0.201 * np.exp(-0.185 * 10.0)
#: Clearness ratio at which the inverted relation is capped (clear days), giving ΔT ≤ 13.2 K [D].
TR_RATIO_MAX = 0.95
#: Reference intensity of the "event" precipitation shape [mm h-1] and its local solar centre [h] [D].
EVENT_INTENSITY = 2.0
EVENT_CENTRE_H = 15.0

_SUBDAILY_REQUIRED = ("t_air", "sw_down", "lw_down", "vpd", "pressure", "precip")
_DAILY_REQUIRED = ("sw_down", "vpd", "precip", "pressure")
_PRECIP_SHAPES = ("uniform", "event")
_DAY_S = 86400


def _source(ds) -> str:
    """The file a dataset came from (its ``source`` attribute or encoding), for error messages."""
    return str(ds.attrs.get("source") or ds.encoding.get("source") or "<in-memory dataset>")


def _require(ds, names, src):
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise MissingFieldError(
            src, missing[0], f"required variable absent (missing {missing}; present {sorted(ds.data_vars)})"
        )


def _values(ds, name) -> np.ndarray:
    return np.asarray(ds[name].values, dtype=np.float64)


def _vapour_pressure(t_air, vpd):
    """e = e_s(T) − VPD [Pa], bounded to [RH_MIN e_s, e_s] (model_spec §3.1 saturation curve)."""
    es = met.sat_vapour_pressure(t_air, np)[0]
    return np.clip(es - vpd, RH_MIN * es, es)


def _co2_mol(co2_ppm, days, src, dataset_ppm=None) -> np.ndarray:
    """Daily CO2 [mol mol-1] (n_days,): ``co2_ppm`` (a number, or a mapping / pandas Series year → ppm
    such as the TRENDY annual global series of :func:`tccas.io.flux.read_co2_series`, applied per calendar
    year) wins over the dataset's own ``co2`` [ppm]; neither → an error."""
    if co2_ppm is not None:
        if hasattr(co2_ppm, "items"):  # a mapping or a pandas Series (tccas.io.flux.read_co2_series)
            table = {int(y): float(v) for y, v in co2_ppm.items()}
            years = (days.astype("datetime64[Y]").astype(np.int64) + 1970).tolist()
            absent = sorted(set(years) - set(table))
            if absent:
                raise ValueError(f"co2_ppm has no value for year(s) {absent} of {src}")
            ppm = np.array([table[y] for y in years])
        else:
            ppm = np.full(days.size, float(co2_ppm))
    elif dataset_ppm is not None:
        ppm = dataset_ppm
    else:
        raise MissingFieldError(
            src,
            "co2",
            "no background CO2 in the dataset: pass co2_ppm= (e.g. the TRENDY annual global series; a "
            "tower's own co2_local is not used as it is not the background mole fraction)",
        )
    if not np.all(np.isfinite(ppm) & (ppm > 100.0) & (ppm < 2000.0)):
        raise ValueError(
            f"CO2 for {src} must be finite and within 100..2000 ppm, got {ppm.min()}..{ppm.max()}"
        )
    return ppm * 1e-6


def _wind_value(wind) -> float:
    """The constant wind [m s-1]: ``wind`` if given, else GlobalParams.wind (3 m s-1, the model default)."""
    u = float(default_global_params().wind) if wind is None else float(wind)
    if not (np.isfinite(u) and u > 0.0):
        raise ValueError(f"wind must be a positive speed in m s-1, got {wind}")
    return u


# ------------------------------------------------------------------------------------------------------
# sub-daily → hourly
# ------------------------------------------------------------------------------------------------------


def _record_grid(ds, src):
    """Regular record grid of the whole UTC days covered by ``ds``: ``(grid_s, index, step_s, days)``.

    ``grid_s`` are record starts [s since 1970] of every record slot of the kept days, ``index`` the slot
    of each input record (−1 outside the kept days), ``days`` the kept days (datetime64[D]).
    """
    if "time" not in ds.variables:
        raise MissingFieldError(src, "time", "no time coordinate (record start, UTC)")
    t = np.asarray(ds["time"].values).astype("datetime64[s]").astype(np.int64)
    if t.size < 2:
        raise SchemaMismatchError(src, "time", f"{t.size} record(s): too few for a sub-daily series")
    dt = np.diff(t)
    if np.any(dt <= 0):
        k = int(np.argmax(dt <= 0)) + 1
        raise SchemaMismatchError(
            src, "time", f"times not strictly increasing at record {k} ({np.datetime64(int(t[k]), 's')})"
        )
    step = int(dt.min())
    if 3600 % step or np.any(t % step):
        raise SchemaMismatchError(
            src, "time", f"records are not on a regular grid of a step dividing 1 h (smallest step {step} s)"
        )
    max_gap = int(MAX_GAP_HOURS * 3600)
    d_first = t[0] // _DAY_S
    if t[0] - d_first * _DAY_S > max_gap:
        d_first += 1
    end = t[-1] + step
    d_end = -(-end // _DAY_S)
    if d_end * _DAY_S - end > max_gap:
        d_end -= 1
    n_days = int(d_end - d_first)
    if n_days < 1:
        raise SchemaMismatchError(src, "time", "the records cover no whole UTC day")
    grid = d_first * _DAY_S + np.arange(n_days * _DAY_S // step, dtype=np.int64) * step
    index = (t - grid[0]) // step
    index[(index < 0) | (index >= grid.size)] = -1
    days = (np.datetime64("1970-01-01", "D") + d_first + np.arange(n_days)).astype("datetime64[D]")
    return grid, index, step, days


def _on_grid(values, grid, index, name, src):
    """Place records on the grid and fill gaps ≤ MAX_GAP_HOURS (linear inside, nearest value at the ends
    of the series); a longer gap is an error naming the variable and the gap's first record time."""
    a = np.full(grid.size, np.nan)
    keep = index >= 0
    a[index[keep]] = values[keep]
    bad = ~np.isfinite(a)
    if not bad.any():
        return a
    if bad.all():
        raise SchemaMismatchError(src, name, "no valid value in the whole UTC days of the record")
    edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    step = grid[1] - grid[0]
    hours = (ends - starts) * step / 3600.0
    long = hours > MAX_GAP_HOURS
    if long.any():
        k = int(np.argmax(long))
        first = np.datetime64(int(grid[starts[k]]), "s")
        raise SchemaMismatchError(
            src,
            name,
            f"gap of {hours[k]:g} h from {first} UTC is longer than {MAX_GAP_HOURS:g} h "
            f"({int(long.sum())} such gap(s)); gap-fill the input first",
        )
    a[bad] = np.interp(grid[bad], grid[~bad], a[~bad])
    return a


def hourly_forcing(ds, *, co2_ppm=None, wind=None) -> Forcing:
    """Hourly model forcing from a sub-daily tower dataset (FLUXNET HH layout, see the module docstring).

    - Each model hour is the mean of the records starting in that UTC hour (two for 30-min data); precip
      is a rate [mm h-1], so its hourly mean is the hour's total [mm].
    - Whole UTC days only: a first or last day is kept when the records miss at most ``MAX_GAP_HOURS`` of
      it (the missing edge records take the nearest value), otherwise it is trimmed. FLUXNET timestamps are
      local standard time; once the reader shifts them to UTC a UTC+1 year such as FR-Pue 2014 (first
      half-hour absent) starts at 2013-12-31T23:30 and ends at 2014-12-31T23:00 UTC: 2013-12-31 is dropped
      and 2014-12-31 keeps its last hour as the 22:30 record, giving exactly the 365 days of 2014.
    - Gaps (absent records or NaN) of ≤ ``MAX_GAP_HOURS`` are linearly interpolated; a longer gap raises
      :class:`~tccas.io.errors.SchemaMismatchError` naming the variable and the gap's first time.
    - e = e_s(T) − VPD [Pa] at the hourly means, with the model's Tetens/Murray e_s (Murray 1967, J. Appl.
      Meteorol. 6, 203; water above 0 °C, ice below), bounded to [``RH_MIN`` e_s, e_s].
    - Negative SW↓ (night-time sensor offsets) is set to 0 W m-2.
    - CO2 [mol mol-1]: ``co2_ppm`` (number, or mapping/Series year → ppm) if given, else the dataset's ``co2``
      [ppm], else :class:`~tccas.io.errors.MissingFieldError`.
    - Wind [m s-1]: ``wind`` (constant) if given, else the dataset's ``wind``, else GlobalParams.wind
      (3 m s-1). With the default ``ModelOptions(wind="constant")`` the model uses GlobalParams.wind anyway,
      so ``wind=`` also bypasses a tower wind series with long gaps (as ``co2_ppm=`` does for CO2).
    """
    src = _source(ds)
    _require(ds, _SUBDAILY_REQUIRED, src)
    grid, index, step, days = _record_grid(ds, src)
    per_hour = 3600 // step
    n_days = days.size

    def hourly(name):
        a = _on_grid(_values(ds, name), grid, index, name, src)
        return a.reshape(n_days, 24, per_hour).mean(axis=-1)

    t_air = hourly("t_air")
    shape = t_air.shape
    dataset_co2 = hourly("co2") if co2_ppm is None and "co2" in ds.variables else None
    if dataset_co2 is not None:
        co2 = _co2_mol(None, days, src, dataset_ppm=dataset_co2.ravel()).reshape(shape)
    else:
        co2 = np.repeat(_co2_mol(co2_ppm, days, src)[:, None], 24, axis=1)
    if wind is None and "wind" in ds.variables:
        u = hourly("wind")
    else:
        u = np.full(shape, _wind_value(wind))
    return Forcing(
        sw_down=np.maximum(hourly("sw_down"), 0.0),
        lw_down=hourly("lw_down"),
        t_air=t_air,
        precip=_non_negative(hourly("precip"), "precip", src, np.repeat(days, 24)),
        vapour_pressure=_vapour_pressure(t_air, hourly("vpd")),
        pressure=hourly("pressure"),
        wind=u,
        co2=co2,
        day_number=(days - EPOCH).astype(np.float64),
    )


# ------------------------------------------------------------------------------------------------------
# daily → hourly
# ------------------------------------------------------------------------------------------------------


def _daily_days(ds, src) -> np.ndarray:
    if "time" not in ds.variables:
        raise MissingFieldError(src, "time", "no time coordinate (one value per day)")
    days = np.asarray(ds["time"].values).astype("datetime64[D]")
    if days.size < 1:
        raise SchemaMismatchError(src, "time", "no day")
    step = np.diff(days).astype(np.int64)
    if np.any(step != 1):
        k = int(np.argmax(step != 1)) + 1
        raise SchemaMismatchError(src, "time", f"days are not consecutive at {days[k]} (after {days[k - 1]})")
    return days


def _daily(ds, name, days, src) -> np.ndarray:
    v = _values(ds, name)
    if v.shape != days.shape:
        raise SchemaMismatchError(src, name, f"shape {v.shape}, expected ({days.size},) along time")
    bad = ~np.isfinite(v)
    if bad.any():
        raise SchemaMismatchError(
            src, name, f"{int(bad.sum())} missing (NaN) day(s), first {days[np.argmax(bad)]}; gap-fill first"
        )
    return v


def _non_negative(x, name, src, when):
    """``x`` unchanged, or an error naming the first negative value's time ``when[k]``."""
    neg = x < 0.0
    if neg.any():
        raise SchemaMismatchError(
            src, name, f"{int(neg.sum())} negative value(s), first at {when[np.argmax(neg)]}"
        )
    return x


def _location(ds, src) -> tuple[float, float]:
    out = []
    for name, lim in (("lat", 90.0), ("lon", 180.0)):
        if name not in ds.attrs:
            raise MissingFieldError(src, name, "global attribute absent (degrees, needed for solar geometry)")
        x = float(ds.attrs[name])
        if not -lim <= x <= lim:
            raise SchemaMismatchError(src, name, f"{x} outside [-{lim:g}, {lim:g}] degrees")
        out.append(x)
    return out[0], out[1]


def _utc_offset(ds, src) -> float:
    """Local standard time − UTC [h] of the dataset's days (``utc_offset_h`` attribute; absent → 0)."""
    off = float(ds.attrs.get("utc_offset_h", 0.0))
    if not (np.isfinite(off) and -14.0 <= off <= 14.0):
        raise SchemaMismatchError(
            src, "utc_offset_h", f"{off} is not a UTC offset in -14..14 h (set 0 if the days are UTC days)"
        )
    return off


def local_day_hours(n_days: int, utc_offset_h: float = 0.0) -> np.ndarray:
    """UTC hours (n_days, 24) of the local-day grid: row k = local day k, column j its j-th hour.

    Hours are counted from 00 UTC of the first day; UTC hour u belongs to the local day that contains its
    midpoint u + ½ + offset, so local day k = UTC hours u₀ + 24k … u₀ + 24k + 23, u₀ = ⌈−offset − ½⌉.
    """
    u0 = int(np.ceil(-float(utc_offset_h) - 0.5))
    return u0 + 24 * np.arange(n_days)[:, None] + np.arange(24)[None, :]


def _sub_steps(hours):
    """UTC times of the ``N_SUB`` sub-step midpoints of each hour: ``(day_index, hour_of_day)`` [-, h]."""
    t = hours[..., None] + (np.arange(N_SUB) + 0.5) / N_SUB
    day = np.floor(t / 24.0)
    return day, t - 24.0 * day


def shortwave_shape(day_number, lat, lon, pressure, utc_offset_h: float = 0.0) -> np.ndarray:
    """Hour-mean clear-sky potential SW↓ [W m-2] on the local-day grid (n_days, 24, see
    :func:`local_day_hours`).

    The BETHY potential radiation ``met.potential_sw`` (Q_TOA = 600 d⁻² μ, t_tot = 0.4 + 0.6 exp(−0.185
    p/(p0 μ)); Knorr 2000, model_spec §3.1; Spencer 1971 geometry) averaged over ``N_SUB`` sub-steps, 0
    while the sun is down. ``day_number`` (n_days,) of the local days, ``pressure`` [Pa] per day.
    """
    dn = np.asarray(day_number, dtype=np.float64)
    day, hour = _sub_steps(local_day_hours(dn.size, utc_offset_h))
    dn_sub = dn[0] + day
    mu = met.cos_zenith(dn_sub, hour, lat, lon, np)
    sw_pot = met.potential_sw(mu, np.asarray(pressure, dtype=np.float64)[:, None, None], dn_sub, np)[0]
    return sw_pot.mean(axis=-1)


def _parton_logan(day_number, lat, lon, utc_offset_h, t_min, t_max) -> np.ndarray:
    """Hour-mean air temperature [°C] on the local-day grid (n_days, 24) from daily minima and maxima.

    Parton & Logan (1981, Agric. Meteorol. 23, 205), with local solar time s [h] and day length Y [h]
    (Y = (24/π) arccos(−tan φ tan δ), Spencer 1971 declination), sunrise s_r = 12 − Y/2, sunset
    s_s = 12 + Y/2:

    - day, s_r + c ≤ s ≤ s_s: T = T_min + (T_max − T_min) sin(π m / (Y + 2a)), m = s − s_r − c;
    - night, n hours after sunset, Z = hours from sunset to the next minimum (s_r' + c + 24 − s_s):
      T = [T_min' − T_s e^{−b} + (T_s − T_min') e^{−b n/Z}] / (1 − e^{−b}), the exponential decay of P&L
      normalised to run from the sunset temperature T_s to the next day's minimum T_min' (continuous;
      cf. Reicosky et al. 1989, Agric. For. Meteorol. 46, 193).

    a, b, c = ``PL_A, PL_B, PL_C`` (150 cm air temperature). Each instant takes the minimum/maximum of
    its local solar day (UTC + lon/15 + equation of time); the first and last days stand in for their
    missing neighbours. Y is clipped to ``DAY_LENGTH_RANGE`` so polar day/night keep a (short) night/day
    branch [D].
    """
    dn = np.asarray(day_number, dtype=np.float64)
    n = dn.size
    gam = met.year_angle(dn, np)
    tan = np.tan(np.deg2rad(lat)) * np.tan(met.declination(gam, np))
    y_len = np.clip(24.0 / np.pi * np.arccos(np.clip(-tan, -1.0, 1.0)), *DAY_LENGTH_RANGE)
    rise, sset = 12.0 - y_len / 2.0, 12.0 + y_len / 2.0
    t_set = t_min + (t_max - t_min) * np.sin(np.pi * (y_len - PL_C) / (y_len + 2.0 * PL_A))

    # continuous local solar time [h since local solar midnight of day 0] of each sub-step
    day, hour = _sub_steps(local_day_hours(n, utc_offset_h))
    tau = 24.0 * day + hour + lon / 15.0 + met.equation_of_time(met.year_angle(dn[0] + day, np), np)
    k = np.floor(tau / 24.0).astype(np.int64)
    s = tau - 24.0 * k

    def at(i):
        return np.clip(i, 0, n - 1)

    k0, km, kp = at(k), at(k - 1), at(k + 1)
    e_b = np.exp(-PL_B)

    def night(t_s, t_next, hours, length):
        return (t_next - t_s * e_b + (t_s - t_next) * np.exp(-PL_B * hours / length)) / (1.0 - e_b)

    start = rise[k0] + PL_C
    day_t = t_min[k0] + (t_max[k0] - t_min[k0]) * np.sin(np.pi * (s - start) / (y_len[k0] + 2.0 * PL_A))
    morning = night(t_set[km], t_min[k0], s + 24.0 - sset[km], start + 24.0 - sset[km])
    evening = night(t_set[k0], t_min[kp], s - sset[k0], rise[kp] + PL_C + 24.0 - sset[k0])
    t = np.where(s < start, morning, np.where(s > sset[k0], evening, day_t))
    return t.mean(axis=-1)


def to_utc_days(grid, utc_offset_h: float = 0.0) -> np.ndarray:
    """Local-day grid (n_days, 24) → UTC days (n_days, 24) of the same dates (hour 0 = 00–01 UTC).

    The ⌈|offset|⌉ UTC hours at one end that belong to a local day outside the dataset take the same
    local hour of the nearest day (first or last day repeated) [D].
    """
    n = grid.shape[0]
    u0 = int(local_day_hours(1, utc_offset_h)[0, 0])
    ext = np.concatenate([grid[0], grid.ravel(), grid[-1]])
    return ext[np.arange(24 * n) - u0 + 24].reshape(n, 24)


def diurnal_range_from_clearness(ratio) -> np.ndarray:
    """Daily temperature range ΔT [K] from the clearness ratio τ/τ_clear = SW↓/SW_pot (daily means).

    Inverts Thornton & Running (1999, Agric. For. Meteorol. 93, 211; the Bristow & Campbell 1984
    form, Agric. For. Meteorol. 31, 159): τ/τ_clear = 1 − exp(−B ΔT^C) → ΔT = [−ln(1 − τ/τ_clear)/B]^{1/C},
    with ``TR_B``, ``TR_C``; the ratio is clipped to [0, ``TR_RATIO_MAX``] (ΔT ∈ [0, 13.2] K) [D].
    """
    r = np.clip(np.asarray(ratio, dtype=np.float64), 0.0, TR_RATIO_MAX)
    return (-np.log1p(-r) / TR_B) ** (1.0 / TR_C)


def _constant_vapour_pressure(es, vpd_d) -> np.ndarray:
    """Hourly e [Pa] (n_days, 24) with mean_h max(e_s,h − e_h, 0) = VPD_d exactly and e_h ≤ e_s,h.

    e_h = min(e*, e_s,h): one vapour pressure e* per day, capped at saturation in the hours whose
    e_s,h < e* (dew/fog). When no hour saturates, e* = mean_h e_s,h − VPD_d. e* solves the piecewise-linear
    (1/24) Σ_h max(e_s,h − e*, 0) = VPD_d exactly: with e_s sorted descending, e*_j = (Σ_{i≤j} e_s,(i) −
    24 VPD_d)/j for the j with e_s,(j+1) ≤ e*_j ≤ e_s,(j). Finally e_h ≥ ``RH_MIN`` e_s,h.
    """
    srt = -np.sort(-es, axis=1)
    j = np.arange(1, 25, dtype=np.float64)
    cand = (np.cumsum(srt, axis=1) - 24.0 * np.maximum(vpd_d, 0.0)[:, None]) / j
    lower = np.concatenate([srt[:, 1:], np.full((es.shape[0], 1), -np.inf)], axis=1)
    tol = 1e-9 * srt[:, :1]
    ok = (cand <= srt + tol) & (cand >= lower - tol)
    e_star = np.take_along_axis(cand, np.argmax(ok, axis=1)[:, None], axis=1)
    return np.maximum(np.minimum(e_star, es), RH_MIN * es)


def brutsaert_crawford_duchon(t_air, vapour_pressure, cloud) -> np.ndarray:
    """All-sky LW↓ [W m-2] = ε σ T_K⁴ (T_K = T + 273.16, the model's convention).

    Clear-sky ε_c = 1.24 (e/T_K)^{1/7} with e in hPa (Brutsaert 1975, Water Resour. Res. 11, 742);
    cloud correction ε = f + (1 − f) ε_c with the cloud fraction f = 1 − clearness (Crawford & Duchon 1999,
    J. Appl. Meteorol. 38, 474).
    """
    tk = t_air + c.T_MELT
    eps_clear = 1.24 * (vapour_pressure / 100.0 / tk) ** (1.0 / 7.0)
    eps = cloud + (1.0 - cloud) * eps_clear
    return eps * c.SIGMA_SB * tk**4


def _precip_hours(precip_d, lon, utc_offset_h, shape) -> np.ndarray:
    """Hourly precipitation [mm h-1] on the local-day grid (n_days, 24), daily sums = ``precip_d`` [mm d-1].

    "uniform": P_d/24 every hour. "event": one block of D = clip(⌈P_d/2 mm h-1⌉, 1, 24) whole hours at
    P_d/D, centred on 15 h local solar time (UTC + lon/15), the late-afternoon maximum of land
    precipitation (Dai 2001, J. Climate 14, 1112) [D]; the block wraps within the local day so the total
    stays in its day.
    """
    if shape == "uniform":
        return np.repeat(precip_d[:, None] / 24.0, 24, axis=1)
    u0 = local_day_hours(1, utc_offset_h)[0, 0]
    dur = np.clip(np.ceil(precip_d / EVENT_INTENSITY), 1.0, 24.0)
    start = np.round(EVENT_CENTRE_H - dur / 2.0 - lon / 15.0 - u0) % 24.0
    inside = (np.arange(24.0)[None, :] - start[:, None]) % 24.0 < dur[:, None]
    return np.where(inside, (precip_d / dur)[:, None], 0.0)


def disaggregate_daily(ds, *, co2_ppm=None, wind=None, precip_shape="uniform") -> Forcing:
    """Hourly model forcing from a daily dataset (module docstring), preserving every daily mean/total.

    The days of ``ds`` are local standard-time days (``utc_offset_h`` attribute [h], local − UTC, as the
    :mod:`tccas.io.flux` readers set it; absent → 0, UTC days). Every daily value is spread over the 24 UTC
    hours of its local day (:func:`local_day_hours`), where the rules below conserve it exactly, and the
    result is returned on the UTC days of the same dates (:func:`to_utc_days`; the ⌈|offset|⌉ hours at
    one end that fall outside the dataset repeat the nearest day).

    - **SW↓** [W m-2]: SW_h = SW_d w_h / mean(w), w = :func:`shortwave_shape` (hour-integrated clear-sky
      potential radiation: solar geometry × an air-mass-dependent transmissivity); 0 while the sun is down.
      A day with SW_d > 0 but no sun at all (polar night) gets 0 (twilight/sensor offset) [D].
    - **T** [°C]: the Parton & Logan (1981) cycle of :func:`_parton_logan` between t_min and t_max, then
      shifted per day so its mean equals ``t_mean`` where the dataset has it. With ``t_mean`` only, the range
      is ΔT = :func:`diurnal_range_from_clearness` of the day's clearness SW_d/SW_pot,d, centred on t_mean.
    - **e** [Pa]: one value per day (capped at saturation in the coldest hours, see
      :func:`_constant_vapour_pressure`) so the daily mean of the hourly VPD equals the daily VPD.
    - **LW↓** [W m-2]: :func:`brutsaert_crawford_duchon` with cloud fraction 1 − min(SW_d/SW_pot,d, 1);
      rescaled to the daily ``lw_down`` where the dataset has it.
    - **precip** [mm h-1]: ``precip_shape`` "uniform" or "event" (:func:`_precip_hours`), both keeping the
      daily total. The model's hydrology uses only the daily sum (``tccas.model.prepare_met``), so the
      shape does not change model output (beyond the shift of the local day against the UTC day).
    - **pressure** [Pa], **wind** [m s-1], **CO2** [mol mol-1]: constant over the day. Wind: ``wind`` if
      given, else the dataset's daily ``wind``, else GlobalParams.wind = 3 m s-1 (what the default
      ``ModelOptions(wind="constant")`` uses regardless). CO2: ``co2_ppm`` (number, or mapping/Series
      year → ppm) if given, else the dataset's ``co2`` [ppm], else an error.
    """
    if precip_shape not in _PRECIP_SHAPES:
        raise ValueError(f"precip_shape must be one of {_PRECIP_SHAPES}, got {precip_shape!r}")
    src = _source(ds)
    lat, lon = _location(ds, src)
    offset = _utc_offset(ds, src)
    days = _daily_days(ds, src)
    _require(ds, _DAILY_REQUIRED, src)
    if not ("t_mean" in ds.variables or ("t_min" in ds.variables and "t_max" in ds.variables)):
        raise MissingFieldError(src, "t_mean", "need daily t_mean or both t_min and t_max [degC]")
    dn = (days - EPOCH).astype(np.float64)
    ones = np.ones((1, 24))

    def daily(name):
        return _daily(ds, name, days, src)

    pressure = daily("pressure")
    sw_d = np.maximum(daily("sw_down"), 0.0)
    w = shortwave_shape(dn, lat, lon, pressure, offset)
    w_mean = w.mean(axis=1)
    has_sun = w_mean > 0.0
    clearness = np.where(has_sun, sw_d / np.where(has_sun, w_mean, 1.0), 0.0)
    sw = w * clearness[:, None]

    t_mean = daily("t_mean") if "t_mean" in ds.variables else None
    if "t_min" in ds.variables and "t_max" in ds.variables:
        t_min, t_max = daily("t_min"), daily("t_max")
        if np.any(t_max < t_min):
            k = int(np.argmax(t_max < t_min))
            raise SchemaMismatchError(src, "t_max", f"t_max < t_min on {days[k]}")
    else:
        half = 0.5 * diurnal_range_from_clearness(clearness)
        t_min, t_max = t_mean - half, t_mean + half
    t_air = _parton_logan(dn, lat, lon, offset, t_min, t_max)
    if t_mean is not None:
        t_air = t_air + (t_mean - t_air.mean(axis=1))[:, None]

    es = met.sat_vapour_pressure(t_air, np)[0]
    e = _constant_vapour_pressure(es, daily("vpd"))
    lw = brutsaert_crawford_duchon(t_air, e, 1.0 - np.minimum(clearness, 1.0)[:, None])
    if "lw_down" in ds.variables:
        lw = lw * (daily("lw_down") / lw.mean(axis=1))[:, None]

    dataset_co2 = daily("co2") if co2_ppm is None and "co2" in ds.variables else None
    co2 = _co2_mol(co2_ppm, days, src, dataset_ppm=dataset_co2)
    u = daily("wind") if wind is None and "wind" in ds.variables else np.full(days.size, _wind_value(wind))
    precip = _precip_hours(_non_negative(daily("precip"), "precip", src, days), lon, offset, precip_shape)
    grids = {
        "sw_down": sw,
        "lw_down": lw,
        "t_air": t_air,
        "precip": precip,
        "vapour_pressure": e,
        "pressure": pressure[:, None] * ones,
        "wind": u[:, None] * ones,
        "co2": co2[:, None] * ones,
    }
    return Forcing(**{k: to_utc_days(v, offset) for k, v in grids.items()}, day_number=dn)
