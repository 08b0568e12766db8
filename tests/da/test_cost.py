"""Gradient checks of the full cost (obs_da_spec §6.9.1–2): Taylor test, central finite differences,
tangent-linear/adjoint dot-product test, and masked NaN observations never reaching the gradient."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from da_twin import SETTINGS, make_problem, obs_hours

from tccas.da import controls, cost
from tccas.obs import EO_STREAMS


@pytest.fixture(scope="module")
def problem(twin):
    values = {s: v.copy() for s, v in twin["values"].items()}
    masks = {s: np.ones(h.shape) for s, h in obs_hours().items()}
    values["sif"][0] = np.nan  # a NaN observation with mask 0 must not poison cost or gradient
    masks["sif"][0] = 0.0
    return jax.tree_util.tree_map(jnp.asarray, make_problem(values, masks))


@pytest.fixture(scope="module")
def functions(problem, layout):
    pr = controls.prior(layout, problem.pfts)
    j = cost.make_cost(problem, layout, pr, SETTINGS)
    data = cost.all_stream_data(problem, SETTINGS)

    def residuals(u):
        ev = cost.evaluate(u, problem, layout, pr, SETTINGS, data)
        return jnp.concatenate([ev.residuals[s] for s in EO_STREAMS])

    vg = jax.jit(jax.value_and_grad(j))
    u0 = pr.x0 / pr.sigma0
    return vg, jax.jit(residuals), u0, pr


def test_taylor_and_finite_differences(functions):
    vg, _, u0, pr = functions
    rng = np.random.default_rng(5)
    u = u0 + 0.3 * jnp.asarray(rng.standard_normal(u0.shape))
    u = jnp.clip(u, pr.lower / pr.sigma0, pr.upper / pr.sigma0)
    f0, g = vg(u)
    assert np.isfinite(float(f0)) and np.all(np.isfinite(np.asarray(g)))
    h = jnp.asarray(rng.standard_normal(u0.shape))
    h = h / jnp.linalg.norm(h)
    slope = float(g @ h)
    ratios, errs = [], []
    for eps in (1e-1, 1e-2, 1e-3, 1e-4):
        fe, _ = vg(u + eps * h)
        ratios.append((float(fe) - float(f0)) / (eps * slope))
        errs.append(abs(float(fe) - float(f0) - eps * slope))
    # ρ(ε) → 1 linearly in ε (second-order remainder); a wrong gradient leaves ρ away from 1
    assert abs(ratios[-1] - 1) < 2e-2
    assert abs(ratios[-2] - 1) > 5 * abs(ratios[-1] - 1) or abs(ratios[-1] - 1) < 1e-6
    # remainder decreases like eps² (at least by 50x per decade over the middle range)
    assert errs[1] / errs[2] > 50 and errs[2] / errs[3] > 50
    # central differences on a few individual components (≥ 6 digits)
    for i in np.argsort(-np.abs(np.asarray(g)))[:4]:
        e = jnp.zeros_like(u).at[i].set(1.0)
        step = 1e-6
        fd = (float(vg(u + step * e)[0]) - float(vg(u - step * e)[0])) / (2 * step)
        np.testing.assert_allclose(fd, float(g[i]), rtol=1e-6, atol=1e-8 * abs(float(f0)))


def test_tangent_adjoint_dot_product(functions):
    _, res, u0, _ = functions
    rng = np.random.default_rng(7)
    du = jnp.asarray(rng.standard_normal(u0.shape))
    r0, tl = jax.jvp(res, (u0,), (du,))
    dy = jnp.asarray(rng.standard_normal(r0.shape))
    _, back = jax.vjp(res, u0)
    (adj,) = back(dy)
    lhs, rhs = float(tl @ dy), float(du @ adj)
    assert abs(lhs - rhs) <= 1e-12 * max(abs(lhs), 1.0)
    assert np.all(np.isfinite(np.asarray(r0)))
