"""Bounded limited-memory quasi-Newton minimiser in pure JAX that runs inside ``vmap`` (obs_da_spec §6.5).

TCCAS minimises with L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995), memory M = 10, box bounds, an iteration cap
[T]. This is a vmappable re-implementation of the same ingredients without host control flow:

- box constraints by projection; search direction from the L-BFGS two-loop recursion (memory ``m``,
  initial scaling γ = sᵀy/yᵀy) restricted to the *free* variables — the two-metric projection of
  Bertsekas (1982): a variable at a bound whose gradient points outward is held at the bound (the
  generalised-Cauchy-point/subspace-minimisation steps of the Fortran code are replaced by this
  projection, which identifies the same active set at convergence);
- projected backtracking line search along ``P(x + α d)`` with the Armijo condition
  ``f(x_α) ≤ f(x) + c1 gᵀ(x_α − x)``, safeguarded quadratic interpolation, non-finite trial values
  rejected; first step of a fresh memory ``α = min(1, 1/‖d‖∞)``, later first trials ``α = 1``, or, with
  ``max_step``, ``α = min(1, max_step/‖d‖∞)`` (a cap on the trial step per variable [D]: on ill-conditioned
  pixels the quasi-Newton step otherwise overshoots across the box and the backtracking pays for it);
- one restart from the current point with steepest descent and cleared memory if the line search fails
  (obs_da_spec §6.5), then status ``LINE_SEARCH_FAILURE``;
- curvature pairs with ``sᵀy ≤ 1e-10 yᵀy`` are skipped (keeps the inverse-Hessian model positive definite);
- stopping (§6.5): projected-gradient ∞-norm ``‖P(x − g) − x‖∞ < tol_pg``, or relative decrease
  ``(f_k − f_{k+1}) ≤ ftol · max(|f_k|, |f_{k+1}|, 1)`` (scipy's ``factr`` test), or ``max_iter``.

The whole loop is a single ``lax.while_loop`` whose body (:func:`step`) evaluates the objective exactly once
(the trial point), so a vmapped batch traces the model once, pixels that have stopped keep their state (the
while-loop batching rule selects per element, and :func:`step` returns a stopped state unchanged) and no
exception is ever raised: problems are reported in ``status``. :func:`start`, :func:`step` and
:func:`result` are exposed so that a batch driver can step solver slots itself and give a stopped slot a
new pixel (``tccas.pipeline.assimilate.assimilate_refilled``).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

#: Status codes (contract C2 of the project; obs_da_spec §6.5).
CONVERGED = 0
MAX_ITER = 1
LINE_SEARCH_FAILURE = 2
NO_OBS = 3
PADDING = 4
STATUS_NAMES = {
    CONVERGED: "converged",
    MAX_ITER: "max_iter",
    LINE_SEARCH_FAILURE: "line_search_failure",
    NO_OBS: "no_obs",
    PADDING: "padding",
}

_C1 = 1e-4  # Armijo constant
_CURV_EPS = 1e-10


class LBFGSBResult(NamedTuple):
    """Outcome of :func:`minimize` (all JAX arrays; vmappable)."""

    x: jnp.ndarray
    f: jnp.ndarray
    g: jnp.ndarray
    n_iter: jnp.ndarray  # accepted iterations, int32
    n_eval: jnp.ndarray  # objective evaluations, int32
    status: jnp.ndarray  # int32, see STATUS_NAMES
    pg_norm: jnp.ndarray  # projected-gradient inf-norm at x
    f_hist: jnp.ndarray  # (max_iter + 1,) cost after each accepted iteration (NaN after the stop)
    pg_hist: jnp.ndarray  # (max_iter + 1,) projected-gradient norm after each accepted iteration


class _State(NamedTuple):
    x: jnp.ndarray
    f: jnp.ndarray
    g: jnp.ndarray
    xt: jnp.ndarray
    d: jnp.ndarray
    alpha: jnp.ndarray
    s_mem: jnp.ndarray
    y_mem: jnp.ndarray
    head: jnp.ndarray
    count: jnp.ndarray
    n_iter: jnp.ndarray
    n_eval: jnp.ndarray
    n_ls: jnp.ndarray
    restarted: jnp.ndarray
    initialised: jnp.ndarray
    done: jnp.ndarray
    status: jnp.ndarray
    f_hist: jnp.ndarray
    pg_hist: jnp.ndarray


def projected_gradient_norm(x, g, lower, upper):
    """``‖P(x − g) − x‖∞`` with P the projection on the box (Byrd et al. 1995 stopping test)."""
    return jnp.max(jnp.abs(jnp.clip(x - g, lower, upper) - x), initial=0.0)


def _free_mask(x, g, lower, upper):
    """Variables not held at a bound: at a bound with the gradient pointing outward → held (two-metric)."""
    tol_lo = 1e-10 * (1.0 + jnp.abs(lower))
    tol_hi = 1e-10 * (1.0 + jnp.abs(upper))
    held = ((x <= lower + tol_lo) & (g > 0)) | ((x >= upper - tol_hi) & (g < 0))
    return (~held).astype(x.dtype)


def _direction(g, free, s_mem, y_mem, head, count):
    """L-BFGS two-loop recursion on the free subspace; falls back to −g if not a descent direction.

    Both loops are ``lax.scan`` over the memory slots ordered newest → oldest (small compiled graph)."""
    m = s_mem.shape[0]
    order = (head - 1 - jnp.arange(m)) % m
    sf = s_mem[order] * free
    yf = y_mem[order] * free
    sy = jnp.sum(sf * yf, axis=1)
    yy = jnp.sum(yf * yf, axis=1)
    valid = (jnp.arange(m) < count) & (sy > _CURV_EPS * yy)
    rho = jnp.where(valid, 1.0 / jnp.where(valid, sy, 1.0), 0.0)

    def first(q, item):
        s_i, y_i, r_i = item
        a = r_i * jnp.dot(s_i, q)
        return q - a * y_i, a

    q, alphas = jax.lax.scan(first, g * free, (sf, yf, rho))
    newest = jnp.argmax(valid)
    have = jnp.any(valid)
    gamma = jnp.where(have, sy[newest] / jnp.where(have, yy[newest], 1.0), 1.0)

    def second(r_vec, item):
        s_i, y_i, r_i, a_i = item
        b = r_i * jnp.dot(y_i, r_vec)
        return r_vec + s_i * (a_i - b), None

    r_vec, _ = jax.lax.scan(second, gamma * q, (sf, yf, rho, alphas), reverse=True)
    d = -r_vec * free
    descent = jnp.dot(g, d) < 0
    return jnp.where(descent, d, -g * free), have & descent


def _first_step(d, size=1.0):
    """``min(1, size/‖d‖∞)``: the step of a fresh memory (``size`` 1) or a capped quasi-Newton step."""
    return jnp.minimum(1.0, size / jnp.maximum(jnp.max(jnp.abs(d), initial=0.0), 1e-300))


def _unit_step(d, max_step):
    return jnp.asarray(1.0) if max_step is None else _first_step(d, max_step)


def start(x0, lower, upper, max_iter=20, memory=10) -> _State:
    """Solver state before the first evaluation (``x0`` projected into the box); see :func:`minimize`."""
    x0 = jnp.clip(jnp.asarray(x0, dtype=jnp.float64), lower, upper)
    n = x0.shape[0]
    nan_hist = jnp.full((max_iter + 1,), jnp.nan)
    return _State(
        x=x0,
        f=jnp.asarray(jnp.inf),
        g=jnp.zeros(n),
        xt=x0,
        d=jnp.zeros(n),
        alpha=jnp.asarray(1.0),
        s_mem=jnp.zeros((memory, n)),
        y_mem=jnp.zeros((memory, n)),
        head=jnp.asarray(0, jnp.int32),
        count=jnp.asarray(0, jnp.int32),
        n_iter=jnp.asarray(0, jnp.int32),
        n_eval=jnp.asarray(0, jnp.int32),
        n_ls=jnp.asarray(0, jnp.int32),
        restarted=jnp.asarray(False),
        initialised=jnp.asarray(False),
        done=jnp.asarray(False),
        status=jnp.asarray(MAX_ITER, jnp.int32),
        f_hist=nan_hist,
        pg_hist=nan_hist,
    )


class Options(NamedTuple):
    """Static settings of the minimiser (see :func:`minimize`)."""

    max_iter: int = 20
    memory: int = 10
    tol_pg: float = 1e-4
    ftol: float = 1e-10
    max_ls: int = 20
    max_step: float | None = None


def step(fun_vg, st: _State, lower, upper, options: Options = Options(), skip=False) -> _State:
    """One evaluation of the objective at the trial point and the state that follows (see :func:`minimize`
    for the arguments). A state with ``done`` set is returned unchanged, so a caller may step a batch of
    pixels, some of which have stopped."""
    max_iter, memory, tol_pg, ftol, max_ls, max_step = options
    skip = jnp.asarray(skip)
    ft, gt = fun_vg(st.xt)
    ok = jnp.isfinite(ft) & jnp.all(jnp.isfinite(gt))
    init = ~st.initialised
    armijo = ok & (ft <= st.f + _C1 * jnp.dot(st.g, st.xt - st.x))
    accept = jnp.where(init, ok, armijo)

    # --- accepted point: memory update, convergence tests, new direction
    s = st.xt - st.x
    yv = gt - st.g
    push = accept & ~init & (jnp.dot(s, yv) > _CURV_EPS * jnp.dot(yv, yv))
    s_mem = jnp.where(push, st.s_mem.at[st.head].set(s), st.s_mem)
    y_mem = jnp.where(push, st.y_mem.at[st.head].set(yv), st.y_mem)
    head = jnp.where(push, (st.head + 1) % memory, st.head)
    count = jnp.where(push, jnp.minimum(st.count + 1, memory), st.count)
    n_iter = st.n_iter + (accept & ~init).astype(jnp.int32)
    pg = projected_gradient_norm(st.xt, gt, lower, upper)
    small_decrease = ~init & (st.f - ft <= ftol * jnp.maximum(jnp.maximum(jnp.abs(st.f), jnp.abs(ft)), 1.0))
    conv = accept & ((pg < tol_pg) | small_decrease)
    capped = accept & ~conv & (n_iter >= max_iter)
    hist_idx = jnp.minimum(n_iter, max_iter)
    f_hist = jnp.where(accept, st.f_hist.at[hist_idx].set(ft), st.f_hist)
    pg_hist = jnp.where(accept, st.pg_hist.at[hist_idx].set(pg), st.pg_hist)
    free_new = _free_mask(st.xt, gt, lower, upper)
    d_new, _ = _direction(gt, free_new, s_mem, y_mem, head, count)
    alpha_new = jnp.where(count > 0, _unit_step(d_new, max_step), _first_step(d_new))

    # --- rejected point: backtrack, restart once, or fail
    slope = jnp.dot(st.g, st.xt - st.x) / st.alpha
    denom = 2.0 * (ft - st.f - slope * st.alpha)
    quad = -slope * st.alpha**2 / jnp.where(denom > 0, denom, 1.0)
    alpha_bt = jnp.where(ok & (denom > 0), jnp.clip(quad, 0.1 * st.alpha, 0.5 * st.alpha), 0.25 * st.alpha)
    n_ls = st.n_ls + 1
    exhausted = (~accept) & ~init & (n_ls >= max_ls)
    can_restart = exhausted & ~st.restarted & (st.count > 0)
    free_cur = _free_mask(st.x, st.g, lower, upper)
    d_sd = -st.g * free_cur
    failed = (exhausted & ~can_restart) | (init & ~ok)

    # --- assemble
    x = jnp.where(accept, st.xt, st.x)
    f = jnp.where(accept, ft, st.f)
    g = jnp.where(accept, gt, st.g)
    d = jnp.where(accept, d_new, jnp.where(can_restart, d_sd, st.d))
    alpha = jnp.where(accept, alpha_new, jnp.where(can_restart, _first_step(d_sd), alpha_bt))
    count = jnp.where(can_restart, 0, count)
    restarted = jnp.where(accept, False, st.restarted | can_restart)
    n_ls = jnp.where(accept | can_restart, 0, n_ls)
    stop_skip = init & ok & skip
    done = conv | capped | failed | stop_skip
    status = jnp.where(
        conv | stop_skip,
        CONVERGED,
        jnp.where(capped, MAX_ITER, jnp.where(failed, LINE_SEARCH_FAILURE, st.status)),
    )
    xt = jnp.clip(x + alpha * d, lower, upper)
    new = _State(
        x=x,
        f=f,
        g=g,
        xt=xt,
        d=d,
        alpha=alpha,
        s_mem=s_mem,
        y_mem=y_mem,
        head=head,
        count=count,
        n_iter=n_iter,
        n_eval=st.n_eval + 1,
        n_ls=n_ls,
        restarted=restarted,
        initialised=jnp.asarray(True),
        done=done,
        status=status.astype(jnp.int32),
        f_hist=f_hist,
        pg_hist=pg_hist,
    )
    return jax.tree_util.tree_map(lambda a, b: jnp.where(st.done, a, b), st, new)


def result(final: _State, lower, upper) -> LBFGSBResult:
    """The :class:`LBFGSBResult` of a stopped solver state."""
    return LBFGSBResult(
        x=final.x,
        f=final.f,
        g=final.g,
        n_iter=final.n_iter,
        n_eval=final.n_eval,
        status=final.status,
        pg_norm=projected_gradient_norm(final.x, final.g, lower, upper),
        f_hist=final.f_hist,
        pg_hist=final.pg_hist,
    )


def minimize(
    fun_vg,
    x0,
    lower,
    upper,
    max_iter=20,
    memory=10,
    tol_pg=1e-4,
    ftol=1e-10,
    max_ls=20,
    skip=False,
    max_step=None,
):
    """Minimise ``f`` over the box ``[lower, upper]`` from ``x0`` (projected into the box).

    ``fun_vg(x) -> (f, g)`` must be pure JAX. ``max_iter``, ``memory``, ``max_ls`` are static;
    ``max_step`` (static float or ``None``) caps ``‖α d‖∞`` of the first trial of every iteration (units of
    ``x``); ``skip`` (traced bool allowed) evaluates ``f`` once at the projected start and stops (used for
    pixels without observations and batch padding; the caller sets their status). Returns
    :class:`LBFGSBResult`; the status is ``CONVERGED``, ``MAX_ITER`` or ``LINE_SEARCH_FAILURE`` (also when
    ``f`` is not finite at the start). ``start`` → ``step`` while not done → ``result``.
    """
    options = Options(max_iter, memory, tol_pg, ftol, max_ls, max_step)

    def body(st: _State) -> _State:
        return step(fun_vg, st, lower, upper, options, skip)

    final = jax.lax.while_loop(lambda st: ~st.done, body, start(x0, lower, upper, max_iter, memory))
    return result(final, lower, upper)


def minimize_scipy(fun_vg, x0, lower, upper, max_iter=20, memory=10, tol_pg=1e-4, ftol=1e-10):
    """Host-side single-pixel debugging path through ``scipy.optimize.minimize(method="L-BFGS-B")``
    (obs_da_spec §6.5 option 1). ``fun_vg`` should be jitted; returns the scipy ``OptimizeResult``."""
    import numpy as np
    from scipy.optimize import minimize as sp_minimize

    def fg(x):
        f, g = fun_vg(jnp.asarray(x))
        return float(f), np.asarray(g, dtype=np.float64)

    return sp_minimize(
        fg,
        np.asarray(x0, dtype=np.float64),
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(np.asarray(lower), np.asarray(upper), strict=True)),
        options={"maxcor": memory, "maxiter": max_iter, "gtol": tol_pg, "ftol": ftol},
    )
