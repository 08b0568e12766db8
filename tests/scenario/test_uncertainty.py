"""Linear propagation of covariances to targets (obs_da_spec §6.7)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tccas.scenario.uncertainty import combination_sd, propagate, quadratic_sd, reduction


def _target(x):
    return jnp.stack([x[0] * x[1], jnp.sin(x[2]) + x[0] ** 2, 0.0 * x[0]])


def test_propagate_matches_explicit_jacobian():
    x_post = jnp.array([1.0, 2.0, 0.3])
    x_prior = jnp.array([1.2, 1.5, 0.1])
    a = np.array([[0.5, 0.1, 0.0], [0.1, 0.3, 0.05], [0.0, 0.05, 0.2]])
    c_post = jnp.asarray(a @ a.T)
    c_prior = jnp.diag(jnp.array([0.6, 0.7, 0.4]) ** 2)
    out = propagate(_target, x_post, c_post, x_prior, c_prior)
    jac = np.asarray(jax.jacfwd(_target)(x_post))
    jac0 = np.asarray(jax.jacfwd(_target)(x_prior))
    np.testing.assert_allclose(out.value, _target(x_post))
    np.testing.assert_allclose(out.value_prior, _target(x_prior))
    np.testing.assert_allclose(out.sd_post, np.sqrt(np.diag(jac @ np.asarray(c_post) @ jac.T)), rtol=1e-12)
    np.testing.assert_allclose(
        out.sd_prior, np.sqrt(np.diag(jac0 @ np.asarray(c_prior) @ jac0.T)), rtol=1e-12
    )
    # a target independent of x: σ = 0 and UR = 0 (no division by zero)
    assert out.sd_post[2] == 0.0 and out.sd_prior[2] == 0.0 and out.ur[2] == 0.0
    np.testing.assert_allclose(out.ur[:2], 1.0 - out.sd_post[:2] / out.sd_prior[:2])


def test_posterior_equal_prior_gives_zero_reduction():
    x0 = jnp.array([1.0, 2.0, 0.3])
    c0 = jnp.diag(jnp.array([0.2, 0.4, 0.06]) ** 2)
    out = propagate(_target, x0, c0, x0, c0)
    np.testing.assert_array_equal(out.ur, 0.0)


def test_combination_and_gradient_safety():
    jac = jnp.array([[1.0, 0.0], [0.0, 2.0]])
    cov = jnp.array([[1.0, 0.5], [0.5, 1.0]])
    # var(y0 + y1) = 1 + 4 + 2*2*0.5
    np.testing.assert_allclose(combination_sd(jnp.array([[1.0, 1.0]]), jac, cov), [np.sqrt(7.0)])
    # the square root at exactly zero variance must not give NaN gradients
    grad = jax.grad(lambda s: quadratic_sd(s * jac, cov).sum())(0.0)
    assert np.isfinite(grad)
    assert float(reduction(jnp.array(0.0), jnp.array(0.0))) == 0.0
