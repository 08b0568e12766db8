"""Tower observation operators (NEE, LE, H, GPP) against hand computations on a tiny model run."""

import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tccas import model
from tccas.da import AssimilationSettings, ObsStream, PixelProblem, controls, cost, daily_stream
from tccas.obs import common, gpp, latent_heat, nee, sensible_heat

LAT, LON, N_DAYS = 61.85, 24.29, 5
FRACTIONS = np.array([0.5, 0.3])  # Σf = 0.8: the energy fluxes are normalised by the covered fraction
DAYS = np.array([0, 2, 3, 4, 2])  # window days of five daily observations (one day twice)
T_HOUR = jnp.asarray(common.daily_t_hour(DAYS), dtype=jnp.int32)


def lambda_hand(t_celsius):
    """λ [J kg-1] of model_spec §3.1 written out: 3.1512e6 − 2380 T_K above 0 °C, 2.834e6 below."""
    return np.where(t_celsius >= 0.0, 3.1512e6 - 2380.0 * (t_celsius + 273.16), 2.834e6)


@pytest.fixture(scope="module")
def run():
    """A 5-day, 2-tile Hyytiälä run in March (snow on the ground: sublimation) at the prior."""
    forcing = model.synthetic_forcing(LAT, LON, "2018-03-20", N_DAYS, seed=4)
    spin = model.synthetic_forcing(LAT, LON, "2018-03-10", 10, seed=4)
    empty = ObsStream(np.zeros(1, np.int32), np.zeros(1), np.ones(1), np.zeros(1), np.zeros(1))
    problem = PixelProblem(
        forcing,
        spin,
        model.default_site(LAT, LON),
        np.array([1, 9], np.int32),
        FRACTIONS,
        {s: empty for s in ("nee", "le", "h", "gpp")},
        np.asarray(1.0),
    )
    problem = jax.tree_util.tree_map(jnp.asarray, problem)
    settings = AssimilationSettings(streams=("nee", "le", "h", "gpp"))
    layout = controls.build_layout(2, streams=settings.streams)
    pr = controls.prior(layout, problem.pfts)
    out, op = cost.run_model(pr.x0, problem, layout, settings)
    daily = {k: np.asarray(v) for k, v in out.daily.items()}
    hourly = {k: np.asarray(v) for k, v in out.hourly.items()}
    return out, op, problem, settings, daily, hourly, forcing


def test_nee_and_gpp_are_cover_weighted_daily_fluxes(run):
    out, op, problem, settings, d, _, _ = run
    hand_nee = FRACTIONS @ (d["ra"] + d["rh"] - d["gpp"])[:, DAYS]
    np.testing.assert_allclose(nee.equivalent(out, op, problem, settings, T_HOUR), hand_nee, rtol=1e-12)
    np.testing.assert_allclose(
        gpp.equivalent(out, op, problem, settings, T_HOUR), FRACTIONS @ d["gpp"][:, DAYS]
    )
    assert np.all(d["gpp"] > 0) and np.ptp(hand_nee) > 0  # a living canopy and a signal that varies by day
    np.testing.assert_allclose(out.pixel_daily["nee"][DAYS], hand_nee, rtol=1e-12)


def test_latent_heat_is_lambda_times_et(run):
    out, op, problem, settings, d, _, _ = run
    liquid = d["transpiration"] + d["evap_soil"] + d["evap_interception"]
    le_tile = (lambda_hand(d["t_mean"]) * liquid + 2.834e6 * d["sublimation"]) / 86_400.0
    np.testing.assert_allclose(d["le"], le_tile, rtol=1e-12)
    np.testing.assert_allclose(d["et"], liquid + d["sublimation"], rtol=1e-12)
    hand = (FRACTIONS / FRACTIONS.sum()) @ le_tile[:, DAYS]
    np.testing.assert_allclose(latent_heat.equivalent(out, op, problem, settings, T_HOUR), hand, rtol=1e-12)
    assert np.all(hand > 0.5) and np.all(d["sublimation"] > 0)  # the snow pack sublimates: λ_s is used


def test_sensible_heat_closes_the_energy_balance(run):
    """H = (R_n − G) − LE with R_n − G the daily mean of (1 − g_frac)(L_net + (1 − albedo) SW↓) (model_spec
    §3.6: R_n,c + R_n,s = L_net − G + (a_v + a_s) SW↓, ρ_tot = 1 − a_v − a_s, G = g_frac (L_net + …))."""
    out, op, problem, settings, d, h, forcing = run
    g_frac = float(model.default_global_params().g_frac)
    l_net = forcing.lw_down - 0.97 * 5.6697e-8 * (forcing.t_air + 273.16) ** 4  # longwave="forcing"
    avail = ((1.0 - g_frac) * (l_net[None] + (1.0 - h["albedo"]) * h["sw_down"])).mean(axis=-1)
    np.testing.assert_allclose(d["available_energy"], avail, rtol=1e-10)
    np.testing.assert_allclose(d["h"], avail - d["le"], rtol=1e-10, atol=1e-9)
    hand = (FRACTIONS / FRACTIONS.sum()) @ (avail - d["le"])[:, DAYS]
    np.testing.assert_allclose(sensible_heat.equivalent(out, op, problem, settings, T_HOUR), hand, rtol=1e-10)


def test_daily_energy_fluxes_with_sublimation_below_freezing():
    wf = types.SimpleNamespace(
        transpiration=jnp.array([1.0, 0.0]),
        evap_soil=jnp.array([0.5, 0.1]),
        evap_interception=jnp.array([0.2, 0.0]),
        sublimation=jnp.array([0.0, 0.3]),
    )
    t_mean = jnp.array([12.0, -4.0])
    out = model.core.daily_energy_fluxes(wf, t_mean, jnp.array([90.0, 20.0]))
    le = np.array([lambda_hand(12.0) * 1.7, lambda_hand(-4.0) * 0.1 + 2.834e6 * 0.3]) / 86_400.0
    np.testing.assert_allclose(out["le"], le, rtol=1e-12)
    np.testing.assert_allclose(out["le"][0], 48.65, atol=0.01)  # 1.7 mm d-1 at 12 °C (λ = 2.4725e6 J kg-1)
    np.testing.assert_allclose(out["et"], [1.7, 0.4], rtol=1e-12)
    np.testing.assert_allclose(out["h"], np.array([90.0, 20.0]) - le, rtol=1e-12)


def test_daily_stream_masks_gaps_and_pads():
    s = daily_stream(
        np.array([0, 1, 3]), [1.5, np.nan, 40.0], [0.2, 0.1, 0.3], n_max=5, valid_range=(-25, 25)
    )
    np.testing.assert_array_equal(s.t_hour, [12, 36, 84, 0, 0])
    np.testing.assert_array_equal(s.mask, [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(s.value, [1.5, 0, 0, 0, 0])
    np.testing.assert_array_equal(s.sigma_obs, [0.2, 1, 1, 1, 1])
    assert s.t_hour.dtype == np.int32 and s.value.dtype == np.float64 and s.sigma_repr.shape == (5,)
    assert daily_stream(np.zeros(0, np.int64), [], []).mask.tolist() == [0.0]
    with pytest.raises(ValueError, match="do not fit"):
        daily_stream([0, 1], [1.0, 2.0], [0.1, 0.1], n_max=1)
    with pytest.raises(ValueError, match="integers"):
        daily_stream([0.5], [1.0], [0.1])
    with pytest.raises(ValueError, match="one length"):
        daily_stream([0, 1], [1.0], [0.1, 0.1])
