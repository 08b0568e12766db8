"""Water stress, stomatal conductance and canopy temperature (model_spec §3.6, §3.10; BETHY surface.f90 [B]).

Evaporative fluxes are handled in mm h-1 (= kg m-2 h-1) so that the smooth supply-demand minimum works
on O(0.01–1) numbers; energies in W m-2.
"""

from __future__ import annotations

from typing import NamedTuple

from tccas.model import constants as c
from tccas.model.smooth import maxx, smin

_E_FLOOR = 3.6e-9  # 1e-12 kg m-2 s-1 in mm h-1: smooth floor of the demand (model_spec §3.6: 1e-15 .. 1e-12)


class CanopyWater(NamedTuple):
    e_t: object  # transpiration [mm h-1]
    e_d: object  # demand (unstressed PM transpiration, >= 0) [mm h-1]
    e_pc: object  # wet-canopy potential evaporation [mm h-1]
    e_ps: object  # equilibrium potential soil evaporation [mm h-1]
    beta: object  # g_c / g_c0 in [0, 1]
    t_c: object  # canopy temperature [degC]
    r_nc: object  # canopy net radiation [W m-2]
    r_ns: object  # soil net radiation [W m-2]
    g_soil: object  # soil heat flux [W m-2]
    h_c: object  # canopy sensible heat [W m-2]
    le_t: object  # latent heat of transpiration [W m-2]


def net_radiation(l_net, sw_down, a_v, a_s, t_lv, gp):
    """Canopy/soil net radiation and soil heat flux (model_spec §3.6) [B].

    G_s = g_frac (L_net + (a_v + a_s) SW↓); R_nc = (1 − t_LV)(L_net − G_s) + a_v SW↓;
    R_ns = t_LV (L_net − G_s) + a_s SW↓.
    """
    g_s = gp.g_frac * (l_net + (a_v + a_s) * sw_down)
    r_nc = (1.0 - t_lv) * (l_net - g_s) + a_v * sw_down
    r_ns = t_lv * (l_net - g_s) + a_s * sw_down
    return r_nc, r_ns, g_s


def canopy_water(r_nc, r_ns, g_s, g_c0, g_a, t_air, vpd, s, gamma, lam, rho_a, e_sup):
    """Supply-demand transpiration, stressed conductance ratio and canopy temperature (model_spec §3.6).

    X = s R_nc + ρ_a c_p D g_a;  E_d = X g_c0/((s + γ) g_c0 + γ g_a)/λ (PM demand, written without 1/g_c0
    so that it is finite at g_c0 = 0);  E_pc = X/(s + γ)/λ;  E_ps = s R_ns/(s + γ)/λ;
    E_t = smin(E_d⁺, E_sup; 0.99) with E_d⁺ the demand smoothly floored at 1e-12 kg m-2 s-1 (dew ignored);
    BETHY's extra floor on E_t (needed there to divide by E_t) is unnecessary with the form below.
    Inverting Penman-Monteith for g_c at E_t gives, with ε = E_t/E_d⁺, the exact closed form
    β = g_c/g_c0 = γ g_a ε / (γ g_a + (1 − ε)(s + γ) g_c0) ∈ [0, 1] — algebraically identical to
    model_spec's g_c = g_a/((X/(λE_t) − s)/γ − 1) but free of the X → 0 singularity; PM with g_c = β g_c0
    returns E_t exactly (consistency required by §3.6).
    Canopy temperature: T_c = T_a + (R_nc − λE_t)/(ρ_a c_p g_a), i.e. H_c = R_nc − λE_t exactly (§3.10
    closure, §6.4). model_spec's BETHY form divides the absorbed SW by (1 − t_LV) (per unit canopy
    cover) but not λE_t; the closure form is used so that R_nc = H_c + λE_t holds (good science wins) and
    T_c → T_a as LAI → 0.
    """
    to_mm_h = c.SECONDS_PER_HOUR / lam
    x = s * r_nc + rho_a * c.CP_AIR * vpd * g_a
    e_d = x * g_c0 / ((s + gamma) * g_c0 + gamma * g_a) * to_mm_h
    e_pc = x / (s + gamma) * to_mm_h
    e_ps = s * r_ns / (s + gamma) * to_mm_h
    e_dp = maxx(e_d, _E_FLOOR, _E_FLOOR)
    e_t = smin(e_dp, e_sup, 0.99)  # in [0, E_d⁺]: sign-preserving, no further floor needed
    eps = e_t / e_dp
    beta = gamma * g_a * eps / (gamma * g_a + (1.0 - eps) * (s + gamma) * g_c0)
    le_t = e_t * lam / c.SECONDS_PER_HOUR
    h_c = r_nc - le_t
    t_c = t_air + h_c / (rho_a * c.CP_AIR * g_a)
    return CanopyWater(e_t, e_dp, e_pc, e_ps, beta, t_c, r_nc, r_ns, g_s, h_c, le_t)


def longwave_net(lw_down, t_air):
    """Isothermal net long-wave with LW↓ forcing, LW↓ − 0.97 σ T_a⁴ (model_spec §3.6) [D]."""
    return lw_down - c.EMISSIVITY_SURFACE * c.SIGMA_SB * (t_air + c.T_MELT) ** 4
