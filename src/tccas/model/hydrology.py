"""Daily hydrology: interception, snow, two-layer soil water, runoff, frozen-soil switch (model_spec §3.9).

BETHY ``mo_hydro.f90`` [B] with the surface layer recommended in model_spec §3.9 item 4 [D]:
- canopy store W_i (capacity W_i,max = w_i_cap LAI) intercepts the fraction f_int of rain *and* snowfall;
  it evaporates/sublimates at most the wet-canopy potential f_int E_pc⁺; its excess drips as rain or
  unloads as snow onto the ground pack;
- surface layer W_s (depth z_s, capacity W_s,max = 1000 z_s θ_sat, field capacity W_s,fc = f_fc W_s,max)
  receives infiltration, loses the energy- and moisture-limited soil evaporation
  E_s = (1 − f_snow) min(1, W_s/W_s,fc) E_ps⁺ ≤ W_s, drains its excess above field capacity into the root
  zone and exchanges diffusively with it, (W_s/W_s,fc − W_r/W_max) W_s,fc/τ_s;
- root zone W_r (plant-available capacity W_max) loses transpiration; saturation excess runs off.
All capacity limits are smooth (soil layers: ``minx`` of width 0.1 mm, exact away from the limit;
interception, melt, sublimation, infiltration, evaporation: sign-preserving ``smin`` with η = hydro_eta) and
every floor books its correction to a flux, so the daily balance
ΔW_r + ΔW_s + ΔW_i + ΔS = P − E_t − E_s − E_i − E_sn − R_off closes to round-off (§6.3).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from tccas.model.smooth import maxx, minx, smin, step
from tccas.model.snow import snow_cover_fraction, snow_fraction_of_precip, snow_step

_WR_FLOOR_WIDTH = 1e-3  # mm
_CAP_WIDTH = 0.1  # mm: exponential transition of the soil capacity limits (BETHY minx widths [B])


class WaterState(NamedTuple):
    """Water/snow state of one tile (model_spec §2.1)."""

    w_r: object  # root-zone plant-available water [mm]
    w_s: object  # surface-layer water [mm]
    w_i: object  # canopy interception store [mm]
    swe: object  # snow water equivalent [kg m-2]
    snow_depth: object  # [m]
    snow_albedo: object  # [-]
    t_soil: object  # running-mean air temperature, soil-temperature proxy [degC] [D]


class WaterFluxes(NamedTuple):
    """Daily water fluxes [mm d-1]."""

    precip: object
    snowfall: object
    rainfall: object
    interception: object  # rain and snow caught by the canopy
    throughfall: object  # liquid water reaching the ground (drip + rain through gaps)
    melt: object
    infiltration: object
    evap_interception: object
    transpiration: object
    evap_soil: object
    sublimation: object
    runoff: object


def surface_capacities(site, gp):
    """(W_s,max, W_s,fc) [mm] of the surface layer (model_spec §3.9 item 4, §4.4) [D]."""
    w_max = 1000.0 * site.z_surface * site.theta_sat
    return w_max, gp.theta_fc_frac * w_max


def interception_fraction(lai, fc):
    """f_int = fc [1 − exp(−0.5 LAI/fc)] (model_spec §3.9 item 3) [D]; the CCDAS code uses the gap
    fraction instead, which looks inverted ([?] §8 item 5)."""
    return fc * (1.0 - jnp.exp(-0.5 * lai / fc))


def f_soil_available(w_r, w_max, t_soil, gp, frozen_soil: bool):
    """Plant-available water fraction f_soil = W_r/W_max, × step(T_soil; w) when frozen-soil
    suppression is on (model_spec §3.9 item 7 [B][D]; reproduces fpasm = 0 in FI-Sod midwinter [T])."""
    f = w_r / w_max
    if frozen_soil:
        f = f * step(t_soil, gp.frozen_width)
    return f


def soil_evaporation(w_s, e_ps_pos, snow_cover, w_s_fc, eta):
    """Energy- and moisture-limited evaporation of the surface layer [mm d-1] (model_spec §3.9 item 4).

    E_s = smin((1 − f_snow) β E_ps⁺, W_s; η),  β = min(1, W_s/W_s,fc)  (smooth ``minx``, width 0.1 mm).
    - Energy limit: E_ps⁺ is the day's radiation-limited (equilibrium) evaporation of the ground,
      Σ_h s R_n,s/((s + γ) λ) (Priestley & Taylor 1972, Mon. Wea. Rev. 100, 81, α = 1; the stage-1
      potential of Ritchie 1972, Water Resour. Res. 8, 1204), and the snow-free share 1 − f_snow of it
      is available to the soil (the snow pack sublimates with the rest), so E_s ≤ (1 − f_snow) E_ps⁺.
    - Moisture limit: the bucket β of Manabe (1969, Mon. Wea. Rev. 97, 739) with the critical water
      content at field capacity, as model_spec §3.9 item 4 recommends, *capped at 1*: a layer filled
      above field capacity by the day's infiltration (W_s up to W_s,max + P) evaporates at the potential,
      not at a multiple of it.
    - Supply limit: E_s ≤ W_s (``smin``), so the layer cannot be emptied below zero.
    Smooth: ``minx`` is C¹ and ``smin`` has a finite gradient at W_s = 0 (radicand floor), so derivatives
    stay finite at dry soil. Inputs in mm and mm d-1.
    """
    beta = minx(w_s, w_s_fc, _CAP_WIDTH) / w_s_fc
    return smin((1.0 - snow_cover) * beta * e_ps_pos, w_s, eta)


def hydrology_step(ws: WaterState, precip, t_mean, e_t, e_pc, e_ps, lai, fc, w_max, rho_soil, site, gp):
    """One daily hydrology step (model_spec §3.9 items 1-6) [B][D].

    Inputs: daily precipitation ``precip`` [mm d-1], mean air temperature [°C], daily sums of hourly
    transpiration ``e_t`` (≥ 0), wet-canopy and soil potential evaporation ``e_pc``, ``e_ps`` [mm d-1],
    LAI, cover ``fc``, root-zone capacity ``w_max`` [mm], snow-free surface albedo ``rho_soil``.
    Returns ``(new WaterState, WaterFluxes)``.

    Energy and supply limits of the vapour fluxes (each never above its potential nor above the water
    present; the potentials are floored smoothly at 0, E⁺ = maxx(E, 0; 0.01 mm), dew is ignored):
    - interception (Rutter-type store, BETHY): E_i = smin(f_int E_pc⁺, W_i) ≤ the wet-canopy Penman
      potential (Penman 1948, Proc. R. Soc. A 193, 120; r_s = 0) of the wet fraction f_int;
      transpiration is reduced by E_i (item 3);
    - snow interception [D]: snowfall is intercepted with the same fraction f_int into the same store
      (water or ice, capacity w_i_cap LAI) and sublimates from it at E_i; the excess over capacity unloads
      onto the ground pack in the snow share f_sn(T̄) of the drip and drips as water otherwise. Boreal
      evergreen canopies intercept a large part of snowfall and its sublimation is their main winter
      vapour flux (Hedstrom & Pomeroy 1998, Hydrol. Process. 12, 1611; Pomeroy et al. 1998, Hydrol.
      Process. 12, 2317). Without it (rain-only interception, model_spec §3.9 item 3) winter ET vanishes:
      E_ps — the ground's radiation balance — is negative in a boreal winter (net long-wave loss exceeds
      the absorbed short-wave), so E_ps⁺ ≈ 0 and neither the pack nor the soil evaporates, while E_pc
      stays positive (its aerodynamic term ρ_a c_p D g_a: sensible heat drawn from the air) but found no
      wet canopy to act on. The snow load per unit LAI of Hedstrom & Pomeroy (≈ 4–6 kg m-2) is much
      larger than w_i_cap; the liquid capacity is kept, a conservative choice with no new parameter;
    - snow-pack sublimation and soil evaporation share the ground's E_ps⁺ by snow cover (E_sn + E_s ≤
      E_ps⁺; :func:`soil_evaporation`, :func:`tccas.model.snow.snow_step`);
    - soil evaporation draws on the surface layer only: the root zone feeds it through the diffusive
      exchange (capillary rise when W_s/W_s,fc < W_r/W_max, at most W_s,fc/τ_s per day), not directly,
      so an empty surface layer stops E_s (stage-2 drying of Ritchie 1972);
    - transpiration ≤ the root-zone water (``smin``); the smooth root-zone floor's correction (≤ 4e-4 mm
      at W_r = 0) is booked to transpiration, the flux that drew the root zone down (BETHY books it to
      E_s, which made E_s slightly negative at dry soil and mixed a root-zone term into it).
    """
    eta = gp.hydro_eta
    e_ps_pos = maxx(e_ps, 0.0, 0.01)
    e_pc_pos = maxx(e_pc, 0.0, 0.01)
    cover = snow_cover_fraction(ws.snow_depth, gp)
    # phase of precipitation (item 1)
    f_sn = snow_fraction_of_precip(t_mean)
    snowfall = f_sn * precip
    rainfall = precip - snowfall
    # interception of rain and snow (item 3; snow [D], Hedstrom & Pomeroy 1998)
    f_int = interception_fraction(lai, fc)
    i_rain = f_int * rainfall
    i_snow = f_int * snowfall
    store = ws.w_i + i_rain + i_snow
    retained = smin(store, gp.w_i_cap * lai, eta)
    drip = store - retained
    e_i = smin(f_int * e_pc_pos, retained, eta)
    w_i = retained - e_i
    throughfall = (1.0 - f_sn) * drip + rainfall - i_rain
    snow_ground = f_sn * drip + snowfall - i_snow
    e_t_eff = e_t - smin(e_t, e_i, eta)  # transpiration reduced by interception loss (item 3)
    # ground snow pack (item 2)
    sn = snow_step(ws.swe, ws.snow_depth, ws.snow_albedo, snow_ground, t_mean, e_ps_pos, rho_soil, gp)
    # infiltration and surface layer (items 4-5)
    _, w_s_fc = surface_capacities(site, gp)
    q_in = throughfall + sn.melt
    infil = smin(q_in, gp.infl_max, eta)
    w_s1 = ws.w_s + infil
    e_s = soil_evaporation(w_s1, e_ps_pos, cover, w_s_fc, eta)
    w_s2 = w_s1 - e_s
    w_s3 = minx(w_s2, w_s_fc, _CAP_WIDTH)
    excess = w_s2 - w_s3
    exch = (w_s3 / w_s_fc - ws.w_r / w_max) * w_s_fc / gp.tau_s
    w_s4 = w_s3 - exch
    # root zone (item 6); transpiration cannot exceed the water present (smooth, sign-preserving)
    avail = maxx(ws.w_r + excess + exch, 0.0, _WR_FLOOR_WIDTH)
    e_t_eff = smin(e_t_eff, avail, eta)
    w_r1 = ws.w_r + excess + exch - e_t_eff
    w_r2 = minx(w_r1, w_max, _CAP_WIDTH)
    overflow = w_r1 - w_r2
    w_r3 = maxx(w_r2, 0.0, _WR_FLOOR_WIDTH)
    e_t_eff = e_t_eff - (w_r3 - w_r2)  # floor correction booked to transpiration (see docstring)
    runoff = q_in - infil + overflow
    t_soil = ws.t_soil + (t_mean - ws.t_soil) / gp.tau_tsoil
    new = WaterState(w_r3, w_s4, w_i, sn.swe, sn.depth, sn.albedo, t_soil)
    fluxes = WaterFluxes(
        precip=precip,
        snowfall=snowfall,
        rainfall=rainfall,
        interception=i_rain + i_snow,
        throughfall=throughfall,
        melt=sn.melt,
        infiltration=infil,
        evap_interception=e_i,
        transpiration=e_t_eff,
        evap_soil=e_s,
        sublimation=sn.sublimation,
        runoff=runoff,
    )
    return new, fluxes
