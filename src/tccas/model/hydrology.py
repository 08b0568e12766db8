"""Daily hydrology: interception, two-layer soil water, runoff, frozen-soil switch (model_spec §3.9).

BETHY ``mo_hydro.f90`` [B] with the surface layer recommended in model_spec §3.9 item 4 [D]:
- surface layer W_s (depth z_s, capacity W_s,max = 1000 z_s θ_sat, field capacity W_s,fc = f_fc W_s,max)
  receives infiltration, loses soil evaporation E_s = (W_s/W_s,max) E_ps (Ritchie-type), drains its
  excess above field capacity into the root zone and exchanges diffusively with it,
  (W_s/W_s,fc − W_r/W_max) W_s,fc/τ_s;
- root zone W_r (plant-available capacity W_max) loses transpiration; saturation excess runs off.
All capacity limits are smooth (soil layers: ``minx`` of width 0.1 mm, exact away from the limit;
interception, melt, sublimation, infiltration: sign-preserving ``smin`` with η = hydro_eta) and every
floor books its correction to a flux, so the daily balance
ΔW_r + ΔW_s + ΔW_i + ΔS = P − E_t − E_s − E_i − E_sn − R_off closes to round-off (§6.3).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from tccas.model.smooth import maxx, minx, smin, step
from tccas.model.snow import snow_cover_fraction, snow_step

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
    interception: object
    throughfall: object
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


def hydrology_step(ws: WaterState, precip, t_mean, e_t, e_pc, e_ps, lai, fc, w_max, rho_soil, site, gp):
    """One daily hydrology step (model_spec §3.9 items 1-6) [B][D].

    Inputs: daily precipitation ``precip`` [mm d-1], mean air temperature [°C], daily sums of hourly
    transpiration ``e_t`` (≥ 0), wet-canopy and soil potential evaporation ``e_pc``, ``e_ps`` [mm d-1],
    LAI, cover ``fc``, root-zone capacity ``w_max`` [mm], snow-free surface albedo ``rho_soil``.
    Returns ``(new WaterState, WaterFluxes)``.
    """
    eta = gp.hydro_eta
    e_ps_pos = maxx(e_ps, 0.0, 0.01)
    e_pc_pos = maxx(e_pc, 0.0, 0.01)
    cover = snow_cover_fraction(ws.snow_depth, gp)
    sn = snow_step(ws.swe, ws.snow_depth, ws.snow_albedo, precip, t_mean, e_ps_pos, rho_soil, gp)
    # interception of rain (item 3)
    f_int = interception_fraction(lai, fc)
    intercepted = f_int * sn.rainfall
    store = ws.w_i + intercepted
    retained = smin(store, gp.w_i_cap * lai, eta)
    drip = store - retained
    e_i = smin(f_int * e_pc_pos, retained, eta)
    w_i = retained - e_i
    throughfall = drip + sn.rainfall - intercepted
    e_t_eff = e_t - smin(e_t, e_i, eta)  # transpiration reduced by interception loss (item 3)
    # infiltration and surface layer (items 4-5)
    w_s_max, w_s_fc = surface_capacities(site, gp)
    q_in = throughfall + sn.melt
    infil = smin(q_in, gp.infl_max, eta)
    w_s1 = ws.w_s + infil
    e_s = smin((1.0 - cover) * e_ps_pos * w_s1 / w_s_max, 0.9 * w_s1, eta)
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
    e_s = e_s - (w_r3 - w_r2)  # floor correction booked to soil evaporation [B]
    runoff = q_in - infil + overflow
    t_soil = ws.t_soil + (t_mean - ws.t_soil) / gp.tau_tsoil
    new = WaterState(w_r3, w_s4, w_i, sn.swe, sn.depth, sn.albedo, t_soil)
    fluxes = WaterFluxes(
        precip=precip,
        snowfall=sn.snowfall,
        rainfall=sn.rainfall,
        interception=intercepted,
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
