"""Drought response (issue #25 item 3): PFT rooting depths (the ``wmax_scale`` prior) and drought-driven leaf
senescence of the grasses (``tccas.model.dalec.drought_senescence_factor``, switch
``ModelOptions.drought_senescence``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from tccas import model as M
from tccas.model import dalec

MAJADAS = (39.94, -5.77)
LOOBOS = (52.17, 5.74)
N_DAYS = 30
C3GR, C4GR, TMEV, TMSG, TUND = 9, 10, 3, 4, 11


def _total(p):
    return sum(getattr(p, k) for k in M.Pools._fields)


def _summer(rain: bool, place=MAJADAS):
    """30 summer days (Majadas in July by default); without rain for a dry spell."""
    f = M.synthetic_forcing(*place, "2018-07-01", N_DAYS, seed=5)
    if not rain:
        f = f._replace(precip=np.zeros_like(f.precip))
    return f, M.default_site(*place)


def _state0(pools, tp, site, forcing, gp, f_water):
    """Documented initial state with the root zone at ``f_water`` of its capacity."""
    st = M.initial_state(pools, tp, site, forcing, gp)
    w_max = site.w_max * tp.wmax_scale
    return st._replace(water=st.water._replace(w_r=jnp.asarray(f_water * w_max)))


@pytest.fixture(scope="module")
def run_tile_jit():
    return jax.jit(M.run_tile, static_argnames="options")


def _grass_run(run_tile_jit, gp, pft, f_water, rain, senescence, place=MAJADAS):
    forcing, site = _summer(rain, place)
    tp = M.default_tile_params(pft)
    pools = M.default_pools(pft)._replace(fol=jnp.asarray(3.0) * tp.lma)  # LAI 3, a green canopy
    opts = M.ModelOptions(drought_senescence=senescence)
    state0 = _state0(pools, tp, site, forcing, gp, f_water)
    _, daily, _ = run_tile_jit(tp, gp, pools, forcing, site, pft, opts, state0=state0)
    return {k: np.asarray(v) for k, v in daily.items()}


# --- (a) US-Var: the Mediterranean annual grass is brown in summer -----------------------------------------


def test_us_var_summer_gpp_collapses(repo_root, real_data_dir):
    """US-Var (annual C3 grassland, California): modelled JJA GPP ≤ 30 % of MAM GPP, per year averaged over
    the record, with the default prior and the site-mode machinery (tower: about 0)."""
    from tccas import site

    cfg = site.load_sites_config(repo_root / "config/sites.yaml")
    cfg["data_root"] = str(real_data_dir)
    sd = site.load_configured_site(cfg, "US-Var")
    r = site.run(sd, site.site_settings(cfg))
    d = pd.DatetimeIndex(r.time.values)
    gpp = r.gpp.values
    jja, mam = d.month.isin([6, 7, 8]), d.month.isin([3, 4, 5])
    ratios = [gpp[(d.year == y) & jja].mean() / gpp[(d.year == y) & mam].mean() for y in np.unique(d.year)]
    assert np.all(np.isfinite(ratios)) and len(ratios) == 9
    assert np.mean(ratios) <= 0.30, ratios
    assert gpp[mam].mean() > 2.0  # a spring growing season, not a dead canopy


# --- (b) the switch ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("pft", [C3GR, C4GR])
def test_drought_senescence_sheds_grass_leaves_in_a_dry_spell(run_tile_jit, gp, pft):
    """Root zone at 5 % of capacity, no rain: with the switch on the grass loses LAI faster than with the
    calendar phenology alone; the extra loss goes to litter (carbon conserved every day)."""
    on = _grass_run(run_tile_jit, gp, pft, 0.05, False, True)
    off = _grass_run(run_tile_jit, gp, pft, 0.05, False, False)
    assert on["lai"][-1] < 0.75 * off["lai"][-1]
    assert np.all(on["lai"] <= off["lai"] + 1e-12)
    assert on["leaf_litter_production"].sum() > off["leaf_litter_production"].sum()
    assert on["lai"][-1] > dalec.DROUGHT_RESIDUAL_LAI  # relaxes towards the residual, not below it
    for run in (on, off):
        total = sum(run[f"c_{k}"] for k in M.Pools._fields)
        assert np.abs(np.diff(total) - (run["gpp"] - run["ra"] - run["rh"])[1:]).max() < 1e-9


def test_drought_senescence_inert_with_plenty_of_water(run_tile_jit, gp):
    """Full root zone and rain (Loobos summer): the drought term is exactly 0, so on and off are equal."""
    on = _grass_run(run_tile_jit, gp, C3GR, 1.0, True, True, LOOBOS)
    off = _grass_run(run_tile_jit, gp, C3GR, 1.0, True, False, LOOBOS)
    assert on["f_soil"].min() > 0.5
    np.testing.assert_allclose(on["lai"], off["lai"], rtol=1e-9)
    np.testing.assert_allclose(on["gpp"], off["gpp"], rtol=1e-9)


def test_drought_senescence_is_for_grasses_only(run_tile_jit, gp):
    """A tree (TmSg) in the same dry spell is unaffected by the switch (static PFT trait)."""
    assert dalec.DROUGHT_SENESCENCE_PFT.tolist() == [0] * 9 + [1, 1] + [0] * 3
    on = _grass_run(run_tile_jit, gp, TMSG, 0.05, False, True)
    off = _grass_run(run_tile_jit, gp, TMSG, 0.05, False, False)
    np.testing.assert_array_equal(on["lai"], off["lai"])


def test_switch_default_and_config():
    assert M.ModelOptions().drought_senescence is True
    assert M.ModelOptions.from_config({"drought_senescence": False}).drought_senescence is False


def test_drought_senescence_factor_shape():
    """Φ_d = k_d (1 − min(f_W/f_senesc, 1)) on the foliage above the residual LAI."""
    tp = M.default_tile_params(C3GR)
    f_sen = float(tp.f_senesc)

    def phi(f, lai):
        return float(dalec.drought_senescence_factor(jnp.asarray(f), jnp.asarray(lai), tp))

    assert phi(0.0, 1e7) == pytest.approx(dalec.DROUGHT_FALL_RATE, rel=1e-6)
    assert phi(0.5 * f_sen, 1e7) == pytest.approx(0.5 * dalec.DROUGHT_FALL_RATE, rel=1e-5)
    assert phi(f_sen + 0.03, 3.0) == 0.0 and phi(1.0, 3.0) == 0.0  # exact: no effect when wet
    assert phi(0.0, 0.0) == 0.0 and phi(0.0, dalec.DROUGHT_RESIDUAL_LAI / 1.06) == 0.0
    lai = 2.0 * dalec.DROUGHT_RESIDUAL_LAI  # loss k_d (C_fol − C_res): rate k_d (1 − LAI_res/LAI)
    assert phi(0.0, lai) == pytest.approx(0.5 * dalec.DROUGHT_FALL_RATE, rel=1e-5)
    values = [phi(f, 3.0) for f in np.linspace(0.0, 1.0, 41)]
    assert np.all(np.diff(values) <= 1e-15)  # monotone: the drier, the faster


@pytest.mark.parametrize("dt", [1.0, 1.0 / 24.0])
def test_carbon_conservation_with_drought_senescence(dt):
    """ΣC(t+Δt) − ΣC(t) = (GPP − Ra − Rh)Δt with Φ_d > 0; the drought loss is leaf litter."""
    tp = M.default_tile_params(C3GR)
    pools = M.default_pools(C3GR)._replace(fol=jnp.asarray(120.0))
    base, fl0 = dalec.dalec_step(pools, 4.0, 1.5, 20.0, 200.0, tp, dt)
    new, fl = dalec.dalec_step(pools, 4.0, 1.5, 20.0, 200.0, tp, dt, phi_drought=0.05)
    rh = fl.respiration_het_litter + fl.respiration_het_som
    assert abs(float(_total(new) - _total(pools) - (fl.gpp - fl.respiration_auto - rh) * dt)) < 1e-9
    assert float(fl.leaffall_factor) == pytest.approx(float(fl0.leaffall_factor) + 0.05, rel=1e-12)
    assert float(fl.leaf_litter_production) > float(fl0.leaf_litter_production) + 0.04 * 120.0
    assert float(new.fol) < float(base.fol) and float(new.lit) > float(base.lit)


# --- (c) rooting depth -------------------------------------------------------------------------------------


def test_wmax_scale_prior_is_rooting_depth_over_1p5_m():
    spec = M.param_spec("wmax_scale")
    prior = np.asarray(spec.prior)
    assert prior[TMEV] == pytest.approx(3.0 / 1.5) and prior[C3GR] == pytest.approx(1.0)
    assert prior[TUND] == pytest.approx(0.5 / 1.5)
    assert np.all((prior >= 0.2) & (prior <= 4.0)) and np.all(spec.upper == 4.0)
    np.testing.assert_allclose(spec.sigma, 0.2 * prior)


def test_deeper_roots_keep_f_soil_higher_in_a_dry_summer(gp):
    """The same grass tile with the rooting depth of TmEv (3 m), C3Gr (1.5 m) and Tund (0.5 m), 30 days
    without rain from a full root zone: the deeper the roots, the higher f_soil and transpiration."""
    forcing, site = _summer(rain=False)
    prior = np.asarray(M.param_spec("wmax_scale").prior)
    tps = [M.default_tile_params(C3GR)._replace(wmax_scale=jnp.asarray(prior[p])) for p in (TMEV, C3GR, TUND)]
    pools = M.default_pools(C3GR)._replace(fol=jnp.asarray(2.0 * 46.9))
    tp = M.stack_tiles(tps)
    pools = M.stack_tiles([pools] * 3)
    pfts = np.array([C3GR] * 3)
    out = jax.jit(M.run_pixel, static_argnames="options")(
        tp, gp, pools, np.full(3, 1.0 / 3.0), forcing, site, pfts=pfts
    )
    f_soil = np.asarray(out.daily["f_soil"])
    deep, ref, shallow = f_soil[:, -1]
    assert deep > ref > shallow
    assert shallow < 0.5 < deep  # the shallow bucket is nearly empty, the deep one is not
    transp = np.asarray(out.daily["transpiration"])[:, -10:].sum(axis=1)
    assert transp[0] >= transp[1] > transp[2]


# --- (d) gradients on dry soil -----------------------------------------------------------------------------


def test_gradient_finite_at_dry_soil_and_bare_ground():
    tp = M.default_tile_params(C3GR)

    def phi(f, lai, f_sen):
        return dalec.drought_senescence_factor(f, lai, tp._replace(f_senesc=f_sen))

    grad = jax.grad(phi, argnums=(0, 1, 2))
    for f, lai in ((0.0, 0.0), (0.0, 3.0), (1e-12, 1e-12), (0.0, dalec.DROUGHT_RESIDUAL_LAI)):
        g = [float(x) for x in grad(jnp.asarray(f), jnp.asarray(lai), tp.f_senesc)]
        assert np.all(np.isfinite(g)), (f, lai, g)
    g_f, g_lai, g_sen = grad(jnp.asarray(0.1), jnp.asarray(3.0), tp.f_senesc)
    assert float(g_f) < 0 < float(g_lai) and float(g_sen) > 0


def test_run_gradient_finite_from_an_empty_root_zone(gp):
    """Reverse-mode gradient of a dry-spell run from W_r = 0 (f_soil = 0) w.r.t. every tile parameter and
    initial pool: finite, and f_senesc matters (the drought term is active)."""
    forcing, site = _summer(rain=False)
    forcing = M.Forcing(*(np.asarray(x)[:6] for x in forcing))
    pools = M.default_pools(C3GR)._replace(fol=jnp.asarray(2.0 * 46.9))

    def objective(tp, pools):
        state0 = _state0(pools, tp, site, forcing, gp, 0.0)
        _, daily, _ = M.run_tile(tp, gp, pools, forcing, site, C3GR, M.ModelOptions(), state0=state0)
        return daily["lai"][-1] + jnp.sum(daily["gpp"])

    g_tp, g_pools = jax.jit(jax.grad(objective, argnums=(0, 1)))(M.default_tile_params(C3GR), pools)
    leaves = jax.tree_util.tree_leaves((g_tp, g_pools))
    assert all(np.isfinite(np.asarray(x)).all() for x in leaves)
    assert float(g_tp.f_senesc) < 0  # a higher threshold sheds more foliage: less LAI and GPP
