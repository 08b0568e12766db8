"""DALEC2 carbon pools and phenology (model_spec §3.2, §3.8; CARDAMOM DALEC_400 [C], Bloom & Williams 2015).

One step of length ``dt`` days (1 for the daily default, 1/24 for ``dalec_step='hourly'``), using exact
per-step fractions 1 − (1 − k)^Δt. Fire fluxes of DALEC_400 are omitted (not part of D&B v1.0).
Every smooth guard books its correction to a flux so that carbon is conserved to round-off (§5.2 item 2):
ΣC(t+Δt) − ΣC(t) = (GPP − Ra − Rh) Δt with Ra the *effective* autotrophic respiration.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from tccas.model import constants as c
from tccas.model.parameters import Pools
from tccas.model.smooth import maxx, minx

_OFFSET_COEF = (
    2.3599784710e-5,
    3.32730053021e-4,
    9.01865258885e-4,
    -5.437736864888e-3,
    -2.0836027517787e-2,
    0.126972018064287,
    -0.188459767342504,
)
_SF = c.DAYS_PER_YEAR / np.pi
_LAB_LIFESPAN = 1.001
_NPP_WIDTH = 1e-5  # gC m-2 d-1: width of the smooth positive part of NPP (small: at NPP ≈ 0 it shifts
# w/e ≈ 4e-6 gC m-2 d-1 from labile to the other pools, harmless even for sapling-sized pools)
_LAB_WIDTH = 1e-3  # gC m-2: width of the smooth floor of C_lab
_RATE_CAP = 0.99  # smooth cap of per-day fractional losses


def offset(lifespan, w):
    """Phase offset of the phenology pulses, offset(L, w) = w Σ m_i (ln(L−1))^{6−i} (model_spec §3.2) [C]."""
    x = jnp.log(lifespan - 1.0)
    poly = jnp.zeros_like(x)
    for m in _OFFSET_COEF:
        poly = poly * x + m
    return w * poly


def _pulse(t, peak_day, period, lifespan):
    """(2/√π)(f/w) exp(−[sin((t − d + os)/sf) sf/w]²), f = [ln L − ln(L−1)]/2, w = period √2/2 (§3.2) [C]."""
    w = period * np.sqrt(2.0) / 2.0
    f = (jnp.log(lifespan) - jnp.log(lifespan - 1.0)) / 2.0
    os = offset(lifespan, w)
    arg = jnp.sin((t - peak_day + os) / _SF) * _SF / w
    return (2.0 / np.sqrt(np.pi)) * (f / w) * jnp.exp(-(arg**2))


def leaffall_factor(t, tp, shift=0.0):
    """Φ_f(t): fraction of C_fol lost per day (model_spec §3.2) [C]; ``shift`` = 182.6 d for the SH [D]."""
    return _pulse(t, tp.d_fall + shift, tp.c_rfall, tp.leaf_lifespan)


def labrelease_factor(t, tp, shift=0.0):
    """Φ_l(t): fraction of C_lab released to foliage per day (L = 1.001) (model_spec §3.2) [C]."""
    return _pulse(t, tp.d_onset + shift, tp.c_ronset, jnp.asarray(_LAB_LIFESPAN))


def _frac(k, dt):
    """Per-day rate equivalent of a step loss: [1 − (1 − k)^Δt]/Δt, k smoothly capped at 0.99 (§3.8)."""
    k = minx(k, _RATE_CAP, 0.005)
    return -jnp.expm1(dt * jnp.log1p(-k)) / dt


class DalecFluxes(NamedTuple):
    """The 16 DALEC2 output fluxes of model_spec §0 (rates in gC m-2 d-1, factors in d-1 or 1)."""

    gpp: object
    temprate: object
    respiration_auto: object
    leaf_production: object
    labile_production: object
    root_production: object
    wood_production: object
    labile_release: object
    leaffall_factor: object
    leaf_litter_production: object
    woodlitter_production: object
    rootlitter_production: object
    respiration_het_litter: object
    respiration_het_som: object
    litter2som: object
    labrelease_factor: object


DALEC_FLUX_NAMES: tuple[str, ...] = DalecFluxes._fields


def dalec_step(pools: Pools, gpp, ra, t_mean, t_day, tp, dt=1.0, shift=0.0):
    """Advance the 6 pools by one step (model_spec §3.8) [C].

    ``gpp``/``ra`` in gC m-2 d-1 (rates over the step), ``t_mean`` °C, ``t_day`` DALEC day number.
    Negative NPP is debited from the labile pool: the smooth positive part P = maxx(NPP, 0) is allocated
    with the fractions and N = NPP − P goes to F_lab, so F_fol + F_lab + F_roo + F_woo = NPP exactly
    and foliage/root/wood stay ≥ 0 [D]. If C_lab cannot cover the debit, the smooth floor's correction
    is booked to Ra (respiration limited by available substrate), keeping ΣΔC = (GPP − Ra_eff − Rh)Δt.
    Litter losses (Rh_lit + D_lit) share one capped rate so C_lit stays ≥ 0 [D].
    Returns ``(new_pools, DalecFluxes)`` where ``respiration_auto`` is the effective Ra.
    """
    temprate = jnp.exp(tp.temp_sens * t_mean)
    npp = gpp - ra
    pos = maxx(npp, 0.0, _NPP_WIDTH)
    neg = npp - pos
    f_fol = pos * tp.f_fol
    f_lab = (pos - f_fol) * tp.f_lab
    f_roo = (pos - f_fol - f_lab) * tp.f_roo
    f_woo = pos - f_fol - f_lab - f_roo
    f_lab = f_lab + neg
    phi_f = leaffall_factor(t_day, tp, shift)
    phi_l = labrelease_factor(t_day, tp, shift)
    rel = pools.lab * _frac(phi_l, dt)
    l_fol = pools.fol * _frac(phi_f, dt)
    l_woo = pools.woo * _frac(tp.theta_woo, dt)
    l_roo = pools.roo * _frac(tp.theta_roo, dt)
    k_lit = temprate * (tp.theta_lit + tp.theta_min)
    lit_loss = pools.lit * _frac(k_lit, dt)
    rh_lit = lit_loss * tp.theta_lit / (tp.theta_lit + tp.theta_min)
    d_lit = lit_loss - rh_lit
    rh_som = pools.som * _frac(temprate * tp.theta_som, dt)
    lab_raw = pools.lab + (f_lab - rel) * dt
    lab = maxx(lab_raw, 0.0, _LAB_WIDTH)
    corr = (lab - lab_raw) / dt  # >= 0: carbon not respired for lack of substrate
    f_lab = f_lab + corr
    ra_eff = ra - corr
    new = Pools(
        lab=lab,
        fol=pools.fol + (f_fol + rel - l_fol) * dt,
        roo=pools.roo + (f_roo - l_roo) * dt,
        woo=pools.woo + (f_woo - l_woo) * dt,
        lit=pools.lit + (l_fol + l_roo - rh_lit - d_lit) * dt,
        som=pools.som + (d_lit + l_woo - rh_som) * dt,
    )
    fluxes = DalecFluxes(
        gpp=gpp,
        temprate=temprate,
        respiration_auto=ra_eff,
        leaf_production=f_fol,
        labile_production=f_lab,
        root_production=f_roo,
        wood_production=f_woo,
        labile_release=rel,
        leaffall_factor=phi_f,
        leaf_litter_production=l_fol,
        woodlitter_production=l_woo,
        rootlitter_production=l_roo,
        respiration_het_litter=rh_lit,
        respiration_het_som=rh_som,
        litter2som=d_lit,
        labrelease_factor=phi_l,
    )
    return new, fluxes


def steady_state_pools(npp, temprate, k_f, k_l, tp) -> Pools:
    """Analytic DALEC2 steady state for constant NPP and temprate (model_spec §6.2) [C].

    ``k_f``/``k_l``: annual-mean leaf-fall / labile-release factors [d-1]; NPP [gC m-2 d-1] ≥ 0.
    C_lab* = F_lab/k_l, C_fol* = (F_fol + F_rel*)/k_f, C_roo* = F_roo/θ_roo, C_woo* = F_woo/θ_woo,
    C_lit* = (L_fol* + L_roo*)/(τ(θ_lit + θ_min)), C_som* = (τ θ_min C_lit* + L_woo*)/(τ θ_som).
    """
    f_fol = npp * tp.f_fol
    f_lab = (npp - f_fol) * tp.f_lab
    f_roo = (npp - f_fol - f_lab) * tp.f_roo
    f_woo = npp - f_fol - f_lab - f_roo
    lab = f_lab / k_l
    fol = (f_fol + f_lab) / k_f
    roo = f_roo / tp.theta_roo
    woo = f_woo / tp.theta_woo
    lit = (f_fol + f_lab + f_roo) / (temprate * (tp.theta_lit + tp.theta_min))
    som = (temprate * tp.theta_min * lit + f_woo) / (temprate * tp.theta_som)
    return Pools(lab, fol, roo, woo, lit, som)
