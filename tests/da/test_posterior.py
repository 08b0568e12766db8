"""Posterior covariance and propagation on analytic linear-Gaussian problems (obs_da_spec §6.6–6.7)."""

import jax
import jax.numpy as jnp
import numpy as np

from tccas.da import posterior, propagate


def linear_problem(seed=0, n_obs=12, n_u=4):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.normal(size=(n_obs, n_u))), jnp.asarray(rng.uniform(0.5, 3.0, n_u))


def test_gauss_newton_equals_exact_linear_posterior():
    g, sigma0 = linear_problem()
    h = posterior.gauss_newton_hessian(g)
    # full Hessian of J(u) = ½|u|² + ½|G u − d|² equals I + GᵀG for a linear model
    d = jnp.ones(g.shape[0])
    h_full = jax.hessian(lambda u: 0.5 * u @ u + 0.5 * jnp.sum((g @ u - d) ** 2))(jnp.zeros(4))
    np.testing.assert_allclose(h, h_full, rtol=1e-12)
    s = posterior.summarise(h, sigma0)
    c_u = np.linalg.inv(np.eye(4) + np.asarray(g.T @ g))
    np.testing.assert_allclose(s.cov_u, c_u, rtol=1e-10)
    np.testing.assert_allclose(s.cov_x, c_u * np.outer(sigma0, sigma0), rtol=1e-10)
    np.testing.assert_allclose(s.sd_post, np.asarray(sigma0) * np.sqrt(np.diag(c_u)), rtol=1e-10)
    np.testing.assert_allclose(np.diag(s.corr), 1.0, rtol=1e-12)
    np.testing.assert_allclose(s.dfs, 4 - np.trace(c_u), rtol=1e-10)
    lam = np.linalg.eigvalsh(np.asarray(g.T @ g))
    np.testing.assert_allclose(s.info_spectrum, lam, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s.dfs, np.sum(lam / (1 + lam)), rtol=1e-9)
    assert np.all((s.ur > 0) & (s.ur < 1))


def test_unobserved_control_keeps_prior():
    g = jnp.zeros((5, 3)).at[:, 0].set(1.0)
    s = posterior.summarise(posterior.gauss_newton_hessian(g), jnp.array([2.0, 3.0, 4.0]))
    np.testing.assert_allclose(s.sd_post[1:], [3.0, 4.0], rtol=1e-12)
    np.testing.assert_allclose(s.ur[1:], 0.0, atol=1e-12)
    np.testing.assert_allclose(s.sd_post[0], 2.0 / np.sqrt(6.0), rtol=1e-12)


def test_choose_hessian_falls_back_when_not_spd():
    h_gn = jnp.eye(2) * 3.0
    bad = jnp.array([[1.0, 0.0], [0.0, -0.5]])
    h, used = posterior.choose_hessian(bad, h_gn)
    assert not bool(used)
    np.testing.assert_array_equal(h, h_gn)
    good = jnp.array([[2.0, 0.5], [0.5, 1.0]])
    h, used = posterior.choose_hessian(good, h_gn)
    assert bool(used)
    np.testing.assert_allclose(h, good)


def test_propagation_linear_targets():
    g, _ = linear_problem(1)
    h = posterior.gauss_newton_hessian(g)
    c_u = posterior.covariance(h)
    a = jnp.asarray(np.random.default_rng(2).normal(size=(3, 4)))
    np.testing.assert_allclose(propagate.target_sd(a, c_u), np.sqrt(np.diag(a @ c_u @ a.T)), rtol=1e-12)
    np.testing.assert_allclose(propagate.target_covariance(a, c_u), a @ c_u @ a.T, rtol=1e-12)
    sd0 = propagate.target_sd(a)
    np.testing.assert_allclose(sd0, np.linalg.norm(np.asarray(a), axis=1), rtol=1e-12)
    ur = propagate.uncertainty_reduction(propagate.target_sd(a, c_u), sd0)
    assert np.all((ur > 0) & (ur < 1))
    assert float(propagate.uncertainty_reduction(jnp.asarray(0.0), jnp.asarray(0.0))) == 0.0
    # vmappable over a batch of pixels
    batch = jax.vmap(propagate.target_sd, in_axes=(0, None))(jnp.stack([a, 2 * a]), c_u)
    np.testing.assert_allclose(batch[1], 2 * batch[0], rtol=1e-12)
