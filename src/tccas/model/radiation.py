"""Canopy radiation: two-flux PAR absorption in 3 equal-LAI layers, albedos, broadband partition.

model_spec §3.3 (BETHY ``FAPARL`` in ``mo_carbon.f90`` [B], Sellers 1985 two-stream with clumping by the
fractional vegetation cover fc). Shapes broadcast: ``mu``/``f_dir``/``rho_p`` are hourly arrays, ``lai``/
``fc`` per tile. Per-layer arrays carry the layer axis first, (3, …hourly shape), so hourly arrays broadcast
against them without reshaping and the hour axis stays the innermost (vectorised) one: with the layer axis
last (size 3) the model gradient was ≈ 17 % slower on CPU (benchmarks/README.md) [D]. The model outputs
(contract C1) are transposed back to layer-last in :mod:`tccas.model.core`.
"""

from __future__ import annotations

import jax.numpy as jnp

from tccas.model import constants as c
from tccas.model.smooth import maxx, safe_pos


def soil_albedo(rel_wetness, site):
    """Snow-free soil albedo ρ_s = x ρ_wet + (1 − x) ρ_dry with x = relative surface wetness [D].

    model_spec §3.3 uses x = clip((f_soil − 0.9)/0.1, 0, 1) on the root zone [B]; the surface layer W_s
    of this implementation is what the eye (and the satellite) sees, so x = W_s/W_s,max is used instead
    (smooth and in [0, 1] by construction of the hydrology) [D].
    """
    return rel_wetness * site.soil_albedo_wet + (1.0 - rel_wetness) * site.soil_albedo_dry


def snow_surface_albedo(snow_albedo, mu, cloud):
    """Zenith-angle corrected snow albedo (model_spec §3.3) [B].

    ρ = ρ_sn + (1 − ρ_sn) ρ_sn³ [n² + (1 − 1.3 n²) exp(1 − (1 − μ)⁻²)], n = cloud fraction.
    """
    mu_c = jnp.clip(mu, 0.0, 0.999)
    zen = jnp.exp(1.0 - 1.0 / (1.0 - mu_c) ** 2)
    return snow_albedo + (1.0 - snow_albedo) * snow_albedo**3 * (cloud**2 + (1.0 - 1.3 * cloud**2) * zen)


def layer_depths(n, ndim):
    """Relative cumulative depths 0, 1/3, 2/3, … of ``n`` layer boundaries as a (n, 1, …) column that
    broadcasts against arrays of ``ndim`` dimensions (layer axis first, model_spec §3.3)."""
    return (jnp.arange(n, dtype=jnp.float64) / c.N_LAYERS).reshape((n,) + (1,) * ndim)


def two_stream_layers(lai, fc, mu, f_dir, rho_s, omega):
    """Fraction of incident PAR absorbed per layer, ΔF_l (3, …), and FAPAR (model_spec §3.3) [B].

    Effective depth ℓ' = ℓ/fc; ΔF_l = fc [N(L_{l−1}) − N(L_l)]. The growing exponential e^{+hℓ/fc} is
    evaluated in the rescaled form (1 − p1) B1' e^{h(ℓ − L)/fc}, B1' = B1 E_h, so nothing overflows for
    large LAI. Night hours (μ < 1e-3) return 0. Valid (finite, gradient-safe) at LAI = 0.
    """
    day = mu > c.MU_NIGHT
    mu_e = jnp.where(day, mu, 0.5)
    rho_p = maxx(0.92 * rho_s - 0.015, 0.0, 0.01)
    h = jnp.sqrt(1.0 - omega)
    p1 = 2.0 * (1.0 - 0.5 * omega + h) / omega
    p2 = 1.0 / p1
    k = 0.5 / mu_e
    k = jnp.where(jnp.abs(k - h) < 1e-9, k + 1e-9, k)
    x = 1.0 - 4.0 * mu_e**2 * h**2
    q1 = (1.0 + 2.0 * mu_e) * (0.5 * omega) / x
    q2 = (1.0 - 2.0 * mu_e) * (0.5 * omega) / x
    big_l = lai / fc
    e_k = jnp.exp(-k * big_l)
    e_h = jnp.exp(-h * big_l)
    fdir = jnp.where(day, f_dir, 0.0)
    f_tot = 1.0 - fdir + q1 * fdir
    eta_b = (rho_p * (1.0 - q1) - q2) * e_k
    a1 = p1 - rho_p  # Γ1 E_h
    g2 = (p2 - rho_p) * e_h  # Γ2
    num = eta_b * fdir - f_tot * g2
    # B1 E_h = (η_b f − F Γ2) E_h / (a1 − Γ2 E_h);  B2 = (η_b f − F a1/E_h)/(Γ2 − a1/E_h)
    b1s = num * e_h / (a1 - g2 * e_h)
    b2 = (eta_b * fdir * e_h - f_tot * a1) / (g2 * e_h - a1)
    ell = layer_depths(c.N_LAYERS + 1, jnp.ndim(big_l)) * big_l  # cumulative depth at the layer tops
    n_net = (
        (1.0 - q1 - q2) * fdir * jnp.exp(-k * ell)
        + ((1.0 - p1) * b1s) * jnp.exp(h * (ell - big_l))
        + ((1.0 - p2) * b2) * jnp.exp(-h * ell)
    )
    dfl = jnp.where(day, fc * (n_net[:-1] - n_net[1:]), 0.0)
    return dfl, jnp.sum(dfl, axis=0)


def layer_apar(dfl, par_umol, lai):
    """APAR_l = ΔF_l Q / LAI_l [µmol m-2 leaf s-1] (model_spec §3.3); LAI_l floored smoothly at 1e-4."""
    lai_l = safe_pos(lai / c.N_LAYERS, 1e-4)
    return dfl * par_umol / lai_l


def broadband(fapar, rho_s, lai, fc, gp):
    """SW absorptivities and LW transmissivity (model_spec §3.3) [B][T].

    a_v = (1 − ρ_veg − a_s0) FAPAR, a_s = 1 − ρ_s − (1 − ρ_s − a_s0) FAPAR, ρ_tot = 1 − a_v − a_s,
    t_LV = (1 − fc) + fc exp(−LAI/fc) (D&B ``tl_c`` [T]).
    """
    a_v = (1.0 - gp.rho_veg - gp.a_s0) * fapar
    a_s = 1.0 - rho_s - (1.0 - rho_s - gp.a_s0) * fapar
    t_lv = (1.0 - fc) + fc * jnp.exp(-lai / fc)
    return a_v, a_s, 1.0 - a_v - a_s, t_lv
