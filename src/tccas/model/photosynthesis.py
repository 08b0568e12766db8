"""Leaf photosynthesis: Farquhar et al. (1980) C3 and Collatz et al. (1992) C4, two passes.

model_spec §3.5 (BETHY ``PHSYN1``/``PHSYN2`` in ``mo_carbon.f90`` [B], Knorr 2000). Units inside this
module: fluxes in µmol m-2 (leaf) s-1, CO2/O2 as mole fractions [mol mol-1], conductances to CO2 as
``G`` in µmol m-2 s-1 per unit mole fraction (= mol m-2 s-1 × 1e6), temperatures in °C.
Both pathways are evaluated and blended with the 0/1 C4 flag of the tile, so a vmapped batch can mix PFTs.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from tccas.model import constants as c
from tccas.model.adjoint import cotangent_barrier
from tccas.model.smooth import maxx, smin


def arrhenius(e_act, t):
    """f_E(T) = exp(E (T_K − 298.16)/(298.16 R T_K)) relative to 25 °C (model_spec §3.5) [B]."""
    tk = t + c.T_MELT
    return jnp.exp(e_act * (tk - c.T_REF_K) / (c.T_REF_K * c.R_GAS * tk))


def high_t_inhibition(t):
    """H(T) = 1/(1 + exp(1.3 (T − 55))) (model_spec §3.5) [B]."""
    return 1.0 / (1.0 + jnp.exp(1.3 * (t - 55.0)))


def cold_inhibition(t):
    """C(T) = 1/(1 + exp(−10 T)), applied to canopy totals (model_spec §3.5) [B]."""
    return 1.0 / (1.0 + jnp.exp(-10.0 * t))


def dark_inhibition(i_tot):
    """D(I) = 0.5 + exp(−ln 2 − I_tot·1e6/10), I_tot in mol m-2 s-1 (model_spec §3.5) [B]."""
    return 0.5 + jnp.exp(-jnp.log(2.0) - i_tot * 1e6 / 10.0)


class LeafCapacity(NamedTuple):
    """Temperature-scaled leaf capacities of one pass (µmol m-2 s-1 unless noted)."""

    vm: object  # V_m
    jm: object  # J_m (C3) ; k (C4, µmol m-2 s-1 per mole fraction)
    rd: object  # dark respiration R_d
    gam: object  # Γ* [mol mol-1]
    k2: object  # K_c (1 + O/K_o) [mol mol-1]
    h: object  # H(T)


def capacities(t, n_l, i_tot, tp, gp, c4):
    """V_m, J_m / k, R_d, Γ*, K2, H at leaf temperature ``t`` (model_spec §3.5) [B].

    ``n_l`` has the leading layer axis (model_spec §3.3 layer arrays, see :mod:`tccas.model.radiation`);
    ``t``/``i_tot`` are hourly arrays and broadcast against it.

    J_m = a_JV V_m25 n_l T/25 is linear in °C in BETHY and turns negative below 0 °C; the temperature is
    floored smoothly at 0 here (width 0.5 K) [D], so J_m ≥ 1e-12 (gross A is zero in frost anyway via
    C(T)). Γ* = γ_T max(T, 0) uses the same smooth floor. C4: k = k25 n_l f_{E_K}(T), k25 = a_JV·1e3.
    """
    tpos = maxx(t, 0.0, 0.5)
    h = high_t_inhibition(t)
    vm25 = tp.vcmax25 * n_l
    vm = vm25 * arrhenius(gp.e_v, t)
    jm_c3 = tp.ajv * vm25 * tpos / 25.0 + 1e-12
    k_c4 = tp.ajv * 1e3 * n_l * arrhenius(gp.e_k, t)
    jm = c4 * k_c4 + (1.0 - c4) * jm_c3
    frd = c4 * gp.frd_c4 + (1.0 - c4) * gp.frd_c3
    rd = frd * vm25 * arrhenius(gp.e_r, t) * h * dark_inhibition(i_tot)
    gam = (1.0 - c4) * gp.gamma_t * tpos
    kc = gp.kc25 * arrhenius(gp.e_c, t)
    ko = gp.ko25 * arrhenius(gp.e_o, t)
    k2 = kc * (1.0 + c.O2_MOLE_FRACTION / ko)
    return LeafCapacity(vm, jm, rd, gam, k2, h)


def electron_transport(q_l, cap, gp):
    """Potential C3 electron transport J = α Q J_m / sqrt(J_m² + (α Q)²) (model_spec §3.5) [B]."""
    aq = gp.alpha * q_l
    return aq * cap.jm / jnp.sqrt(cap.jm**2 + aq**2)


def c4_light_rate(q_l, cap, gp):
    """C4 light-limited rate J_E = J0 − sqrt(J0² − V_m α_i Q/θ), stable root form (model_spec §3.5) [B]."""
    aq = gp.alpha_i * q_l
    j0 = (aq + cap.vm) / (2.0 * gp.theta_c4)
    prod = cap.vm * aq / gp.theta_c4
    rad = jnp.maximum(j0**2 - prod, 0.0) + 1e-30
    return prod / (j0 + jnp.sqrt(rad) + 1e-30)


class Pass1(NamedTuple):
    a_gross: object  # µmol m-2 s-1
    rd: object
    g_s0: object  # stomatal conductance to water vapour [m s-1]


def pass1(q_l, t, ca, pressure, i_tot, n_l, tp, gp, c4):
    """Unstressed pass at Ci = f_ci C_a and leaf temperature = air temperature (model_spec §3.5) [B].

    ``q_l``/``n_l`` have the leading layer axis; ``t``, ``ca``, ``pressure``, ``i_tot`` are hourly arrays that
    broadcast against them.

    g_s0 = 1.6 (A − R_d) R T_K / (p (C_a − Ci)) floored smoothly at g_min (``maxx`` width 10 g_min).
    """
    cap = cotangent_barrier(capacities(t, n_l, i_tot, tp, gp, c4))
    fci = c4 * gp.fci_c4 + (1.0 - c4) * gp.fci_c3
    ci = fci * ca
    j = cotangent_barrier(electron_transport(q_l, cap, gp))
    je_c3 = j * (ci - cap.gam) / (4.0 * (ci + 2.0 * cap.gam))
    jc_c3 = cap.vm * (ci - cap.gam) / (ci + cap.k2)
    je_c4 = c4_light_rate(q_l, cap, gp)
    jc_c4 = cap.jm * ci
    je = c4 * je_c4 + (1.0 - c4) * je_c3
    jc = c4 * jc_c4 + (1.0 - c4) * jc_c3
    a = smin(je, jc, gp.eta) * cap.h
    tk = t + c.T_MELT
    gs = 1.6 * (a - cap.rd) * 1e-6 * c.R_GAS * tk / (pressure * (ca - ci))
    gs = maxx(gs, gp.g_min, 10.0 * gp.g_min)
    return Pass1(a, cap.rd, gs)


def _small_root(b, cc):
    """Smaller root of z² − b z + cc = 0 in the cancellation-free form 2cc/(b + sqrt(b² − 4cc))."""
    rad = jnp.maximum(b * b - 4.0 * cc, 0.0) + 1e-30
    return 2.0 * cc / (b + jnp.sqrt(rad))


class Pass2(NamedTuple):
    a_gross: object  # A (gross, with H) [µmol m-2 s-1]
    rd: object
    ci: object  # [mol mol-1]
    j_a: object  # actual electron transport [µmol m-2 s-1]
    j_pot: object  # potential electron transport J (C3) / light-limited rate ×4 (C4)


def pass2(q_l, t, ca, pressure, i_tot, g_s, n_l, tp, gp, c4):
    """Stressed pass with given stomatal conductance and canopy temperature (model_spec §3.5) [B].

    G = g_s p/(1.6 R T_K); A_n = G (C_a − Ci) combined with each limitation gives quadratics whose
    smaller roots are J_E and J_C (C3) — for C4 J_C = (G C_a + R_d)/(1 + G/k). A = smin(J_E, J_C)·H;
    Ci = C_a − max(A − R_d, 0)/max(G, 1e-6) (both maxima smooth). Actual electron transport (SIF, obs_da
    §3.2): J_a = A (4 Ci + 8 Γ*)/(Ci − Γ*) with Γ* = 0 for C4 (4 e- per CO2) [D].
    """
    cap = cotangent_barrier(capacities(t, n_l, i_tot, tp, gp, c4))
    tk = t + c.T_MELT
    g = g_s * pressure / (1.6 * c.R_GAS * tk) * 1e6
    j = cotangent_barrier(electron_transport(q_l, cap, gp))
    b_e = cap.rd + 0.25 * j + g * (ca + 2.0 * cap.gam)
    je_c3 = _small_root(b_e, 0.25 * j * (g * (ca - cap.gam) + cap.rd))
    b_c = cap.rd + cap.vm + g * (ca + cap.k2)
    jc_c3 = _small_root(b_c, cap.vm * (g * (ca - cap.gam) + cap.rd))
    je_c4 = c4_light_rate(q_l, cap, gp)
    jc_c4 = (g * ca + cap.rd) / (1.0 + g / cap.jm)
    je = c4 * je_c4 + (1.0 - c4) * je_c3
    jc = c4 * jc_c4 + (1.0 - c4) * jc_c3
    a = smin(je, jc, gp.eta) * cap.h
    ci = ca - maxx(a - cap.rd, 0.0, 1e-3) / maxx(g, 1.0, 0.1)
    ci_safe = maxx(ci - cap.gam, 1e-6, 1e-6)
    j_a = a * (4.0 * (ci_safe + cap.gam) + 8.0 * cap.gam) / ci_safe
    j_pot = c4 * 4.0 * je_c4 + (1.0 - c4) * j
    return Pass2(a, cap.rd, ci, j_a, j_pot)
