"""Time stepping of one tile and of a multi-PFT pixel (model_spec §1.3, §2.2, §2.6).

Structure (model_spec §1.3): a ``lax.scan`` over days whose body (wrapped in ``jax.checkpoint``) computes
start-of-day LAI, cover, albedos and f_soil; the 24 hourly fast steps (met → radiation → photosynthesis
pass 1 → energy/water stress → pass 2 → Ra); then daily hydrology and DALEC2. With the default daily
DALEC step the hours of one day share no state, so the inner loop over hours is evaluated as one
vectorised operation over the hour axis (identical results to an inner scan, much faster); with
``dalec_step='hourly'`` an inner ``lax.scan`` over the 24 hours carries the carbon pools (LAI changes
every hour). Forcing-only meteorology (solar geometry, PAR partition, humidity terms) is precomputed for
all days before the scan.

Public entry points: :func:`run_tile` (one tile), :func:`run_tiles` (≤ 6 tiles of a pixel, vmapped over
tiles), :func:`pixel_output` (their cover-weighted aggregation), :func:`run_pixel` (both),
:func:`spinup`, :func:`initial_state`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from tccas.model import constants as c
from tccas.model import dalec, energy, hydrology, met, photosynthesis, radiation, respiration
from tccas.model.adjoint import cotangent_barrier
from tccas.model.forcing import Forcing, Site
from tccas.model.nscale import nitrogen_scaling
from tccas.model.options import ModelOptions
from tccas.model.parameters import (
    GlobalParams,
    Pools,
    TileParams,
    default_pools,
    default_tile_params,
    pft_traits,
)

MAX_TILES = 6  # PFT tiles per pixel in a regional run (model_spec §0) [T]
SH_SHIFT = 182.6  # days, southern-hemisphere phenology shift (model_spec §3.2) [D]
_SAFE_PFT = 9  # C3Gr: values substituted into padding tiles (fraction 0) so they stay finite


class TileState(NamedTuple):
    """Prognostic state of one tile: carbon pools and water/snow state (model_spec §2.1)."""

    pools: Pools
    water: hydrology.WaterState


class PixelOutput(NamedTuple):
    """Output of :func:`run_pixel` (contract C1).

    ``hourly``: dict of per-tile arrays (n_tiles, n_days, 24[, 3]); ``daily``: dict (n_tiles, n_days);
    ``final``: :class:`TileState` with leading axis n_tiles; ``pixel_daily``: cover-weighted (n_days,).
    """

    hourly: dict
    daily: dict
    final: TileState
    pixel_daily: dict


HOURLY_KEYS = (
    "gpp", "ra", "fapar", "apar", "j_a", "lai_layer", "mu", "f_dir", "t_canopy", "t_air", "e_t", "e_pot",
    "par", "albedo", "g_c", "sw_down",
)  # fmt: skip
_DAY_SCALARS = ("mu_noon", "t_mean", "precip", "day_number")
PIXEL_DAILY_KEYS = ("gpp", "ra", "rh", "nee", "lai", "c_woo", "c_fol", "c_total", "f_soil", "theta_surface")


class MetDay(NamedTuple):
    """Forcing-only meteorology of one day (hour axis last), model_spec §3.1."""

    mu: object
    par: object  # incident PAR [µmol m-2 s-1]
    f_dir: object
    cloud: object  # daily cloud fraction n = min((0.9 − r')/0.4, 1)
    i_tot: object
    t_air: object
    vpd: object
    s: object
    lam: object
    gamma: object
    rho_a: object
    pressure: object
    co2: object
    l_net: object
    wind: object
    sw_down: object
    mu_noon: object  # scalar per day
    t_mean: object  # scalar per day
    precip: object  # daily total [mm d-1]
    day_number: object


def prepare_met(forcing: Forcing, site: Site, options: ModelOptions, gp: GlobalParams) -> MetDay:
    """Forcing-only meteorology for all days (model_spec §3.1); arrays (n_days, 24) / (n_days,)."""
    f = Forcing(*(jnp.asarray(x, dtype=jnp.float64) for x in forcing))
    hours = jnp.arange(24, dtype=jnp.float64) + 0.5
    mu = met.cos_zenith(f.day_number[:, None], hours[None, :], site.lat, site.lon)
    par, f_dir, r_c, i_tot = met.par_partition(f.sw_down, mu, f.pressure, f.day_number)
    cloud = jnp.minimum((0.9 - r_c) / 0.4, 1.0)
    _, s, vpd, lam, gamma, rho_a = met.air_terms(f.t_air, f.vapour_pressure, f.pressure)
    if options.longwave == "forcing":
        l_net = energy.longwave_net(f.lw_down, f.t_air)
    else:
        l_net = met.brunt_longwave(f.t_air, f.vapour_pressure, cloud)
    wind = f.wind if options.wind == "forcing" else jnp.broadcast_to(gp.wind, f.t_air.shape)
    return MetDay(
        mu=mu,
        par=par,
        f_dir=f_dir,
        cloud=jnp.broadcast_to(cloud, mu.shape),
        i_tot=i_tot,
        t_air=f.t_air,
        vpd=vpd,
        s=s,
        lam=lam,
        gamma=gamma,
        rho_a=rho_a,
        pressure=f.pressure,
        co2=f.co2,
        l_net=l_net,
        wind=wind,
        sw_down=f.sw_down,
        mu_noon=met.cos_zenith_noon(f.day_number, site.lat),
        t_mean=jnp.mean(f.t_air, axis=-1),
        precip=jnp.sum(f.precip, axis=-1),
        day_number=f.day_number,
    )


def tile_w_max(site: Site, tp: TileParams):
    """Root-zone plant-available water capacity of a tile: site W_max × wmax_scale [mm] (§4.4) [D]."""
    return site.w_max * tp.wmax_scale


def initial_state(pools: Pools, tp: TileParams, site: Site, forcing: Forcing, gp: GlobalParams) -> TileState:
    """Documented initial state (model_spec §2.1, §5.2 item 8): given pools; root zone at capacity
    (f_soil = 1, wet start); surface layer at field capacity; empty interception store and no snow;
    snow albedo = dry-soil albedo; soil-temperature proxy = mean air temperature of the first day."""
    _, w_s_fc = hydrology.surface_capacities(site, gp)
    w = hydrology.WaterState(
        w_r=tile_w_max(site, tp) * 1.0,
        w_s=w_s_fc * 1.0,
        w_i=jnp.zeros(()),
        swe=jnp.zeros(()),
        snow_depth=jnp.zeros(()),
        snow_albedo=jnp.asarray(site.soil_albedo_dry, dtype=jnp.float64),
        t_soil=jnp.mean(jnp.asarray(forcing.t_air[0], dtype=jnp.float64)),
    )
    return TileState(Pools(*(jnp.asarray(p, dtype=jnp.float64) for p in pools)), w)


class _DayConst(NamedTuple):
    """Start-of-day quantities fixed over the hours of a day (model_spec §1.3 step 1)."""

    f_soil: object
    f_water: object  # W_r/W_max without the frozen-soil factor (drought senescence, dalec.py)
    rho_soil: object
    snow_cover: object
    w_max: object


def _day_constants(state: TileState, tp, gp, site, options):
    w_max = tile_w_max(site, tp)
    f_soil = hydrology.f_soil_available(state.water.w_r, w_max, state.water.t_soil, gp, options.frozen_soil)
    f_water = hydrology.f_soil_available(state.water.w_r, w_max, state.water.t_soil, gp, False)
    _, w_s_fc = hydrology.surface_capacities(site, gp)
    rho_soil = radiation.soil_albedo(state.water.w_s / w_s_fc, site)  # in [0, 1] by construction (§3.9)
    cover = hydrology.snow_cover_fraction(state.water.snow_depth, gp)
    return _DayConst(f_soil, f_water, rho_soil, cover, w_max)


def _layer_last(x):
    """Per-layer array from the internal layer-first layout (:mod:`tccas.model.radiation`) to the layer-last
    layout of the outputs (contract C1)."""
    return jnp.moveaxis(x, 0, -1)


def _fast(lai, m: MetDay, dc: _DayConst, snow_albedo, tp, gp, tr, options):
    """Hourly fast processes (model_spec §3.1, §3.3-§3.7) for any leading shape of the met arrays.

    Returns a dict of hourly diagnostics and per-hour fluxes (gC m-2 h-1, mm h-1).
    """
    fc = tp.fc
    rho_snow = radiation.snow_surface_albedo(snow_albedo, m.mu, m.cloud)
    rho_surf = dc.snow_cover * rho_snow + (1.0 - dc.snow_cover) * dc.rho_soil
    lai_b = jnp.broadcast_to(lai, m.mu.shape)
    dfl, fapar = radiation.two_stream_layers(lai_b, fc, m.mu, m.f_dir, rho_surf, gp.omega)
    apar = radiation.layer_apar(dfl, m.par, lai_b)
    n_l = nitrogen_scaling(lai_b, jnp.broadcast_to(m.mu_noon, m.mu.shape), tr.nscale, gp)
    # cotangent barriers (model/adjoint.py) on the pass-1 outputs and, below, the water-control outputs
    p1 = cotangent_barrier(
        photosynthesis.pass1(apar, m.t_air, m.co2, m.pressure, m.i_tot, n_l, tp, gp, tr.c4)
    )
    g_c0 = respiration.canopy_sum(p1.g_s0, lai_b)
    a_v, a_s, albedo, t_lv = radiation.broadband(fapar, rho_surf, lai_b, fc, gp)
    r_nc, r_ns, g_soil = energy.net_radiation(m.l_net, m.sw_down, a_v, a_s, t_lv, gp)
    g_a = met.aerodynamic_conductance(m.wind, tp.height, gp)
    e_sup = gp.c_w * tp.cw_scale * dc.f_soil
    cw = energy.canopy_water(
        r_nc, r_ns, g_soil, g_c0, g_a, m.t_air, m.vpd, m.s, m.gamma, m.lam, m.rho_a, e_sup
    )
    cw = cotangent_barrier(cw)
    g_s = p1.g_s0 * cw.beta
    p2 = photosynthesis.pass2(apar, cw.t_c, m.co2, m.pressure, m.i_tot, g_s, n_l, tp, gp, tr.c4)
    cold = photosynthesis.cold_inhibition(cw.t_c)
    conv = respiration.umol_s_to_gc_h()
    a_c = respiration.canopy_sum(p2.a_gross, lai_b)
    gpp = a_c * cold * conv
    if options.ra_scheme == "bethy":
        ra = respiration.ra_bethy(a_c, respiration.canopy_sum(p2.rd, lai_b), cold, gp)
    else:
        ra = respiration.ra_fauto(gpp, tp)
    return {
        "gpp": gpp,
        "ra": ra,
        "fapar": fapar,
        "apar": _layer_last(apar),
        "j_a": _layer_last(p2.j_a),
        "lai_layer": _layer_last(jnp.broadcast_to(lai_b / c.N_LAYERS, apar.shape)),
        "mu": m.mu,
        "f_dir": m.f_dir,
        "t_canopy": cw.t_c,
        "t_air": m.t_air,
        "e_t": cw.e_t,
        "e_pot": cw.e_d,
        "par": m.par,
        "albedo": albedo,
        "g_c": g_c0 * cw.beta,
        "sw_down": m.sw_down,
        "_e_pc": cw.e_pc,
        "_e_ps": cw.e_ps,
        "_avail": r_nc + r_ns,
    }


def _daily_outputs(state: TileState, new: TileState, dfl: dalec.DalecFluxes, wf, hsum, dc, f_e, tp, site):
    """Daily diagnostics dict (contract C1 keys), rates per day, states at end of day."""
    p = new.pools
    rh = dfl.respiration_het_litter + dfl.respiration_het_som
    out = {name: getattr(dfl, name) for name in dalec.DALEC_FLUX_NAMES}
    out.update(
        lai=p.fol / tp.lma,
        c_lab=p.lab,
        c_fol=p.fol,
        c_roo=p.roo,
        c_woo=p.woo,
        c_lit=p.lit,
        c_som=p.som,
        ra=dfl.respiration_auto,
        rh=rh,
        nee=dfl.respiration_auto + rh - dfl.gpp,
        npp=dfl.gpp - dfl.respiration_auto,
        f_soil=dc.f_soil,
        f_e=f_e,
        theta_surface=new.water.w_s / (1000.0 * site.z_surface),
        w_r=new.water.w_r,
        w_s=new.water.w_s,
        w_i=new.water.w_i,
        snow_swe=new.water.swe,
        snow_depth=new.water.snow_depth,
        snow_albedo=new.water.snow_albedo,
        t_soil=new.water.t_soil,
        evap_soil=wf.evap_soil,
        transpiration=wf.transpiration,
        evap_interception=wf.evap_interception,
        sublimation=wf.sublimation,
        runoff=wf.runoff,
        precip=wf.precip,
        snowfall=wf.snowfall,
        melt=wf.melt,
        e_pot=hsum["e_pot"],
        t_mean=hsum["t_mean"],
    )
    out.update(daily_energy_fluxes(wf, hsum["t_mean"], hsum["available_energy"]))
    return out


#: Latent heat of sublimation of ice [J kg-1] (BETHY value, model_spec §3.1: ``met.latent_heat`` below 0 °C).
LATENT_HEAT_SUBLIMATION = 2.834e6
SECONDS_PER_DAY = 86_400.0


def daily_energy_fluxes(wf, t_mean, available_energy):
    """Daily mean turbulent fluxes of a tile from its daily water fluxes (tower observation streams).

    - ``et`` [mm d-1] = transpiration + soil evaporation + interception evaporation + sublimation (the
      hydrology's actual fluxes, model_spec §3.9);
    - ``le`` [W m-2] = (λ(T̄) (E_t + E_s + E_i) + λ_s E_sn) / 86 400 s, with λ(T̄) the latent heat of
      vaporisation of ``tccas.model.met.latent_heat`` at the daily mean air temperature (model_spec §3.1)
      and λ_s = :data:`LATENT_HEAT_SUBLIMATION` for snow sublimation (1 mm = 1 kg m-2 of water);
    - ``available_energy`` [W m-2] = daily mean of R_n,c + R_n,s = R_n − G (net radiation minus soil heat
      flux, ``tccas.model.energy.net_radiation``, model_spec §3.6);
    - ``h`` [W m-2] = available energy − LE: the sensible heat that closes the daily surface energy balance
      R_n − G = H + LE exactly (storage neglected at the daily step; cf. Wilson et al. 2002, Agric. For.
      Meteorol. 113:223, on the closure of the measured balance).
    """
    liquid = wf.transpiration + wf.evap_soil + wf.evap_interception
    le = (met.latent_heat(t_mean) * liquid + LATENT_HEAT_SUBLIMATION * wf.sublimation) / SECONDS_PER_DAY
    return {
        "et": liquid + wf.sublimation,
        "le": le,
        "available_energy": available_energy,
        "h": available_energy - le,
    }


def _day_step(state: TileState, m: MetDay, tp, gp, tr, site, shift, senescent, options: ModelOptions):
    """One day (model_spec §1.3): start-of-day constants, 24 hourly steps, hydrology, DALEC2.

    ``senescent``: 1 for a PFT with drought senescence (:func:`_drought_trait`), else 0; its rate Φ_d, of the
    start-of-day water fraction and LAI, is fixed over the day like f_soil.
    """
    dc = _day_constants(state, tp, gp, site, options)
    t_dalec = m.day_number + 1.0
    phi_d = senescent * dalec.drought_senescence_factor(dc.f_water, state.pools.fol / tp.lma, tp)
    if options.dalec_step == "daily":
        lai = state.pools.fol / tp.lma
        hourly = _fast(lai, m, dc, state.water.snow_albedo, tp, gp, tr, options)
        gpp_d = jnp.sum(hourly["gpp"])
        ra_d = jnp.sum(hourly["ra"])
        pools, dfl = dalec.dalec_step(state.pools, gpp_d, ra_d, m.t_mean, t_dalec, tp, 1.0, shift, phi_d)
    else:
        hourly_fields = [k for k in MetDay._fields if k not in _DAY_SCALARS]

        def hour(pools, xs):
            vals, h = xs
            mh = m._replace(**dict(zip(hourly_fields, vals, strict=True)))
            h_out = _fast(pools.fol / tp.lma, mh, dc, state.water.snow_albedo, tp, gp, tr, options)
            t_hour = t_dalec + (h + 0.5) / 24.0
            new_p, fl = dalec.dalec_step(
                pools, 24.0 * h_out["gpp"], 24.0 * h_out["ra"], mh.t_air, t_hour, tp, 1.0 / 24.0, shift, phi_d
            )
            return new_p, (h_out, fl)

        xs = (tuple(getattr(m, k) for k in hourly_fields), jnp.arange(24.0))
        pools, (hourly, fl_h) = jax.lax.scan(hour, state.pools, xs)
        dfl = dalec.DalecFluxes(*(jnp.mean(x) for x in fl_h))
    e_t_d = jnp.sum(hourly["e_t"])
    e_d_d = jnp.sum(hourly["e_pot"])
    water, wf = hydrology.hydrology_step(
        state.water,
        m.precip,
        m.t_mean,
        e_t_d,
        jnp.sum(hourly["_e_pc"]),
        jnp.sum(hourly["_e_ps"]),
        state.pools.fol / tp.lma,
        tp.fc,
        dc.w_max,
        dc.rho_soil,
        site,
        gp,
    )
    new = TileState(pools, water)
    f_e = e_t_d / e_d_d
    hsum = {"e_pot": e_d_d, "t_mean": m.t_mean, "available_energy": jnp.mean(hourly["_avail"])}
    daily = _daily_outputs(state, new, dfl, wf, hsum, dc, f_e, tp, site)
    hourly = {k: v for k, v in hourly.items() if not k.startswith("_")}
    return new, (hourly, daily)


def _scan_days(state: TileState, met_all: MetDay, tp, gp, tr, site, shift, senescent, options: ModelOptions):
    def body(st, m):
        return _day_step(st, m, tp, gp, tr, site, shift, senescent, options)

    if options.checkpoint:
        body = jax.checkpoint(body)
    return jax.lax.scan(body, state, met_all)


def _drought_trait(pft, options: ModelOptions):
    """Drought-senescence flag of the tile: the PFT trait (``dalec.DROUGHT_SENESCENCE_PFT``) when
    ``options.drought_senescence`` is on, else 0 (calendar phenology only)."""
    if not options.drought_senescence:
        return jnp.zeros(())
    return dalec.drought_senescence_trait(pft)


def _phenology_shift(site: Site, options: ModelOptions):
    if not options.southern_shift:
        return jnp.zeros(())
    return jnp.where(jnp.asarray(site.lat) < 0.0, SH_SHIFT, 0.0)


def spinup(
    state: TileState, spinup_forcing: Forcing, tp, gp, pft, site: Site, options: ModelOptions
) -> TileState:
    """Spin-up (model_spec §2.2): cycle the spin-up forcing ``options.spinup_cycles`` times from ``state``.

    With ``options.steady_state_spinup`` the slow pools (C_woo, C_lit, C_som) are replaced after the first
    pass by the analytic steady state of §6.2, computed from that pass's mean NPP (floored at 1e-6),
    temprate and phenology rates, and the forcing is cycled once more so the fast pools adjust.
    The cycles are a ``lax.scan`` over one compiled pass (compile once, whatever the number of cycles).
    :func:`run_tile` then applies :func:`relax_steady_state`. Differentiable end to end; reproducible (no
    randomness).
    """
    require_float64()
    tr = pft_traits(pft)
    senescent = _drought_trait(pft, options)
    shift = _phenology_shift(site, options)
    met_sp = prepare_met(spinup_forcing, site, options, gp)
    n_cycles = int(options.spinup_cycles) + (1 if options.steady_state_spinup else 0)

    def cycle(st, k):
        st, (_, daily) = _scan_days(st, met_sp, tp, gp, tr, site, shift, senescent, options)
        if options.steady_state_spinup:
            ss = dalec.steady_state_pools(
                jnp.maximum(jnp.mean(daily["npp"]), 1e-6),
                jnp.mean(daily["temprate"]),
                jnp.mean(daily["leaffall_factor"]),
                jnp.mean(daily["labrelease_factor"]),
                tp,
            )
            first = k == 0
            pools = st.pools._replace(
                woo=jnp.where(first, ss.woo, st.pools.woo),
                lit=jnp.where(first, ss.lit, st.pools.lit),
                som=jnp.where(first, ss.som, st.pools.som),
            )
            st = st._replace(pools=pools)
        return st, None

    state, _ = jax.lax.scan(cycle, state, jnp.arange(n_cycles))
    return state


def relax_steady_state(state: TileState, tp) -> TileState:
    """Relaxed steady state (Carvalhais et al. 2008, Global Biogeochem. Cycles 22, GB2007): the spun-up wood
    and SOM pools scaled by the tile parameters η_woo and η_som, C_woo ← η_woo C_woo*, C_som ← η_som C_som*
    [gC m-2] (prior 1: the run starts at the spun-up state).

    A stand's history (harvest, afforestation, drainage) keeps real ecosystems away from the steady state
    of their climate; with η < 1 a run starts below it and takes up carbon, as most towers do, which a run
    from the steady state cannot. The scaling sets the initial state; it is not a flux, so the run's carbon
    balance is unaffected.
    """
    pools = state.pools._replace(woo=state.pools.woo * tp.eta_woo, som=state.pools.som * tp.eta_som)
    return state._replace(pools=pools)


def require_float64() -> None:
    """Refuse to trace the model in float32: its daily carbon and water balances close to round-off only in
    float64 (model_spec §5.1 item 8). Entry points switch JAX to float64 explicitly
    (:func:`tccas.enable_float64`; the CLI, the Dask workers through ``JAX_ENABLE_X64=1``, the tests)."""
    if not jax.config.read("jax_enable_x64"):
        raise RuntimeError("tccas.model needs float64 JAX: call tccas.enable_float64() before using it")


def run_tile(
    tile_params: TileParams,
    global_params: GlobalParams,
    pools0: Pools,
    forcing: Forcing,
    site: Site,
    pft,
    options: ModelOptions = ModelOptions(),
    spinup_forcing: Forcing | None = None,
    state0: TileState | None = None,
):
    """Run one tile (one PFT on one pixel) over ``forcing``; returns ``(hourly, daily, final_state)``.

    ``pools0`` is the state at the start of the spin-up if ``spinup_forcing`` is given (the spun-up state,
    relaxed by :func:`relax_steady_state`, starts the run), else at the start of ``forcing``. ``state0``
    (optional) overrides the documented initial water state of :func:`initial_state`. Pure JAX; jit with
    ``options`` static.
    """
    require_float64()
    tp, gp = tile_params, global_params
    first = spinup_forcing if spinup_forcing is not None else forcing
    state = state0 if state0 is not None else initial_state(pools0, tp, site, first, gp)
    if state0 is not None:
        state = state._replace(pools=Pools(*pools0))
    if spinup_forcing is not None:
        state = relax_steady_state(spinup(state, spinup_forcing, tp, gp, pft, site, options), tp)
    tr = pft_traits(pft)
    senescent = _drought_trait(pft, options)
    shift = _phenology_shift(site, options)
    met_all = prepare_met(forcing, site, options, gp)
    final, (hourly, daily) = _scan_days(state, met_all, tp, gp, tr, site, shift, senescent, options)
    return hourly, daily, final


def first_years(forcing: Forcing, years: int) -> Forcing:
    """The first ``years`` × 365 days of ``forcing``, for recycling as spin-up forcing (model_spec §2.2; the
    workflow's ``spinup_years``). Day numbers are kept, so solar geometry and DALEC phenology see the same
    calendar days when the spin-up cycles them."""
    n = int(years) * 365
    n_days = int(np.shape(forcing.day_number)[0])
    if not 1 <= n <= n_days:
        raise ValueError(f"spin-up of {years} year(s) needs {n} days of forcing, got {n_days}")
    return Forcing(*(x[:n] for x in forcing))


def _safe_tiles(tile_params, pools0, fractions):
    """Replace padding tiles (fraction ≤ 0) by harmless C3-grass values so they cannot produce NaN."""
    safe_tp = default_tile_params(_SAFE_PFT)
    safe_pools = default_pools(_SAFE_PFT)
    real = fractions > 0.0

    def pick(x, s):
        x = jnp.asarray(x, dtype=jnp.float64)
        return jnp.where(real, x, jnp.broadcast_to(s, x.shape))

    tp = TileParams(*(pick(x, s) for x, s in zip(tile_params, safe_tp, strict=True)))
    pools = Pools(*(pick(x, s) for x, s in zip(pools0, safe_pools, strict=True)))
    return tp, pools


def aggregate(values, fractions):
    """Cover-weighted pixel value Σ_i f_i x_i over the tile axis (model_spec §1.2, §5.2 item 6).

    Padding tiles (f = 0) are masked before weighting, so a non-finite padding value cannot leak.
    """
    f = jnp.asarray(fractions, dtype=jnp.float64)
    f = f.reshape(f.shape + (1,) * (values.ndim - 1))
    return jnp.sum(jnp.where(f > 0.0, values, 0.0) * f, axis=0)


def run_tiles(
    tile_params: TileParams,
    global_params: GlobalParams,
    pools0: Pools,
    fractions,
    forcing: Forcing,
    site: Site,
    options: ModelOptions = ModelOptions(),
    spinup_forcing: Forcing | None = None,
    pfts=None,
):
    """Run the ≤ 6 PFT tiles of a pixel, each on its own (model_spec §1.2): :func:`run_tile` vmapped over a
    leading tile axis; returns ``(hourly, daily, final)`` stacked per tile, padding tiles included.

    Arguments as :func:`run_pixel`. Tile i's outputs depend on tile i's parameters and pools and on the
    global parameters only (no lateral exchange between tiles); ``tccas.da`` relies on this to linearise
    all tiles with one tangent direction per control slot. Padding tiles (fraction ≤ 0) run with safe
    C3-grass values and do not depend on their inputs.
    """
    if pfts is None:
        raise ValueError("run_pixel needs pfts (n_tiles,) int PFT codes (C3/C4 and N-scaling traits)")
    fractions = jnp.asarray(fractions, dtype=jnp.float64)
    if fractions.ndim != 1 or not 1 <= fractions.shape[0] <= MAX_TILES:
        raise ValueError(
            f"fractions must have shape (n_tiles,) with 1 <= n_tiles <= {MAX_TILES}, got {fractions.shape}"
        )
    pfts = jnp.asarray(pfts, dtype=jnp.int32)
    tp, pools = _safe_tiles(tile_params, pools0, fractions)

    def one(tp_i, pools_i, pft_i):
        return run_tile(tp_i, global_params, pools_i, forcing, site, pft_i, options, spinup_forcing)

    return jax.vmap(one)(tp, pools, pfts)


def pixel_output(hourly: dict, daily: dict, final: TileState, fractions) -> PixelOutput:
    """:class:`PixelOutput` from the per-tile outputs of :func:`run_tiles`: the cover-weighted pixel daily
    series (model_spec §1.2, :func:`aggregate`, which takes ``fractions`` as float64) beside the per-tile
    arrays."""
    c_total = (
        daily["c_lab"] + daily["c_fol"] + daily["c_roo"] + daily["c_woo"] + daily["c_lit"] + daily["c_som"]
    )
    pix_src = {k: daily[k] for k in PIXEL_DAILY_KEYS if k != "c_total"}
    pix_src["c_total"] = c_total
    pixel_daily = {k: aggregate(v, fractions) for k, v in pix_src.items()}
    return PixelOutput(hourly, daily, final, pixel_daily)


def run_pixel(
    tile_params: TileParams,
    global_params: GlobalParams,
    pools0: Pools,
    fractions,
    forcing: Forcing,
    site: Site,
    options: ModelOptions = ModelOptions(),
    spinup_forcing: Forcing | None = None,
    pfts=None,
) -> PixelOutput:
    """Run a pixel of up to 6 PFT tiles (contract C1; model_spec §1.2): :func:`run_tiles`, then
    :func:`pixel_output`.

    ``tile_params``/``pools0``: pytrees stacked with a leading tile axis; ``fractions`` (n_tiles,) cover
    fractions (padding tiles: 0 — their parameters are replaced by safe values, outputs masked);
    ``pfts`` (n_tiles,) int PFT codes — required: C3/C4 pathway and leaf-N scaling are static PFT traits
    derived from them (not carried in TileParams). ``spinup_forcing``: if given, each tile first runs over
    it from ``pools0`` (see :func:`spinup`) inside the same differentiable function.
    Pure JAX: jit with ``options`` static; differentiable w.r.t. every float leaf of tile_params,
    global_params and pools0.
    """
    hourly, daily, final = run_tiles(
        tile_params, global_params, pools0, fractions, forcing, site, options, spinup_forcing, pfts
    )
    return pixel_output(hourly, daily, final, fractions)
