"""Tests of the shared observation machinery (obs_da_spec §1)."""

import jax
import jax.numpy as jnp
import numpy as np

from tccas.obs import EO_STREAMS, STREAMS, common, fapar, sif


def test_streams():
    assert EO_STREAMS == ("fapar", "sif", "vod", "sm") == STREAMS[:4]


def test_total_sigma_and_floor():
    em = common.StreamErrorModel(0.1, 0.2, 0.15)
    sd = common.total_sigma(
        jnp.array([0.0, 2.0, 0.0]), jnp.array([0.0, 0.3, 0.3]), jnp.array([0.0, 0.0, 0.4]), em
    )
    np.testing.assert_allclose(sd, [0.15, np.sqrt(0.09 + 0.16), np.sqrt(0.09 + 0.01 + 0.16)])
    assert fapar.ERROR_MODEL.sigma_model_abs == 0.05 and sif.ERROR_MODEL.sigma_model_rel == 0.2


def test_sanitise_blocks_nan_from_gradient():
    value = jnp.array([1.0, jnp.nan, -9999.0, 2.0])
    sigma = jnp.array([0.1, 0.1, jnp.nan, 0.1])
    mask = jnp.array([1.0, 1.0, 1.0, 0.0])

    def cost(x):
        v, s, _, m = common.sanitise(value, sigma, jnp.zeros(4), mask)
        return jnp.sum(m * (x - v) ** 2 / s**2)

    val, g = jax.value_and_grad(cost)(jnp.full(4, 1.5))
    assert np.isfinite(val) and np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [100.0, 0, 0, 0])
    qc = common.qc_mask(value, sigma, (0.0, 5.0), fill_value=-9999.0, flags=jnp.array([0, 0, 0, 1]))
    np.testing.assert_array_equal(qc, [1, 0, 0, 0])


def test_time_matching():
    hourly = jnp.arange(48.0).reshape(1, 2, 24)
    np.testing.assert_allclose(common.gather_hourly(hourly, jnp.array([0, 25, 47])), [[0, 25, 47]])
    np.testing.assert_allclose(common.gather_daily(jnp.array([[5.0, 7.0]]), jnp.array([3, 30])), [[5, 7]])
    np.testing.assert_allclose(common.interp_hourly(hourly, jnp.array([13.5, 14.0])), [[13.0, 13.5]])
    np.testing.assert_array_equal(common.window_mask(jnp.array([-1, 0, 47, 48]), 2), [0, 1, 1, 0])


def test_uncertainty_summary():
    s = common.relative_uncertainty_summary(
        jnp.array([1.0, 2.0, 0.0]),
        jnp.array([0.5, 0.5, 1.0]),
        jnp.array([1.0, 1.0, 1.0]),
        jnp.array([1.0, 1.0, 0.0]),
    )
    assert int(s["n_obs"]) == 2
    np.testing.assert_allclose(s["mean_rel_sigma_obs_pct"], 37.5)
    np.testing.assert_allclose(s["mean_rel_sigma_d_pct"], 75.0)
