"""Forcing and static-site types, and a synthetic hourly forcing generator (model_spec §2.3, §2.4).

``Forcing`` holds hourly arrays of shape (n_days, 24), hour 0 = 00:00-01:00 UTC, and ``day_number``
(days since 2015-01-01, the TCCAS calendar of model_spec §2.2). :func:`synthetic_forcing` produces
physically consistent NumPy forcing for any place and period: solar geometry, seasonal and diurnal
temperature cycles with synoptic (AR(1)) weather, cloudiness that modulates SW↓ and LW↓, rain events
of a few hours from a two-state Markov chain with latitude-dependent amount and seasonality, humidity
from the daily minimum temperature, barometric pressure, wind with a diurnal cycle, and CO2 with a
trend (405 ppm in 2018) and a hemispheric seasonal cycle. It is deterministic for a seed.
Climatologies are [D] estimates tuned to the demo regions (Lapland, Iberia, the Netherlands).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tccas.model import constants as c
from tccas.model.met import cos_zenith, inverse_distance_sq, year_angle

EPOCH = np.datetime64("2015-01-01", "D")


class Forcing(NamedTuple):
    """Hourly meteorological forcing of one pixel (model_spec §2.3); arrays (n_days, 24) float64."""

    sw_down: object  # W m-2
    lw_down: object  # W m-2
    t_air: object  # degC
    precip: object  # mm h-1
    vapour_pressure: object  # Pa
    pressure: object  # Pa
    wind: object  # m s-1
    co2: object  # mol mol-1
    day_number: object  # (n_days,) days since 2015-01-01


class Site(NamedTuple):
    """Static inputs of one pixel (model_spec §2.4, §4.4); float64 scalars.

    ``w_max`` is the plant-available water capacity of the pixel [mm]; each tile uses
    ``w_max × wmax_scale`` (TileParams), which is how a PFT-specific rooting depth enters [D].
    """

    lat: object
    lon: object
    elevation: object  # m
    w_max: object  # mm
    soil_albedo_wet: object
    soil_albedo_dry: object
    theta_sat: object  # m3 m-3
    z_surface: object  # m


def default_site(lat: float, lon: float, elevation: float = 0.0) -> Site:
    """Site with the model_spec §4.4 defaults: loam, 1.5 m rooting (W_max = 225 mm), albedo 0.15/0.30,
    θ_sat = 0.45, z_s = 0.05 m."""
    f = np.float64
    return Site(f(lat), f(lon), f(elevation), f(225.0), f(0.15), f(0.30), f(0.45), f(0.05))


def day_numbers(start: str, n_days: int) -> np.ndarray:
    """Days since 2015-01-01 of ``n_days`` consecutive days from ISO date ``start`` (float64)."""
    try:
        d0 = np.datetime64(start, "D")
    except ValueError as exc:
        raise ValueError(f"start must be an ISO date 'YYYY-MM-DD', got {start!r}") from exc
    return ((d0 - EPOCH).astype(np.int64) + np.arange(n_days)).astype(np.float64)


# [D] climatology tables over |latitude| (deg): annual mean T, seasonal amplitude, annual precipitation
_LAT = np.array([0, 20, 35, 40, 52, 60, 67, 75, 90], dtype=np.float64)
_T_MEAN = np.array([26.5, 25.0, 17.0, 15.5, 10.0, 4.0, 0.0, -12.0, -25.0])
_T_AMP = np.array([1.0, 4.0, 8.0, 9.0, 7.5, 11.0, 13.5, 15.0, 18.0])
_P_ANN = np.array([2500.0, 900.0, 500.0, 550.0, 800.0, 650.0, 500.0, 300.0, 200.0])
# Mediterranean (summer-dry) weight by latitude
_MED = np.array([0.0, 0.0, 0.9, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0])


def _ar1(rng, n, rho, sigma):
    x = np.empty(n)
    x[0] = rng.normal(0.0, sigma)
    innov = rng.normal(0.0, sigma * np.sqrt(1.0 - rho**2), n)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + innov[i]
    return x


def _es(t):
    a = np.where(t >= 0.0, 17.269, 22.33)
    b = np.where(t >= 0.0, 237.3, 271.15)
    return 610.78 * np.exp(a * t / (b + t))


def synthetic_forcing(
    lat: float, lon: float, start: str, n_days: int, seed: int = 0, elevation: float = 0.0
) -> Forcing:
    """Physically consistent synthetic hourly forcing (NumPy float64) for a place and period [D].

    See the module docstring. Snow falls wherever the daily mean temperature is below ~3 °C on wet days
    (e.g. every Lapland winter); LW↓ = ε_a σ T⁴ with Brutsaert clear-sky emissivity and a cloud term, so
    it is consistent with temperature and humidity.
    """
    if n_days < 1:
        raise ValueError(f"n_days must be >= 1, got {n_days}")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"lat must be in [-90, 90], got {lat}")
    rng = np.random.default_rng(seed)
    dn = day_numbers(start, n_days)
    alat = abs(float(lat))
    south = lat < 0
    gam = year_angle(dn, np)
    phase = gam + (np.pi if south else 0.0)  # seasonal phase, 0 at 1 January (NH)
    hours = np.arange(24, dtype=np.float64) + 0.5

    # --- radiation --------------------------------------------------------------------------------
    mu = cos_zenith(dn[:, None], hours[None, :], lat, lon, np)
    mu_pos = np.maximum(mu, 0.0)
    sw_toa = c.SOLAR_CONSTANT * inverse_distance_sq(gam, np)[:, None] * mu_pos
    cloud = np.clip(0.55 + _ar1(rng, n_days, 0.6, 0.3), 0.0, 1.0)
    t_clear = 0.75 * np.exp(-0.05 / np.maximum(mu_pos, 0.05))
    sw = sw_toa * t_clear * (1.0 - 0.72 * cloud[:, None] ** 1.5)
    sw = np.where(mu > 0.0, sw, 0.0)

    # --- temperature -------------------------------------------------------------------------------
    t_mean = np.interp(alat, _LAT, _T_MEAN) - 0.0065 * elevation
    t_amp = np.interp(alat, _LAT, _T_AMP)
    season = -np.cos(phase - 2.0 * np.pi * 20.0 / 365.25)  # minimum ~20 January (NH)
    t_day = t_mean + t_amp * season + _ar1(rng, n_days, 0.8, 0.8 + 2.0 * min(alat / 50.0, 1.0))
    dtr = (4.0 + 9.0 * (1.0 - cloud)) * (
        0.4 + 0.6 * np.clip(sw.sum(1) / np.maximum(sw_toa.sum(1), 1e-9), 0, 1)
    )
    local_solar = (hours[None, :] + lon / 15.0) % 24.0
    t_air = t_day[:, None] + 0.5 * dtr[:, None] * np.cos(2.0 * np.pi * (local_solar - 15.0) / 24.0)
    t_min = t_day - 0.5 * dtr

    # --- precipitation: wet/dry Markov chain, events of a few hours ---------------------------------
    p_ann = np.interp(alat, _LAT, _P_ANN)
    med = np.interp(alat, _LAT, _MED)
    seas = 1.0 + med * 0.9 * np.cos(phase - 2.0 * np.pi * 15.0 / 365.25) + (1.0 - med) * 0.5 * season
    seas = np.maximum(seas, 0.05)
    p_wet = np.clip(0.35 * seas, 0.02, 0.8)
    wet = np.zeros(n_days, dtype=bool)
    u = rng.random(n_days)
    for i in range(n_days):
        p = p_wet[i] * (1.6 if i and wet[i - 1] else 0.8)
        wet[i] = u[i] < min(p, 0.95)
    # expected wet-day amount: the day's share of p_ann divided by the chain's stationary wet-day
    # probability π = P(w|d) / (1 − P(w|w) + P(w|d)) (P(w|w) = min(1.6 p, 0.95), P(w|d) = 0.8 p), not by p
    # itself: persistence makes wet days more frequent than p, which biased the annual totals 20–30 % high
    p_ww, p_wd = np.minimum(1.6 * p_wet, 0.95), 0.8 * p_wet
    mean_amount = p_ann / 365.25 * seas * (1.0 - p_ww + p_wd) / p_wd
    amount = np.where(wet, rng.gamma(0.8, 1.0, n_days) / 0.8 * mean_amount, 0.0)
    start_h = rng.integers(0, 24, n_days)
    dur = rng.integers(2, 9, n_days)
    idx = (np.arange(24)[None, :] - start_h[:, None]) % 24
    mask = idx < dur[:, None]
    precip = np.where(mask, amount[:, None] / dur[:, None], 0.0)
    cloud = np.where(wet, np.maximum(cloud, 0.8), cloud)
    sw = np.where(wet[:, None], np.minimum(sw, sw_toa * 0.35), sw)

    # --- humidity, longwave, pressure, wind, CO2 -----------------------------------------------------
    dew_dep = 1.0 + 6.0 * med * np.clip(-season, 0.0, 1.0) + 2.0 * (1.0 - cloud)
    dew_dep = np.where(wet, 0.5, dew_dep)
    e_a = np.minimum(_es(t_min - dew_dep)[:, None] * np.ones((1, 24)), 0.98 * _es(t_air))
    tk = t_air + c.T_MELT
    eps_clear = 1.24 * (e_a / 100.0 / tk) ** (1.0 / 7.0)
    eps_a = eps_clear + (1.0 - eps_clear) * 0.8 * cloud[:, None] ** 2
    lw = eps_a * c.SIGMA_SB * tk**4
    p_surf = c.P0 * (1.0 - 2.25577e-5 * elevation) ** 5.25588
    pressure = p_surf + 600.0 * _ar1(rng, n_days, 0.7, 1.0)[:, None] * np.ones((1, 24))
    wind_day = np.exp(np.log(3.0) + _ar1(rng, n_days, 0.5, 0.35))
    wind = wind_day[:, None] * (1.0 + 0.3 * np.cos(2.0 * np.pi * (local_solar - 14.0) / 24.0))
    years = 2018.0 + (dn - 1095.0) / 365.25
    co2_ppm = (
        405.0 + 2.4 * (years - 2018.0) + (-1.0 if south else 1.0) * 3.0 * np.cos(phase - 2.0 * np.pi * 0.3)
    )
    co2 = np.repeat(co2_ppm[:, None] * 1e-6, 24, axis=1)

    f = np.float64
    return Forcing(
        sw_down=sw.astype(f),
        lw_down=lw.astype(f),
        t_air=t_air.astype(f),
        precip=precip.astype(f),
        vapour_pressure=e_a.astype(f),
        pressure=pressure.astype(f),
        wind=wind.astype(f),
        co2=co2.astype(f),
        day_number=dn,
    )
