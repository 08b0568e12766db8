"""DALEC2 carbon pools and phenology (model_spec §3.2, §3.8; CARDAMOM DALEC_400 [C], Bloom & Williams 2015).

One step of length ``dt`` days (1 for the daily default, 1/24 for ``dalec_step='hourly'``), using exact
per-step fractions 1 − (1 − k)^Δt. Fire fluxes of DALEC_400 are omitted (not part of D&B v1.0).
Extension [D] of the calendar phenology of §3.2: drought-driven leaf senescence of grasses
(:func:`drought_senescence_factor`, ``ModelOptions.drought_senescence``), an extra foliage turnover rate
that adds to the leaf-fall factor Φ_f and sends the lost foliage to litter like the calendar leaf fall.
Every smooth guard books its correction to a flux so that carbon is conserved to round-off (§5.2 item 2):
ΣC(t+Δt) − ΣC(t) = (GPP − Ra − Rh) Δt with Ra the *effective* autotrophic respiration.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from tccas.model import constants as c
from tccas.model.parameters import Pools
from tccas.model.smooth import maxx, minx, safe_pos

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

#: PFTs with drought-driven leaf senescence (static trait, like ``C4_PFT``): the grasses C3Gr and C4Gr.
#: Crops are left calendar-only (harvest date d_fall; irrigation is unknown to the model).
DROUGHT_SENESCENCE_PFT = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0], dtype=np.float64)
#: Maximum drought leaf-shedding rate k_d [d-1] (at f_W = 0) [D]: the peak of the C3Gr demo-prior leaf-fall
#: pulse, (2/√π) ff/w_f = 0.059 d-1 (§3.2 with L_f = 1.008 yr, c_rfall = 65 d [T]), so a full drought sheds
#: foliage as fast as the TCCAS-calibrated Mediterranean grass does at the peak of its leaf fall.
DROUGHT_FALL_RATE = 0.06
#: Residual LAI [m2 m-2] that drought senescence leaves standing [D] (:func:`drought_senescence_factor`):
#: about the dry-season LAI of the two grassland towers' LAI series (DifferLand drivers: US-Var Jul–Sep
#: 0.43–0.57, US-SRG May–Jun 0.33–0.36).
DROUGHT_RESIDUAL_LAI = 0.4
_INDEX_WIDTH = 0.02  # width of the smooth corner of the water index at f_W = f_senesc
_RESIDUAL_WIDTH = 0.05  # width of the smooth corner at LAI = residual LAI (in units of LAI_res/LAI)
_LAI_FLOOR = 1e-6  # m2 m-2: denominator floor of LAI_res/LAI (safe_pos)


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


def drought_senescence_trait(pft):
    """1 for the PFTs of :data:`DROUGHT_SENESCENCE_PFT`, else 0 (table lookup: ``pft`` may be traced)."""
    return jnp.asarray(DROUGHT_SENESCENCE_PFT)[jnp.asarray(pft, dtype=jnp.int32)]


def drought_senescence_factor(f_water, lai, tp):
    """Φ_d(f_W, LAI): extra fraction of C_fol lost per day under soil drought [d-1] [D].

    Φ_d = k_d (1 − i_W) (1 − min(LAI_res/LAI, 1)),  i_W = min(f_W/f_senesc, 1)  (smooth ``minx``):
    - i_W is a water index in the form of the growing-season index of Jolly et al. (2005, Global Change
      Biol. 11, 619): a linear ramp of a limiting variable between a lower limit (here f_W = 0, no water)
      and an upper limit above which it no longer limits (here f_senesc = ``tp.f_senesc``). Jolly et al.
      ramp vapour-pressure deficit; water availability is a limiting factor of the GSI-type phenology of
      LPJmL-GSI (Forkel et al. 2014, Biogeosciences 11, 7025), and CARDAMOM's DALEC-GSI (Smallman et al.
      2017, J. Geophys. Res. Biogeosci. 122, 528) turns a GSI into foliar turnover, as done here. The
      prior f_senesc = 0.4 is the relative extractable water below which Granier et al. (1999, Ecol.
      Model. 116, 269) count a stand as water-stressed.
    - f_W = W_r/W_max is the plant-available root-zone water fraction *without* the frozen-soil factor of
      §3.9 item 7: cold-season leaf loss is the calendar pulse Φ_f's, the drought term reacts to water
      deficit only.
    - The foliage relaxes towards a residual LAI_res = :data:`DROUGHT_RESIDUAL_LAI` at rate k_d (1 − i_W):
      the loss k_d (1 − i_W)(C_fol − LMA LAI_res) acts on the foliage above the residual, like the
      water-limited leaf shedding of Knorr et al. (2010, J. Geophys. Res. 115, G04017), where LAI relaxes
      at a rate constant towards the LAI that the available water supports. The residual stands for the
      regrowth capacity of a dormant grass (perennial basal tillers; the seed bank of an annual): DALEC2
      grows foliage only from NPP of the existing foliage or from the calendar labile release, so a canopy
      shed to LAI ≈ 0 by a long dry season could not green up when the rain returns (without the residual,
      the prior site runs lost US-Var's November–February GPP and more than half of US-SRG's monsoon GPP).
    - k_d = :data:`DROUGHT_FALL_RATE` (0.06 d-1, e-folding time 17 d at f_W = 0).
    Exactly 0 for f_W ≥ f_senesc + 0.02 or LAI ≤ LAI_res/1.05 (``minx`` is exact away from its corners);
    at f_W = 0 the index is −w e^(−f_senesc/w − 1)/f_senesc (< 2 % below 0 at the bound f_senesc = 0.05)
    with a finite derivative, and LAI_res/LAI has the floored denominator ``safe_pos(LAI, 1e-6)``, so the
    gradients stay finite on dry soil and at LAI = 0.
    """
    i_w = minx(f_water, tp.f_senesc, _INDEX_WIDTH) / tp.f_senesc
    excess = 1.0 - minx(DROUGHT_RESIDUAL_LAI / safe_pos(lai, _LAI_FLOOR), 1.0, _RESIDUAL_WIDTH)
    return DROUGHT_FALL_RATE * (1.0 - i_w) * excess


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


def dalec_step(pools: Pools, gpp, ra, t_mean, t_day, tp, dt=1.0, shift=0.0, phi_drought=0.0):
    """Advance the 6 pools by one step (model_spec §3.8) [C].

    ``gpp``/``ra`` in gC m-2 d-1 (rates over the step), ``t_mean`` °C, ``t_day`` DALEC day number,
    ``phi_drought`` the drought senescence rate Φ_d [d-1] (:func:`drought_senescence_factor`; 0 = the
    calendar phenology of DALEC2). The foliage loss factor is Φ_f(t) + Φ_d: L_fol = C_fol [1 − (1 − Φ_f −
    Φ_d)^Δt]/Δt goes to litter, so carbon stays conserved exactly; ``leaffall_factor`` reports the sum.
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
    phi_f = leaffall_factor(t_day, tp, shift) + phi_drought
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
