"""Tests of the SIF operator (obs_da_spec §3)."""

import jax
import jax.numpy as jnp
import numpy as np

from tccas.obs import sif


def test_gu_check_values():
    np.testing.assert_allclose(sif.sif_leaf_gu(100.0, 0.8), 1.28012, atol=5e-6)
    np.testing.assert_allclose(sif.sif_leaf_gu(100.0, 1.0), 1.02410, atol=5e-6)
    np.testing.assert_allclose(sif.sif_leaf_gu(200.0, 0.8), 2.56024, atol=5e-6)
    assert float(sif.sif_leaf_gu(0.0)) == 0.0


def test_conversion_constant():
    np.testing.assert_allclose(sif.photon_energy(743.0), 0.161005, atol=2e-6)
    np.testing.assert_allclose(sif.to_sif743(1.0), 0.4466, atol=1e-4)
    np.testing.assert_allclose(sif.to_sif743(1.0, scale=2.0), 2 * sif.to_sif743(1.0))


def test_escape_bounds_and_layer_convergence():
    f0 = sif.escape_fractions(jnp.zeros(3))
    np.testing.assert_allclose(f0, 0.5 * (1 + sif.R_GF))
    f = sif.escape_fractions(jnp.full(3, 2.0))
    assert np.all(np.diff(np.asarray(f)) < 0) and np.all((f > 0) & (f < 1))
    # 3 BETHY layers vs 10 layers for uniform J: difference < 2 % (obs_da_spec §3.3)
    lai = 4.0
    c3 = sif.sif_canopy(jnp.full(3, 100.0), jnp.full(3, lai / 3))
    c10 = sif.sif_canopy(jnp.full(10, 100.0), jnp.full(10, lai / 10))
    assert abs(float(c3 / c10) - 1) < 0.02


def test_linear_in_ja_and_grad_finite_at_zero_lai():
    lai = jnp.array([0.5, 0.5, 0.5])
    a = sif.sif_canopy(jnp.array([50.0, 30.0, 10.0]), lai)
    b = sif.sif_canopy(jnp.array([100.0, 60.0, 20.0]), lai)
    np.testing.assert_allclose(b, 2 * a, rtol=1e-12)
    g = jax.grad(lambda L: sif.sif_canopy(jnp.full(3, 80.0), L).sum())(jnp.zeros(3))
    assert np.all(np.isfinite(g))


def test_model_equivalent_gathers_hour():
    n_days = 2
    j_a = jnp.zeros((2, n_days, 24, 3)).at[:, 1, 11, :].set(100.0)
    lai = jnp.full((2, n_days, 24, 3), 1.0)
    m = sif.model_equivalent(
        j_a, lai, jnp.array([0.8, 0.8]), 1.0, jnp.array([0.5, 0.5]), jnp.array([35, 11], dtype=jnp.int32)
    )
    one = sif.tile_sif743(jnp.full((1, 3), 100.0), jnp.full((1, 3), 1.0), jnp.array([0.8]), 1.0)[0]
    np.testing.assert_allclose(m, [one, 0.0], rtol=1e-12)
    np.testing.assert_allclose(sif.overpass_utc_hour(0.0), 13.5)
    np.testing.assert_allclose(sif.overpass_utc_hour(30.0), 11.5)
