"""Ecological and dynamical constraints (tccas.model.edc; Bloom & Williams 2015, Biogeosciences 12, 1299)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tccas import model as M
from tccas.model import edc

DAYS = edc.DAYS_PER_SEGMENT_YEAR
EVCN, C3GR = M.PFT_NAMES.index("EvCn"), M.PFT_NAMES.index("C3Gr")
TP = M.default_tile_params(EVCN)
# balanced DALEC fluxes [gC m-2 d-1]: every pool's input equals its output
FLUXES = {
    "labile_production": 1.0,
    "labile_release": 1.0,
    "leaf_production": 2.0,
    "leaf_litter_production": 3.0,
    "root_production": 1.5,
    "rootlitter_production": 1.5,
    "wood_production": 2.0,
    "woodlitter_production": 2.0,
    "respiration_het_litter": 3.5,
    "litter2som": 1.0,
    "respiration_het_som": 3.0,
    "gpp": 10.0,
    "respiration_auto": 5.0,
}
POOLS = {"lab": 100.0, "fol": 150.0, "roo": 120.0, "woo": 8000.0, "lit": 300.0, "som": 20000.0}


def synthetic_daily(
    n_years=3, lai_min_frac=0.8, som_trend=0.0, lai_trend=0.0, lit_out_factor=1.0, n_days=None
):
    """Daily dict of a run at steady state: constant pools, balanced fluxes, a seasonal LAI cycle whose
    minimum is ``lai_min_frac`` of its peak; optional linear trends [yr-1] and a litter-output factor."""
    n = n_years * DAYS if n_days is None else n_days
    t = jnp.arange(n, dtype=jnp.float64)
    years = t / DAYS
    season = 0.5 * (1.0 - jnp.cos(2.0 * jnp.pi * t / DAYS))  # 0 in January, 1 in July
    fol = POOLS["fol"] * (lai_min_frac + (1.0 - lai_min_frac) * season) * (1.0 + lai_trend * years)
    d = {f"c_{p}": jnp.full(n, v) for p, v in POOLS.items()}
    d["c_fol"] = fol
    d["c_som"] = POOLS["som"] * (1.0 + som_trend * years)
    d["lai"] = fol / TP.lma
    d["t_mean"] = 5.0 + 10.0 * season
    d.update({k: jnp.full(n, v) for k, v in FLUXES.items()})
    d["respiration_het_litter"] = d["respiration_het_litter"] * lit_out_factor
    d["litter2som"] = d["litter2som"] * lit_out_factor
    return d


def test_steady_run_passes_everything():
    rep = edc.edc_report(synthetic_daily(), TP, EVCN)
    assert rep["all_passed"] and rep["failed"] == []
    assert set(rep) - {"all_passed", "failed"} == set(edc.EDC_NAMES)  # 3 years: every constraint evaluated
    for name in edc.EDC_NAMES:
        assert rep[name]["penalty"] == 0.0, name
    assert rep["steady_state_fol"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert rep["trend_woo"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert rep["evergreen_lai"]["value"] == pytest.approx(0.8, rel=1e-4)
    assert float(edc.edc_penalty(synthetic_daily(), TP, EVCN)) == 0.0


def test_pool_trend_fails_and_penalty_is_quadratic():
    rep = edc.edc_report(synthetic_daily(som_trend=0.02), TP, EVCN)
    # annual means C0 (1 + 0.02 (k + 0.5)) → slope 0.02 C0 over a mean C0 (1 + 0.02 · 1.5)
    assert rep["trend_som"]["value"] == pytest.approx(0.02 / 1.03, rel=1e-3)
    assert not rep["trend_som"]["passed"] and rep["failed"] == ["trend_som"]
    v = (rep["trend_som"]["value"] - 0.01) / 0.01
    assert rep["trend_som"]["penalty"] == pytest.approx(0.5 * v**2, rel=1e-10)
    ok = edc.edc_report(synthetic_daily(som_trend=0.005), TP, EVCN)  # within the 1 % yr-1 bound
    assert ok["all_passed"]


def test_steady_state_flux_ratio():
    """|ln(F_in/F_out)| ≤ ln 2 (EDCs 7-12): litter losing carbon 3× faster than it gains fails."""
    rep = edc.edc_report(synthetic_daily(lit_out_factor=3.0), TP, EVCN)
    assert rep["steady_state_lit"]["value"] == pytest.approx(-np.log(3.0), rel=1e-12)
    assert not rep["steady_state_lit"]["passed"]
    assert rep["steady_state_lit"]["penalty"] == pytest.approx(
        0.5 * ((np.log(3) - np.log(2)) / np.log(2)) ** 2
    )
    # the extra litter→SOM flux also raises the SOM input by (1·3 + 2)/3: within a factor 2, passes
    assert (
        rep["steady_state_som"]["value"] == pytest.approx(np.log(5.0 / 3.0))
        and rep["steady_state_som"]["passed"]
    )
    assert rep["failed"] == ["steady_state_lit"]
    loose = edc.edc_report(synthetic_daily(lit_out_factor=3.0), TP, EVCN, edc.EDCSettings(eqf=4.0))
    assert loose["all_passed"]


def test_lai_trend_and_evergreen():
    shrinking = edc.edc_report(synthetic_daily(lai_trend=-0.01), TP, EVCN)
    assert not shrinking["lai_trend"]["passed"] and not shrinking["trend_fol"]["passed"]
    assert shrinking["lai_trend"]["value"] == pytest.approx(-0.01 / (1 - 0.015), rel=1e-3)
    # over the last year only there is no trend to measure: needs 2 years
    with pytest.raises(ValueError, match="2 whole years"):
        edc.edc_report(synthetic_daily(lai_trend=-0.01), TP, EVCN, edc.EDCSettings(lai_trend_years=1))
    last2 = edc.edc_report(synthetic_daily(lai_trend=-0.01), TP, EVCN, edc.EDCSettings(lai_trend_years=2))
    assert last2["lai_trend"]["value"] == pytest.approx(-0.01 / (1 - 0.02), rel=1e-3)
    sparse = synthetic_daily(lai_min_frac=0.5)
    rep = edc.edc_report(sparse, TP, EVCN)
    assert (
        rep["evergreen_lai"]["value"] == pytest.approx(0.5, rel=1e-4) and not rep["evergreen_lai"]["passed"]
    )
    assert rep["evergreen_lai"]["penalty"] > 0.0
    assert edc.edc_report(sparse, M.default_tile_params(C3GR), C3GR)["evergreen_lai"]["passed"]  # grass
    assert "evergreen_lai" not in edc.edc_report(sparse, TP)  # no PFT codes: not evaluated


def test_carbon_use_efficiency():
    d = synthetic_daily()
    assert edc.edc_report(d, TP, EVCN)["ra_gpp"]["value"] == pytest.approx(0.5)
    d["respiration_auto"] = 0.3 * d["gpp"]  # CUE 0.7: Ra/GPP 0.1 below the band
    rep = edc.edc_report(d, TP, EVCN)
    assert rep["failed"] == ["ra_gpp"] and rep["ra_gpp"]["value"] == pytest.approx(0.3)
    assert rep["ra_gpp"]["penalty"] == pytest.approx(0.5 * (0.1 / 0.05) ** 2)
    assert edc.edc_report(d, TP, EVCN, edc.EDCSettings(ra_gpp_min=0.25))["all_passed"]


def test_ranges():
    d = synthetic_daily()
    d["c_woo"] = d["c_woo"].at[400].set(1.2e5)  # above the 1e5 gC m-2 prior upper bound of C_woo
    d["c_lit"] = d["c_lit"].at[10].set(-1.0)
    rep = edc.edc_report(d, TP, EVCN)
    assert set(rep["failed"]) == {"max_woo", "min_lit"}
    assert rep["max_woo"]["value"] == 1.2e5 and rep["min_lit"]["value"] == -1.0
    n = d["c_woo"].shape[-1]
    assert rep["max_woo"]["penalty"] == pytest.approx(0.5 * (2e4 / 1e5) ** 2 / n)
    tall = edc.edc_report(synthetic_daily(), TP, EVCN, edc.EDCSettings(lai_max=3.0))
    assert tall["failed"] == ["max_lai"]  # peak LAI 150/36.1 = 4.2


def test_turnover_ordering():
    assert all(
        edc.edc_checks(synthetic_daily(), M.default_tile_params(p), p)[k]
        for p in range(1, 14)
        for k in edc.EDC_NAMES[:5]
    )
    bad = TP._replace(theta_som=jnp.asarray(1e-2), theta_woo=jnp.asarray(9e-3))
    rep = edc.edc_report(synthetic_daily(), bad, EVCN)
    assert rep["litter_faster_than_som"]["value"] == pytest.approx(np.log(float(TP.theta_lit) / 1e-2))
    expect = {
        "litter_faster_than_som",
        "litter2som_faster_than_som",
        "foliage_faster_than_wood",
        "roots_faster_than_som",
    }
    assert expect <= set(rep["failed"])
    t_run = float(np.mean(synthetic_daily()["t_mean"]))
    want = np.log(float(TP.theta_roo) / (1e-2 * np.exp(float(TP.temp_sens) * t_run)))
    assert rep["roots_faster_than_som"]["value"] == pytest.approx(want)
    rooty = TP._replace(f_fol=jnp.asarray(0.02), f_lab=jnp.asarray(0.01), f_roo=jnp.asarray(0.9))
    assert not edc.edc_checks(synthetic_daily(), rooty, EVCN)["canopy_root_allocation"]


def test_short_runs_and_tiles_and_errors():
    short = edc.edc_constraints(synthetic_daily(n_days=200), TP, EVCN)
    assert not any(k.startswith(("steady_state", "trend")) or k == "lai_trend" for k in short)
    one_year = edc.edc_constraints(synthetic_daily(n_days=400), TP, EVCN)
    assert "steady_state_som" in one_year and "trend_som" not in one_year
    # two tiles: EvCn with a sparse winter canopy, C3Gr; stacked parameters
    a, b = synthetic_daily(lai_min_frac=0.5), synthetic_daily()
    two = {k: jnp.stack([a[k], b[k]]) for k in a}
    tps = M.stack_tiles([TP, M.default_tile_params(C3GR)])
    rep = edc.edc_report(two, tps, np.array([EVCN, C3GR]))
    assert rep["evergreen_lai"]["passed"] == [False, True] and rep["failed"] == ["evergreen_lai"]
    pens = edc.edc_penalties(two, tps, np.array([EVCN, C3GR]))
    assert pens["evergreen_lai"].shape == (2,) and float(pens["evergreen_lai"][1]) == 0.0
    total = edc.edc_penalty(two, tps, np.array([EVCN, C3GR]))
    assert float(total) == pytest.approx(float(pens["evergreen_lai"][0]))
    assert float(edc.edc_penalty(two, tps, np.array([EVCN, C3GR]), tile_weights=np.array([0.0, 1.0]))) == 0.0
    assert float(
        edc.edc_penalty(two, tps, np.array([EVCN, C3GR]), weights={"evergreen_lai": 3.0})
    ) == pytest.approx(3.0 * float(total))
    with pytest.raises(KeyError, match="unknown constraints"):
        edc.edc_penalty(two, tps, weights={"steady": 1.0})
    del b["litter2som"]
    with pytest.raises(KeyError, match="'litter2som'"):
        edc.edc_constraints(b, TP)


def test_penalty_gradient_matches_finite_differences():
    """d(edc_penalty)/dx by AD equals central differences where several constraints are violated at once."""

    def cost(x):
        d = synthetic_daily(lai_min_frac=x[0], som_trend=x[1], lit_out_factor=x[2])
        tp = TP._replace(theta_som=x[3], theta_woo=x[4])
        return edc.edc_penalty(d, tp, EVCN, weights={"trend_som": 2.0})

    x0 = jnp.asarray([0.45, 0.03, 2.5, 2e-3, 4e-3])
    assert float(cost(x0)) > 0.0
    g = np.asarray(jax.grad(cost)(x0))
    for i in range(x0.size):
        h = 1e-6 * abs(float(x0[i]))
        e = jnp.zeros_like(x0).at[i].set(h)
        fd = (float(cost(x0 + e)) - float(cost(x0 - e))) / (2.0 * h)
        assert g[i] == pytest.approx(fd, rel=1e-5, abs=1e-9), i
        assert g[i] != 0.0, i  # every control reaches a violated constraint
    assert np.isfinite(np.asarray(jax.grad(cost)(jnp.asarray([0.8, 0.0, 1.0, 1e-5, 1e-4])))).all()


def test_short_model_run(pixel_summer):
    """EDCs on the coupled model's daily output (2 tiles, 6 June days): the priors satisfy EDCs 1-6, the
    pools and LAI stay in range; the values agree with a direct computation from the parameters."""
    out, tp, _pools, pfts = pixel_summer
    rep = edc.edc_report(out.daily, tp, pfts)
    for name in edc.EDC_NAMES[:5]:  # EDCs 1-5 of the priors
        assert rep[name]["passed"] == [True, True], name
    for name in (f"{side}_{v}" for v in (*edc.POOL_NAMES, "lai") for side in ("min", "max")):
        assert rep[name]["passed"] == [True, True], name
    assert not any(k.startswith(("steady_state", "trend")) for k in rep)  # 6 days: no whole year
    lit, som = np.asarray(tp.theta_lit), np.asarray(tp.theta_som)
    np.testing.assert_allclose(rep["litter_faster_than_som"]["value"], np.log(lit / som), rtol=1e-12)
    fol = np.asarray(out.daily["c_fol"]).mean(axis=-1)
    roo = np.asarray(out.daily["c_roo"]).mean(axis=-1)
    np.testing.assert_allclose(rep["foliage_root_ratio"]["value"], np.log(fol / roo), rtol=1e-12)
    assert rep["foliage_root_ratio"]["passed"] == list(np.abs(np.log(fol / roo)) <= np.log(5.0))
    lai = np.asarray(out.daily["lai"])  # TmSg leafing out, C3Gr: neither is evergreen, both pass
    np.testing.assert_allclose(rep["evergreen_lai"]["value"], lai.min(axis=-1) / lai.max(axis=-1), rtol=1e-12)
    assert rep["evergreen_lai"]["passed"] == [True, True]
    slow_lit = tp._replace(theta_som=jnp.full(2, 1e-2))  # SOM faster than litter: EDC 1 violated
    g = jax.grad(lambda t: edc.edc_penalty(out.daily, t, pfts))(slow_lit)
    assert np.all(np.asarray(g.theta_lit) < 0.0)  # raising θ_lit eases the violated ordering
