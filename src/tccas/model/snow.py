"""Snow pack: phase partition, sublimation, compaction, degree-day melt, snow albedo (model_spec §3.9 item 2).

BETHY ``mo_hydro.f90`` [B]. Daily step; quantities in mm (= kg m-2), depth in m, density in kg m-3.
Limits are smooth (``smin`` with the hydrological η) and exact: S_new = S − E_sn − M + P_sn,g ≥ 0, with
P_sn,g the snowfall that reaches the ground (snowfall minus canopy interception plus unloading; the
interception is in :mod:`tccas.model.hydrology`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from tccas.model.smooth import maxx, minx, smin, step

_RHO_MIN = 30.0
_RHO_MAX = 550.0  # [D] upper bound of bulk snow density


class SnowStep(NamedTuple):
    swe: object  # [mm]
    depth: object  # [m]
    albedo: object  # [-]
    melt: object  # [mm d-1]
    sublimation: object  # [mm d-1]


def snow_fraction_of_precip(t_mean):
    """f_sn = clip((3.3 − T̄)/4.4, 0, 1) (model_spec §3.9 item 1) [B]; forcing-only."""
    return jnp.clip((3.3 - t_mean) / 4.4, 0.0, 1.0)


def fresh_snow_density(t_mean):
    """ρ0 = 10 + 2.667 (T̄ + 30) below −15 °C, else 50 + 1.7 (T̄ + 15)^1.5, floor 30 (§3.9) [B]."""
    cold = 10.0 + 2.667 * (t_mean + 30.0)
    warm = 50.0 + 1.7 * jnp.maximum(t_mean + 15.0, 0.0) ** 1.5
    return jnp.maximum(jnp.where(t_mean < -15.0, cold, warm), _RHO_MIN)


def snow_cover_fraction(depth, gp):
    """Snow-covered fraction f = h/(h + h_50) [D] (smooth stand-in for BETHY's h_sn > 0 switch, §3.3)."""
    return depth / (depth + gp.snow_cover_depth)


def snow_step(swe, depth, albedo, snow_ground, t_mean, e_ps_pos, rho_floor, gp):
    """One daily snow step of the ground pack (model_spec §3.9 item 2) [B].

    ``snow_ground`` [mm d-1]: snowfall reaching the pack (after canopy interception). Sublimation
    E_sn = smin(f_snow E_ps⁺, S) — the snow-covered share f_snow of the ground's radiation-limited
    potential E_ps⁺ (the soil evaporation gets the rest, so E_sn + E_s ≤ E_ps⁺); density compaction
    ρ ← ρ[1 + 0.0229 e^{−0.021ρ + 0.08T̄} S/2]; melt M = smin(3.22 max(T̄, 0), S − E_sn); then fresh snow
    with density ρ0(T̄). Albedo: +10 P_sn,g/ρ0 capped smoothly at 0.8, ageing −max(0.107 − 0.214 ρ_sn, 0)
    (thawing, deep > 0.25 m), −0.071 (thawing, shallow), −0.006 (freezing), with smooth switches of width
    0.5 °C / 0.02 m [D: wider than BETHY's 0.01 for well-conditioned gradients], floor at the snow-free
    surface albedo ``rho_floor``.
    """
    eta = gp.hydro_eta
    cover = snow_cover_fraction(depth, gp)
    e_sn = smin(cover * e_ps_pos, swe, eta)
    rho = maxx(swe / (depth + 1e-6), _RHO_MIN, 1.0)
    rho = rho * (1.0 + 0.0229 * jnp.exp(-0.021 * rho + 0.08 * t_mean) * swe / 2.0)
    rho = minx(maxx(rho, _RHO_MIN, 1.0), _RHO_MAX, 5.0)
    melt = smin(gp.degree_day * jnp.maximum(t_mean, 0.0), swe - e_sn, eta)
    s1 = swe - e_sn - melt
    rho0 = fresh_snow_density(t_mean)
    new_swe = s1 + snow_ground
    new_depth = s1 / rho + snow_ground / rho0
    alb = minx(albedo + 10.0 * snow_ground / rho0, 0.8, 0.01)
    thaw = step(t_mean, 0.5)
    deep = step(new_depth - 0.25, 0.02)
    ageing = (
        thaw * (deep * maxx(0.107 - 0.214 * alb, 0.0, 0.005) + (1.0 - deep) * 0.071) + (1.0 - thaw) * 0.006
    )
    alb = maxx(alb - ageing, rho_floor, 0.01)
    return SnowStep(new_swe, new_depth, alb, melt, e_sn)
