import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tccas import model as M
from tccas.model import constants as c
from tccas.model import energy, met

GP = M.default_global_params()


def _inputs(r_nc, g_c0, e_sup, t=20.0, vpd=1200.0):
    _, s, _, lam, gamma, rho_a = met.air_terms(jnp.asarray(t), jnp.asarray(1000.0), jnp.asarray(1e5))
    g_a = met.aerodynamic_conductance(3.0, 15.0, GP)
    return dict(r_nc=r_nc, r_ns=50.0, g_s=10.0, g_c0=g_c0, g_a=g_a, t_air=t, vpd=vpd, s=s, gamma=gamma,
                lam=lam, rho_a=rho_a, e_sup=e_sup)  # fmt: skip


CASES = [(400.0, 0.01, 0.5), (400.0, 0.01, 0.02), (-60.0, 1e-4, 0.5), (300.0, 0.0, 0.5), (500.0, 0.02, 0.0)]


@pytest.mark.parametrize(("r_nc", "g_c0", "e_sup"), CASES)
def test_closure_consistency_and_bounds(r_nc, g_c0, e_sup):
    """R_nc = H_c + λE_t exactly; PM with g_c = β g_c0 returns E_t; E_t ≤ E_d, ≤ supply (model_spec §6.4)."""
    k = _inputs(r_nc, g_c0, e_sup)
    cw = energy.canopy_water(**k)
    assert float(cw.h_c + cw.le_t) == pytest.approx(r_nc, abs=1e-9)
    assert 0.0 <= float(cw.beta) <= 1.0 + 1e-12
    assert float(cw.e_t) <= float(cw.e_d) * (1 + 1e-12)
    assert float(cw.e_t) <= e_sup * 1.01 + 1e-8
    assert abs(float(cw.t_c) - 20.0) < 15.0
    if r_nc > 0 and g_c0 > 0:
        g_c = float(cw.beta) * g_c0
        x = float(k["s"] * r_nc + k["rho_a"] * c.CP_AIR * k["vpd"] * k["g_a"])
        e_pm = x * g_c / ((k["s"] + k["gamma"]) * g_c + k["gamma"] * k["g_a"]) / k["lam"] * 3600.0
        assert e_pm == pytest.approx(float(cw.e_t), rel=1e-9, abs=1e-12)


def test_water_stress_reduces_conductance():
    wet = energy.canopy_water(**_inputs(400.0, 0.01, 0.5))
    dry = energy.canopy_water(**_inputs(400.0, 0.01, 0.01))
    assert float(dry.beta) < 0.2 < 0.9 < float(wet.beta)
    assert float(dry.t_c) > float(wet.t_c)  # less evaporative cooling


def test_no_nan_gradient_at_zero_conductance_and_supply():
    def f(x):
        cw = energy.canopy_water(**_inputs(x[0], x[1], x[2]))
        return cw.e_t + cw.t_c + cw.beta

    for x0 in ([0.0, 0.0, 0.0], [400.0, 0.0, 0.0], [-50.0, 1e-6, 0.3]):
        g = jax.grad(f)(jnp.asarray(x0))
        assert np.isfinite(np.asarray(g)).all()


def test_net_radiation_partition():
    r_nc, r_ns, g = energy.net_radiation(-80.0, 600.0, 0.6, 0.2, 0.3, GP)
    assert float(r_nc + r_ns + g) == pytest.approx(-80.0 + 0.8 * 600.0, rel=1e-12)
