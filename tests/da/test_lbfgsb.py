"""Tests of the batched bounded quasi-Newton minimiser on analytic problems (obs_da_spec §6.5)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import minimize as sp_minimize

from tccas.da import lbfgsb


def rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def quad_problem(seed, n=6):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, n))
    a = m @ m.T + n * np.eye(n)
    b = rng.normal(size=n) * 3
    return jnp.asarray(a), jnp.asarray(b)


def test_quadratic_exact_optimum():
    a, b = quad_problem(0)

    def fvg(x):
        return jax.value_and_grad(lambda y: 0.5 * y @ a @ y - b @ y)(x)

    big = jnp.full(6, 1e3)
    r = jax.jit(lambda x0: lbfgsb.minimize(fvg, x0, -big, big, max_iter=50, tol_pg=1e-10))(jnp.zeros(6))
    np.testing.assert_allclose(r.x, np.linalg.solve(a, b), rtol=1e-7, atol=1e-9)
    assert int(r.status) == lbfgsb.CONVERGED
    assert int(r.n_iter) <= 15


def test_max_step_caps_every_trial_step():
    """With ``max_step`` no iteration moves a variable by more than the cap (the first, fresh-memory step by
    at most 1); without it the quadratic bowl is solved in the same iterations."""

    def fvg(x):
        return jax.value_and_grad(lambda y: 0.5 * jnp.sum((y - 10.0) ** 2 * jnp.arange(1.0, 5.0)))(x)

    big = jnp.full(4, 100.0)
    capped = jax.jit(lambda x0: lbfgsb.minimize(fvg, x0, -big, big, max_iter=3, max_step=0.5))(jnp.zeros(4))
    free = jax.jit(lambda x0: lbfgsb.minimize(fvg, x0, -big, big, max_iter=3))(jnp.zeros(4))
    moved = float(jnp.max(jnp.abs(capped.x)))
    assert 0.0 < moved <= 1.0 + 2 * 0.5 + 1e-12 and int(capped.status) == lbfgsb.MAX_ITER
    assert float(jnp.max(jnp.abs(free.x))) > 5.0 and float(free.f) < float(capped.f)


def test_bounded_rosenbrock_matches_scipy():
    vg = jax.value_and_grad(rosen)
    lo, hi = jnp.full(5, -2.0), jnp.full(5, 0.5)
    r = jax.jit(lambda x0: lbfgsb.minimize(vg, x0, lo, hi, max_iter=200, tol_pg=1e-7))(jnp.full(5, -1.2))
    ref = sp_minimize(
        lambda x: (float(rosen(x)), np.asarray(jax.grad(rosen)(x))),
        np.full(5, -1.2),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-2, 0.5)] * 5,
        options={"ftol": 1e-14, "gtol": 1e-9},
    )
    np.testing.assert_allclose(r.x, ref.x, atol=1e-4)
    np.testing.assert_allclose(r.f, ref.fun, rtol=1e-7)
    assert float(r.x[0]) == 0.5  # active upper bound held exactly
    assert int(r.status) == lbfgsb.CONVERGED


def test_unbounded_rosenbrock_converges():
    vg = jax.value_and_grad(rosen)
    r = lbfgsb.minimize(vg, jnp.full(4, -1.2), jnp.full(4, -5.0), jnp.full(4, 5.0), max_iter=200)
    np.testing.assert_allclose(r.x, 1.0, atol=1e-3)
    assert int(r.status) == lbfgsb.CONVERGED
    f = np.asarray(r.f_hist)[: int(r.n_iter) + 1]
    assert np.all(np.diff(f) <= 1e-12)  # monotone decrease of accepted iterates


def test_start_outside_bounds_is_projected_and_skip():
    vg = jax.value_and_grad(lambda x: jnp.sum((x - 3.0) ** 2))
    r = lbfgsb.minimize(vg, jnp.array([10.0, -10.0]), jnp.zeros(2), jnp.ones(2), max_iter=20)
    np.testing.assert_allclose(r.x, [1.0, 1.0])
    s = lbfgsb.minimize(vg, jnp.array([0.5, 0.5]), jnp.zeros(2), jnp.ones(2), max_iter=20, skip=True)
    np.testing.assert_allclose(s.x, [0.5, 0.5])
    assert int(s.n_eval) == 1 and int(s.n_iter) == 0


def _batched(max_iter):
    """Per-pixel different quadratic-plus-quartic problems; parameters enter as data (vmapped)."""

    def solve(centre, scale, x0):
        def f(x):
            return jnp.sum(scale * (x - centre) ** 2) + 0.1 * jnp.sum((x - centre) ** 4)

        return lbfgsb.minimize(
            jax.value_and_grad(f), x0, jnp.full(3, -2.0), jnp.full(3, 2.0), max_iter=max_iter, tol_pg=1e-9
        )

    return jax.jit(jax.vmap(solve))


def test_vmap_per_pixel_problems_and_batch_invariance():
    rng = np.random.default_rng(3)
    centres = jnp.asarray(rng.uniform(-3, 3, (5, 3)))  # some optima outside the box
    scales = jnp.asarray(rng.uniform(0.1, 50, (5, 3)))
    x0 = jnp.zeros((5, 3))
    solve = _batched(100)
    full = solve(centres, scales, x0)
    np.testing.assert_allclose(full.x, np.clip(centres, -2, 2), atol=1e-6)
    # same pixel alone, and padded with copies of a different pixel: bit-identical result
    alone = solve(centres[1:2], scales[1:2], x0[1:2])
    padded = solve(
        jnp.concatenate([centres[1:2], jnp.zeros((3, 3))]),
        jnp.concatenate([scales[1:2], jnp.ones((3, 3))]),
        jnp.zeros((4, 3)),
    )
    for r in (alone, padded):
        np.testing.assert_array_equal(r.x[0], full.x[1])
        assert int(r.n_iter[0]) == int(full.n_iter[1])


def test_non_converging_pixel_flagged_neighbours_unaffected():
    def solve(kind, x0):
        def f(x):
            easy = jnp.sum((x - 0.5) ** 2)
            return jnp.where(kind > 0, rosen(x) * 1e3, easy)

        return lbfgsb.minimize(jax.value_and_grad(f), x0, jnp.full(4, -5.0), jnp.full(4, 5.0), max_iter=5)

    run = jax.jit(jax.vmap(solve))
    r = run(jnp.array([0, 1, 0]), jnp.stack([jnp.zeros(4), jnp.full(4, -1.2), jnp.ones(4)]))
    np.testing.assert_array_equal(np.asarray(r.status), [lbfgsb.CONVERGED, lbfgsb.MAX_ITER, lbfgsb.CONVERGED])
    assert int(r.n_iter[1]) == 5
    single = run(jnp.array([0]), jnp.zeros((1, 4)))
    np.testing.assert_array_equal(single.x[0], r.x[0])


def test_nan_start_is_a_line_search_failure_and_nan_region_is_avoided():
    def f(x):
        return jnp.where(x[0] > 1.0, jnp.nan, jnp.sum((x - 3.0) ** 2))

    bad = lbfgsb.minimize(jax.value_and_grad(f), jnp.array([2.0, 0.0]), jnp.full(2, -5.0), jnp.full(2, 5.0))
    assert int(bad.status) == lbfgsb.LINE_SEARCH_FAILURE
    ok = lbfgsb.minimize(
        jax.value_and_grad(f), jnp.array([0.0, 0.0]), jnp.full(2, -5.0), jnp.full(2, 5.0), max_iter=50
    )
    assert np.isfinite(float(ok.f)) and float(ok.x[0]) <= 1.0
    assert float(ok.f) < float(f(jnp.zeros(2)))


@pytest.mark.parametrize("x0", [[0.3, 0.3], [-1.0, 2.0]])
def test_scipy_debug_path(x0):
    a, b = quad_problem(1, n=2)
    vg = jax.jit(jax.value_and_grad(lambda y: 0.5 * y @ a @ y - b @ y))
    r = lbfgsb.minimize_scipy(
        vg, jnp.asarray(x0), jnp.full(2, -10.0), jnp.full(2, 10.0), max_iter=50, tol_pg=1e-10, ftol=1e-15
    )
    np.testing.assert_allclose(r.x, np.linalg.solve(a, b), rtol=1e-6)
