import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tccas import model as M
from tccas.model import radiation


def _run(lai, mu=0.6, f_dir=0.7, rho_s=0.15, fc=1.0, omega=0.12):
    a = lambda v: jnp.asarray(v, dtype=jnp.float64)  # noqa: E731
    return radiation.two_stream_layers(a(lai), a(fc), a(mu), a(f_dir), a(rho_s), omega)


@pytest.mark.parametrize("lai", [0.0, 0.3, 1.0, 3.0, 8.0, 20.0])
@pytest.mark.parametrize("mu", [0.05, 0.5, 1.0])
def test_fapar_bounds_and_layer_sum(lai, mu):
    dfl, fapar = _run(lai, mu)
    assert np.isfinite(np.asarray(dfl)).all()
    assert float(jnp.sum(dfl)) == pytest.approx(float(fapar), abs=1e-14)
    assert 0.0 <= float(fapar) <= 1.0 - 0.0 + 1e-12
    assert np.all(np.asarray(dfl) >= -1e-12)


def test_black_leaves_direct_beam_limit():
    """ω → 0, ρ_p = 0, fc = 1, direct light: FAPAR → 1 − exp(−0.5 LAI/μ) (model_spec §6.4)."""
    for lai, mu in [(1.0, 0.5), (3.0, 0.8), (0.5, 0.3)]:
        _, fapar = _run(lai, mu=mu, f_dir=1.0, rho_s=0.0, omega=1e-7)
        assert float(fapar) == pytest.approx(1.0 - np.exp(-0.5 * lai / mu), abs=1e-5)


def test_fapar_monotone_in_lai_and_zero_at_night():
    fap = [float(_run(lai)[1]) for lai in (0.0, 0.5, 1, 2, 4, 8)]
    assert fap[0] == 0.0 and np.all(np.diff(fap) > 0)
    assert float(_run(3.0, mu=-0.2)[1]) == 0.0


def test_lw_transmissivity_regression():
    """tl_c = exp(−LAI) at fc = 1: 0.44440 at LAI 0.81103 (model_spec §0) [T]."""
    gp = M.default_global_params()
    _, _, albedo, t_lv = radiation.broadband(0.3, 0.2, 0.81103, 1.0, gp)
    assert float(t_lv) == pytest.approx(0.44440, abs=5e-6)
    assert 0.05 <= float(albedo) <= 0.9


def test_gradient_finite_at_zero_lai():
    g = jax.grad(lambda lai: jnp.sum(radiation.layer_apar(_run(lai)[0], jnp.asarray(1000.0), lai)))(0.0)
    assert np.isfinite(float(g))
