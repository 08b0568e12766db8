import jax.numpy as jnp
import numpy as np
import pytest

from tccas import model as M
from tccas.model.nscale import nitrogen_scaling

GP = M.default_global_params()


def test_no_scaling_below_lailim_and_grasses():
    n = np.asarray(nitrogen_scaling(jnp.asarray(2.0), jnp.asarray(0.8), 1.0, GP))
    np.testing.assert_allclose(n, 1.0, atol=1e-6)
    n = np.asarray(nitrogen_scaling(jnp.asarray(7.0), jnp.asarray(0.8), 0.0, GP))
    np.testing.assert_allclose(n, 1.0)


@pytest.mark.parametrize("lai", [4.0, 6.0, 9.0, 20.0])
def test_full_scaling_positive_and_decreasing(lai):
    n = np.asarray(nitrogen_scaling(jnp.asarray(lai), jnp.asarray(0.6), 1.0, GP))
    assert n[0] == pytest.approx(1.0, abs=1e-6)
    assert np.all(np.diff(n) < 0) and np.all(n > 0)
    if lai >= 6.5:  # full exponential scaling (x clipped at laimax)
        np.testing.assert_allclose(n, np.exp(-0.5 / 0.6 * lai * np.arange(3) / 3), rtol=1e-3)
