import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tccas import model  # noqa: F401  (float64)
from tccas.model.smooth import maxx, minx, smax, smin, step


@pytest.mark.parametrize(("x", "y"), [(1.0, 2.0), (3.0, 0.5), (0.0, 0.0), (0.2, 0.2), (5.0, 0.0)])
def test_smin_below_min_and_sign_preserving(x, y):
    v = float(smin(x, y))
    assert v <= min(x, y) + 1e-12
    assert v >= -1e-12
    assert float(smax(x, y)) >= max(x, y) - 1e-12


def test_smin_approaches_min_when_far_apart():
    assert float(smin(1.0, 100.0)) == pytest.approx(1.0, rel=2e-3)


def test_minx_maxx_exact_away_from_kink_and_c1():
    assert float(minx(0.0, 10.0, 0.1)) == pytest.approx(0.0, abs=1e-30)
    assert float(minx(11.0, 10.0, 0.1)) == 10.0
    assert float(maxx(-5.0, 0.0, 0.1)) == 0.0
    assert float(maxx(5.0, 0.0, 0.1)) == pytest.approx(5.0, abs=1e-20)
    # continuity of value and slope at the switch point x = y + w
    g = jax.grad(lambda x: minx(x, 1.0, 0.1))
    assert float(g(1.1 - 1e-9)) == pytest.approx(0.0, abs=1e-6)
    assert float(minx(1.1 - 1e-12, 1.0, 0.1)) == pytest.approx(1.0, abs=1e-9)


def test_no_nan_gradients_at_kinks():
    for f in (
        lambda x: smin(x, 0.0),
        lambda x: smin(x, x),
        lambda x: maxx(x, 0.0, 1e-3),
        lambda x: step(x, 0.5),
    ):
        g = jax.grad(f)(jnp.asarray(0.0))
        assert np.isfinite(float(g))
