"""Tests of the surface soil-moisture operator (obs_da_spec §5)."""

import jax.numpy as jnp
import numpy as np

from tccas.obs import soil_moisture as sm


def test_identity_and_rescaling():
    theta = jnp.array([[0.1, 0.2, 0.3]])
    t_hour = jnp.array([0, 30, 70], dtype=jnp.int32)
    np.testing.assert_allclose(
        sm.model_equivalent(theta, 0.0, 1.0, jnp.array([1.0]), t_hour), [0.1, 0.2, 0.3]
    )
    np.testing.assert_allclose(
        sm.model_equivalent(theta, 0.02, 0.5, jnp.array([1.0]), t_hour), [0.07, 0.12, 0.17]
    )


def test_partial_cover_is_normalised():
    theta = jnp.array([[0.1], [0.3]])
    m = sm.model_equivalent(theta, 0.0, 1.0, jnp.array([0.2, 0.6]), jnp.array([3], dtype=jnp.int32))
    np.testing.assert_allclose(m, [(0.2 * 0.1 + 0.6 * 0.3) / 0.8])
    assert 0.1 <= float(m[0]) <= 0.3
