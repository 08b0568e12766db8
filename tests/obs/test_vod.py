"""Tests of the L-VOD operator (obs_da_spec §4)."""

import jax
import jax.numpy as jnp
import numpy as np

from tccas.obs import common, vod


def test_f_temperature_check_values():
    t = [-20, -10, -5, -3, 0, 5, 10]
    ref = [0.25015, 0.27198, 0.45171, 0.625, 0.86318, 0.98651, 0.99887]
    np.testing.assert_allclose(vod.f_temperature(jnp.array(t, float)), ref, atol=6e-6)


def test_gauge_is_fixed():
    """With l_0 fixed the (c, 1/c) rescaling of §4.2 changes τ, i.e. the null direction is removed."""
    args = (10.0, 5000.0, 30.0, 0.6, 0.7)
    base = vod.tau_tile(*args, 5e-5, 2e-3, 0.5, 0.5)
    c = 2.0
    scaled = vod.tau_tile(*args, c * 5e-5, c * 2e-3, 0.5 / c, 0.5 / c)
    assert abs(float(scaled - base)) > 1e-3
    # with a free l_0 the rescaling is a null direction
    free = vod.tau_tile(*args, c * 5e-5, c * 2e-3, 0.5 / c, 0.5 / c, l_0=1 / c)
    np.testing.assert_allclose(free, base, rtol=1e-12)


def test_transmissivity_aggregation():
    tau = jnp.array([[0.8], [0.1]])
    fr = jnp.array([0.5, 0.5])
    agg = common.aggregate_transmissivity(tau, fr)
    np.testing.assert_allclose(agg, -np.log(0.5 * np.exp(-0.8) + 0.5 * np.exp(-0.1)))
    assert float(agg[0]) < 0.45  # below the linear mean
    # partial cover: bare remainder enters with tau = 0
    np.testing.assert_allclose(
        common.aggregate_transmissivity(tau[:1], jnp.array([0.5])), -np.log(0.5 * np.exp(-0.8) + 0.5)
    )


def test_model_equivalent_and_gradient():
    n_days = 3
    temp = jnp.full((1, n_days, 24), 15.0).at[0, 2, :].set(-20.0)
    c_woo = jnp.full((1, n_days), 4000.0)
    c_fol = jnp.full((1, n_days), 40.0)
    fs = jnp.full((1, n_days), 0.5)
    fe = jnp.full((1, n_days), 0.8)
    t_hour = jnp.array([6, 54], dtype=jnp.int32)

    def m(lwd):
        return vod.model_equivalent(temp, c_woo, c_fol, fs, fe, lwd, 2e-3, 0.5, 0.5, jnp.array([1.0]), t_hour)

    out = m(5e-5)
    thawed = float(vod.tau_tile(15.0, 4000.0, 40.0, 0.5, 0.8, 5e-5, 2e-3, 0.5, 0.5))
    np.testing.assert_allclose(out[0], thawed, rtol=1e-12)
    np.testing.assert_allclose(
        out[1] / out[0], vod.f_temperature(-20.0) / vod.f_temperature(15.0), rtol=1e-12
    )
    g = jax.jacfwd(m)(5e-5)
    np.testing.assert_allclose(g, out / 5e-5 * (4000 * 5e-5) / (4000 * 5e-5 + 40 * 2e-3), rtol=1e-10)
