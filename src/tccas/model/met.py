"""Meteorology and solar geometry (model_spec §3.1, BETHY ``mo_climate.f90`` / ``surface.f90`` [B]).

Forcing-only quantities (solar geometry, PAR partition, humidity terms at air temperature) carry no
parameter dependence, so plain ``where``/``minimum`` are used there; everything that depends on state or
parameters uses the smooth forms of :mod:`tccas.model.smooth`.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from tccas.model import constants as c
from tccas.model.smooth import maxx

_DAYS_PER_YEAR_ORBIT = 365.2422


def year_angle(day_number, xp=jnp):
    """Fractional-year angle Γ = 2π (doy − 1)/365.2422 from days since 2015-01-01 (model_spec §2.2) [rad]."""
    return 2.0 * np.pi * xp.mod(day_number, _DAYS_PER_YEAR_ORBIT) / _DAYS_PER_YEAR_ORBIT


def declination(gam, xp=jnp):
    """Solar declination δ [rad], Spencer (1971) Fourier series (model_spec §3.1)."""
    return (
        0.006918
        - 0.399912 * xp.cos(gam)
        + 0.070257 * xp.sin(gam)
        - 0.006758 * xp.cos(2 * gam)
        + 0.000907 * xp.sin(2 * gam)
        - 0.002697 * xp.cos(3 * gam)
        + 0.00148 * xp.sin(3 * gam)
    )


def inverse_distance_sq(gam, xp=jnp):
    """Sun-Earth distance factor d⁻² (5-term Fourier series, Spencer 1971; model_spec §3.1) [-]."""
    return (
        1.000110
        + 0.034221 * xp.cos(gam)
        + 0.001280 * xp.sin(gam)
        + 0.000719 * xp.cos(2 * gam)
        + 0.000077 * xp.sin(2 * gam)
    )


def equation_of_time(gam, xp=jnp):
    """Equation of time [h] (Spencer 1971)."""
    minutes = 229.18 * (
        0.000075
        + 0.001868 * xp.cos(gam)
        - 0.032077 * xp.sin(gam)
        - 0.014615 * xp.cos(2 * gam)
        - 0.040849 * xp.sin(2 * gam)
    )
    return minutes / 60.0


def cos_zenith(day_number, hour_utc, lat, lon, xp=jnp):
    """μ = sin φ sin δ + cos φ cos δ cos ω_h at UTC hour ``hour_utc`` (use mid-hour, e.g. h + 0.5).

    model_spec §3.1. ``lat``/``lon`` in degrees; the result is not clipped (negative at night).
    """
    gam = year_angle(day_number, xp)
    dec = declination(gam, xp)
    solar_time = hour_utc + lon / 15.0 + equation_of_time(gam, xp)
    omega = (solar_time - 12.0) * (np.pi / 12.0)
    phi = lat * (np.pi / 180.0)
    return xp.sin(phi) * xp.sin(dec) + xp.cos(phi) * xp.cos(dec) * xp.cos(omega)


def cos_zenith_noon(day_number, lat, xp=jnp):
    """μ at local solar noon, cos(φ − δ) (model_spec §3.4, nitrogen scaling)."""
    dec = declination(year_angle(day_number, xp), xp)
    phi = lat * (np.pi / 180.0)
    return xp.sin(phi) * xp.sin(dec) + xp.cos(phi) * xp.cos(dec)


def potential_sw(mu, pressure, day_number, xp=jnp):
    """Clear-sky potential SW↓ and transmissivities (model_spec §3.1) [B].

    Returns ``(sw_pot [W m-2], t_dir, t_tot)`` with Q_TOA = 600 d⁻² μ (PAR), t_dir = exp(−0.185 p/(p0 μ)),
    t_tot = 0.4 + 0.6 t_dir and SW_pot = Q_TOA t_tot / 0.43.
    """
    mu_pos = xp.maximum(mu, c.MU_NIGHT)
    q_toa = c.SOLAR_PAR_CONSTANT * inverse_distance_sq(year_angle(day_number, xp), xp) * mu_pos
    t_dir = xp.exp(-0.185 * pressure / (c.P0 * mu_pos))
    t_tot = 0.4 + 0.6 * t_dir
    sw_pot = xp.where(mu > c.MU_NIGHT, q_toa * t_tot / 0.43, 0.0)
    return sw_pot, t_dir, t_tot


def par_partition(sw_down, mu, pressure, day_number):
    """PAR photon flux, direct fraction and clearness (model_spec §3.1) [B].

    The clearness ratio r = ΣSW↓/ΣSW_pot is taken over the day (last axis = 24 hours) as BETHY does,
    avoiding noise at low sun [D]. Returns ``(par_umol [µmol m-2 s-1], f_dir, r', i_tot [mol m-2 s-1])``.
    """
    sw_pot, t_dir, t_tot = potential_sw(mu, pressure, day_number[..., None])
    r = jnp.sum(sw_down, axis=-1, keepdims=True) / jnp.maximum(jnp.sum(sw_pot, axis=-1, keepdims=True), 1e-6)
    r_c = jnp.minimum(r, 0.9)
    mu_pos = jnp.maximum(mu, 0.0)
    c_f = 0.43 + 0.25 * (1.0 - r_c) * mu_pos
    par_w = c_f * sw_down
    f_dir = (t_dir / t_tot) * jnp.clip(1.0 - ((0.9 - r_c) / 0.7) ** (2.0 / 3.0), 0.0, 1.0)
    f_dir = jnp.where(mu > c.MU_NIGHT, f_dir, 0.0)
    par_umol = par_w / c.E_PAR * 1e6
    return par_umol, f_dir, r_c, sw_down / c.E_PAR


def sat_vapour_pressure(t, xp=jnp):
    """Saturation vapour pressure e_s [Pa] and slope s [Pa K-1] over water/ice, T in °C (model_spec §3.1).

    Forcing-only (air temperature), so the phase switch is a plain ``where``.
    """
    a = xp.where(t >= 0.0, 17.269, 22.33)
    b = xp.where(t >= 0.0, 237.3, 271.15)
    es = 610.78 * xp.exp(a * t / (b + t))
    return es, a * b * es / (b + t) ** 2


def latent_heat(t):
    """λ [J kg-1]: 3.1512e6 − 2380 T_K above 0 °C, 2.834e6 (sublimation) below (model_spec §3.1) [B]."""
    return jnp.where(t >= 0.0, 3.1512e6 - 2380.0 * (t + c.T_MELT), 2.834e6)


def air_terms(t_air, vapour_pressure, pressure):
    """Hourly air properties (model_spec §3.1): ``(es, s, vpd, lam, gamma, rho_a)``.

    γ = p c_p/(ε λ) [Pa K-1]; ρ_a = p M_d 1e-3/(R T_K) [kg m-3]; VPD = max(e_s − e_a, 0) [Pa].
    """
    es, s = sat_vapour_pressure(t_air)
    vpd = jnp.maximum(es - vapour_pressure, 0.0)
    lam = latent_heat(t_air)
    gamma = pressure * c.CP_AIR / (c.EPS_WATER * lam)
    rho_a = pressure * c.M_DRY_AIR * 1e-3 / (c.R_GAS * (t_air + c.T_MELT))
    return es, s, vpd, lam, gamma, rho_a


def aerodynamic_conductance(wind, height, gp):
    """g_a = κ² u / [ln(z_ref/(z0_frac h) + d_term)]², smooth floor ga_min [m s-1] (model_spec §3.1) [B].

    Reproduces the D&B output g_a = 0.16681 m s-1 for h = 15 m, u = 3 m s-1 (model_spec §0) [T].
    """
    ln_term = jnp.log(gp.z_ref / (gp.z0_frac * height) + gp.d_term)
    ga = c.KARMAN**2 * wind / ln_term**2
    return maxx(ga, gp.ga_min, 0.1 * gp.ga_min)


def brunt_longwave(t_air, vapour_pressure, cloud):
    """BETHY fallback for net long-wave without LW↓ forcing (model_spec §3.6) [B] [W m-2].

    L_net = σT_K⁴[(1 + 0.22 n²) 0.64 (e_a/T_K)^{1/7} − 0.97] with e_a in Pa as in BETHY.
    """
    tk = t_air + c.T_MELT
    ea = jnp.maximum(vapour_pressure, 1.0)
    return c.SIGMA_SB * tk**4 * ((1.0 + 0.22 * cloud**2) * 0.64 * (ea / tk) ** (1.0 / 7.0) - 0.97)
