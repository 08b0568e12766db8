"""Per-pixel variational assimilation: problem pytrees, settings, vmappable driver (obs_da_spec §6, §7.3).

:func:`assimilate_pixel` assimilates ONE pixel: prior → bounded L-BFGS-B in u-space → posterior covariance
(Gauss–Newton or full Hessian) → propagation to targets → flat dict of arrays (contract C2). It is
:func:`solver_start`, :func:`solver_step` until the solver stops, then :func:`assimilate_finish`; the
pipeline vmaps these three over a padded batch (``tccas.pipeline.assimilate.assimilate_refilled``, which
refills the slots of stopped pixels). Nothing here raises or branches in Python on traced values; outcomes
are reported through ``status``.

Per-pixel footprint mode (obs_da_spec §7.3, Mode A): a coarse observation is used in each covered pixel as
an observation of the footprint mean; its representativeness error ``ObsStream.sigma_repr`` (computed by the
pipeline from :func:`prior_equivalents`) enters ``σ_d² = σ_obs² + σ_mod² + σ_repr²``. Neighbouring pixels'
posterior errors are correlated through the shared coarse observation; regional aggregates must add the
common-error term (§7.3) — the pixel problem itself is independent.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from tccas import model
from tccas.da import controls, cost, lbfgsb, posterior, propagate
from tccas.obs import DEFAULT_STREAMS, STREAMS, common, registry, sif


class ObsStream(NamedTuple):
    """One observation stream of ONE pixel, padded to a fixed length n_max (contract C2).

    ``t_hour`` int32 hour index from the window start (after spin-up; hour 0 = window day 0, 00 UTC);
    ``value``, ``sigma_obs``, ``sigma_repr`` float64 (stream units); ``mask`` float64 1/0 — 0 marks padding or
    QC-rejected data, which never reaches the cost or its gradient even if ``value`` is NaN.
    """

    t_hour: Any
    value: Any
    sigma_obs: Any
    sigma_repr: Any
    mask: Any


class PixelProblem(NamedTuple):
    """Everything to assimilate ONE pixel (all leaves arrays, stackable/vmappable; contract C2)."""

    forcing: Any  # tccas.model.Forcing of the window
    spinup_forcing: Any  # tccas.model.Forcing run before the window (pools0 are its initial state)
    site: Any  # tccas.model.Site
    pfts: Any  # int32 (n_tiles,)
    fractions: Any  # (n_tiles,)
    obs: dict  # stream -> ObsStream: every enabled stream; disabled ones all-masked or absent
    valid: Any  # 1.0 real pixel, 0.0 batch padding


def daily_stream(days_index, value, sigma_obs, n_max: int | None = None, valid_range=None) -> ObsStream:
    """:class:`ObsStream` of ONE pixel from daily data (tower streams; obs_da_spec §1.4–1.5).

    ``days_index`` (n,) int window-day index of each value (day 0 = first window day; the slot's hour index
    is ``24·day + 12``, :func:`tccas.obs.common.daily_t_hour`); ``value``, ``sigma_obs`` (n,) in the stream's
    units. Non-finite values or σ, negative σ and values outside ``valid_range`` (``(lo, hi)``, e.g. the
    stream module's ``VALID_RANGE``) are masked and replaced by (0, 1) so that nothing non-finite enters
    the cost; days outside the window are dropped by the cost (:func:`tccas.obs.common.window_mask`).
    ``n_max`` pads to a fixed length with masked slots (default ``max(n, 1)``; smaller than n is an error).
    NumPy arrays (stackable into batches).
    """
    days = np.asarray(days_index)
    v = np.asarray(value, dtype=np.float64)
    sd = np.asarray(sigma_obs, dtype=np.float64)
    if days.ndim != 1 or v.shape != days.shape or sd.shape != days.shape:
        raise ValueError(
            f"daily_stream: days_index, value and sigma_obs must be 1-D of one length, got "
            f"{days.shape}, {v.shape} and {sd.shape}"
        )
    if days.size and not np.issubdtype(days.dtype, np.integer):
        raise ValueError(f"daily_stream: days_index must be integers, got dtype {days.dtype}")
    n = days.size
    n_max = max(n, 1) if n_max is None else int(n_max)
    if n_max < max(n, 1):
        raise ValueError(f"daily_stream: {n} daily values do not fit n_max = {n_max} slots")
    ok = np.isfinite(v) & np.isfinite(sd) & (sd >= 0)
    if valid_range is not None:
        ok &= (v >= valid_range[0]) & (v <= valid_range[1])
    pad = n_max - n
    return ObsStream(
        t_hour=np.concatenate([common.daily_t_hour(days), np.zeros(pad, np.int64)]).astype(np.int32),
        value=np.concatenate([np.where(ok, v, 0.0), np.zeros(pad)]),
        sigma_obs=np.concatenate([np.where(ok, sd, 1.0), np.ones(pad)]),
        sigma_repr=np.zeros(n_max),
        mask=np.concatenate([ok.astype(np.float64), np.zeros(pad)]),
    )


@dataclasses.dataclass(frozen=True)
class AssimilationSettings:
    """Static settings of the assimilation (hashable; contract C2, obs_da_spec §6.5–6.6).

    - ``max_iter`` iteration cap (TCCAS ITMAX), ``memory`` L-BFGS pairs (M = 10), ``tol_pg`` projected-
      gradient tolerance in u-space, ``ftol`` relative-decrease tolerance, ``max_ls`` line-search trials,
      ``max_step`` cap on a quasi-Newton trial step per control in u-space (prior σ units; 2 [D]: on the
      ``bench_da`` batch it cut the batch's evaluations from 38 to 32 for 20 iterations, with equal or
      lower final costs; ``None`` takes the full step);
    - ``streams``: enabled streams (default :data:`tccas.obs.DEFAULT_STREAMS`, the four EO streams; a
      disabled stream is fully masked and its operator controls dropped);
    - ``posterior``: ``"gauss_newton"`` (default) or ``"hessian"`` (full Hessian, GN fallback if not SPD);
    - ``model_options``: ``tccas.model.ModelOptions``;
    - ``controls``: active control names (``None`` → :data:`tccas.da.controls.DEFAULT_ACTIVE`);
    - ``fapar_illumination`` ``"iso"`` | ``"mixed"`` (obs_da_spec §2.5), ``vod_temperature`` ``"air"`` |
      ``"canopy"`` (§4.1 [?]), ``sif_overpass_hour_local`` (13.5 LST, §3.5);
    - ``error_models``: per-stream :class:`~tccas.obs.common.StreamErrorModel` overrides, as a tuple of
      ``(stream, model)`` pairs (defaults from the stream modules' ``ERROR_MODEL``, obs_da_spec §2.6, §3.6,
      §4.4, §5.2; tower streams :mod:`tccas.obs.nee` etc.);
    - ``jacobian_chunk``: most tangent directions evaluated together for the posterior, in equal chunks
      (:func:`map_in_chunks`; the model tangents of the Gauss–Newton Jacobian, one per control slot shared by
      all tiles, and the Hessian columns of ``posterior="hessian"``; memory/speed trade-off);
    - ``prior_jacobian``: linearisation point of the PRIOR target uncertainty (obs_da_spec §6.7 "[D: state
      both]"): ``"posterior"`` (default) propagates C0 with the same target Jacobian A = ∂N/∂x at x_post as
      C_post, so σ_post ≤ σ_prior and UR ∈ [0, 1] hold exactly and the prior point costs one forward run
      instead of n_c tangent-linear runs; ``"prior"`` uses A0 = ∂N/∂x at x0 (one more linearisation).
      Same choice and default as ``tccas.scenario.ScenarioSettings.prior_jacobian``.
    """

    max_iter: int = 20
    memory: int = 10
    tol_pg: float = 1e-4
    ftol: float = 1e-10
    max_ls: int = 20
    max_step: float | None = 2.0
    streams: tuple[str, ...] = DEFAULT_STREAMS
    posterior: str = "gauss_newton"
    model_options: Any = dataclasses.field(default_factory=model.ModelOptions)
    controls: tuple[str, ...] | None = None
    fapar_illumination: str = "iso"
    vod_temperature: str = "air"
    sif_overpass_hour_local: float = sif.OVERPASS_HOUR_LOCAL
    error_models: tuple = ()
    jacobian_chunk: int = 16
    prior_jacobian: str = "posterior"

    def __post_init__(self):
        registry.check_stream_names(self.streams, "AssimilationSettings.streams")
        if self.posterior not in ("gauss_newton", "hessian"):
            raise ValueError(
                f"AssimilationSettings.posterior must be 'gauss_newton' or 'hessian', got {self.posterior!r}"
            )
        if self.vod_temperature not in ("air", "canopy"):
            raise ValueError(
                f"AssimilationSettings.vod_temperature must be 'air' or 'canopy', "
                f"got {self.vod_temperature!r}"
            )
        if self.prior_jacobian not in ("posterior", "prior"):
            raise ValueError(
                "AssimilationSettings.prior_jacobian must be 'posterior' or 'prior', "
                f"got {self.prior_jacobian!r}"
            )
        if self.fapar_illumination not in ("iso", "mixed"):
            raise ValueError(
                f"AssimilationSettings.fapar_illumination must be 'iso' or 'mixed', "
                f"got {self.fapar_illumination!r}"
            )
        registry.check_stream_names([s for s, _ in self.error_models], "AssimilationSettings.error_models")

    def error_model(self, stream: str) -> common.StreamErrorModel:
        """Error model of ``stream``: override if given, else the stream module's default."""
        return dict(self.error_models).get(stream, registry.stream_module(stream).ERROR_MODEL)

    @classmethod
    def from_config(cls, config: dict) -> AssimilationSettings:
        """Settings from the validated project config (contract C4 keys ``assimilation``, ``streams``,
        ``model``)."""
        a = config.get("assimilation", {})
        st = config.get("streams", {})
        registry.check_stream_names(tuple(st), "config streams")
        sections = {s: st.get(s, {}) for s in STREAMS}
        enabled = tuple(
            s for s in STREAMS if sections[s].get("enabled", registry.stream_module(s).DEFAULT_ENABLED)
        )
        errors = tuple((s, registry.error_model_from_config(s, sections[s])) for s in STREAMS)
        return cls(
            max_iter=int(a.get("max_iter", 20)),
            memory=int(a.get("memory", 10)),
            tol_pg=float(a.get("tol_pg", 1e-4)),
            streams=enabled,
            posterior=a.get("posterior", "gauss_newton"),
            prior_jacobian=a.get("prior_jacobian", "posterior"),
            model_options=model.ModelOptions.from_config(config.get("model")),
            sif_overpass_hour_local=float(
                sections["sif"].get("overpass_hour_local", sif.OVERPASS_HOUR_LOCAL)
            ),
            error_models=errors,
        )


def layout_for(n_tiles: int, settings: AssimilationSettings) -> controls.ControlLayout:
    """Static control layout for ``n_tiles`` tiles under ``settings``."""
    return controls.build_layout(n_tiles, settings.controls, settings.streams)


def control_names(pfts, settings: AssimilationSettings) -> list[str]:
    """Names of the entries of the x vectors returned by :func:`assimilate_pixel` (contract C2)."""
    return controls.control_names(layout_for(len(pfts), settings), pfts)


def prior_equivalents(problem: PixelProblem, settings: AssimilationSettings) -> dict[str, jax.Array]:
    """Model equivalents of every stream's observation slots under the prior (obs_da_spec §7.3), shape
    ``(n_max,)`` per stream, for all slots (masked or not) — the pipeline derives footprint
    representativeness errors from them."""
    layout = layout_for(problem.pfts.shape[0], settings)
    pr = controls.prior(layout, problem.pfts)
    out, op = cost.run_model(pr.x0, problem, layout, settings)
    t_hours = {
        s: jnp.asarray(problem.obs[s].t_hour, dtype=jnp.int32)
        for s in cost.problem_streams(problem, settings)
    }
    return cost.equivalents(out, op, problem, settings, t_hours)


def _linearise(u, problem, layout, pr, settings, data):
    """Primal outputs and u-Jacobians of the normalised residuals and the targets (obs_da_spec §6.6–6.7).

    Columns by tangent-linear runs: one model run per colour of :func:`tccas.da.controls.jacobian_colouring`
    (the same control slot of every tile in one direction, since tile i's outputs depend on tile i's
    controls only), whose per-tile output tangents are pushed through the operators one tile lane at a time;
    the operator controls are pushed through the operators alone. The model's primal is recomputed with
    every chunk of colours (no separate forward trace); the first copy is kept.
    """
    x = u * pr.sigma0
    col = controls.jacobian_colouring(layout)
    n_tiles, n = layout.n_tiles, layout.size

    def vectors(ev):
        return jnp.concatenate(list(ev.residuals.values())), jnp.stack([ev.targets[t] for t in cost.TARGETS])

    def flat(tiles, xx):
        return vectors(cost.evaluate_tiles(tiles, xx, problem, layout, settings, data))

    def model_push(dx):
        tiles, d_tiles = jax.jvp(lambda xx: cost.run_tiles(xx, problem, layout, settings), (x,), (dx,))

        def lane(one_hot):
            d_lane = jax.tree_util.tree_map(
                lambda a: a * one_hot.reshape((-1,) + (1,) * (a.ndim - 1)), d_tiles
            )
            return jax.jvp(lambda tl: flat(tl, x), (tiles,), (d_lane,))[1]

        return tiles, jax.lax.map(lane, jnp.eye(n_tiles))  # one lane at a time: one masked copy

    colour_of = np.zeros((len(col.colours), n))
    for c, members in enumerate(col.colours):
        colour_of[c, list(members)] = 1.0
    tiles_k, (lane_res, lane_tgt) = map_in_chunks(model_push, colour_of * pr.sigma0, settings.jacobian_chunk)
    tiles = jax.tree_util.tree_map(lambda a: a[0], tiles_k)
    op_dirs = np.eye(n)[list(col.operator)] * pr.sigma0
    op_res, op_tgt = jax.vmap(lambda dx: jax.jvp(lambda xx: flat(tiles, xx), (x,), (dx,))[1])(op_dirs)

    def columns(lanes, ops):
        stacked = jnp.concatenate([lanes.reshape(-1, lanes.shape[-1]), jnp.sum(lanes, axis=1), ops])
        return stacked[np.asarray(col.column)]

    ev = cost.evaluate_tiles(tiles, x, problem, layout, settings, data)
    res, tgt = vectors(ev)
    return res, tgt, ev, columns(lane_res, op_res).T, columns(lane_tgt, op_tgt).T


def map_in_chunks(fn, xs, chunk: int):
    """``fn(x)`` for the rows x of the pytree ``xs`` (leading axis of length m), stacked on a leading axis of
    length m, evaluated in equal chunks of at most ``chunk`` rows (``jax.lax.map`` with ``batch_size``: ``fn``
    vmapped over a chunk).

    The rows are padded with copies of the last row to k·b rows, k = ⌈m/chunk⌉ chunks of b = ⌈m/k⌉ rows, and
    the padding results are dropped: a chunk size that does not divide m would make ``lax.map`` compile the
    remainder as a second copy of ``fn`` (m = 50, chunk 16: 3 × 16 + 2), which lengthens the compilation and
    the executable load of every worker. At most k − 1 padding rows are computed; a copied row keeps them
    as finite as the real ones (tangent directions, pixels of a batch).
    """
    m = jax.tree_util.tree_leaves(xs)[0].shape[0]
    k = -(-m // max(1, min(chunk, m)))
    b = -(-m // k)
    padded = jax.tree_util.tree_map(lambda a: jnp.concatenate([a, jnp.repeat(a[-1:], k * b - m, axis=0)]), xs)
    out = jax.lax.map(fn, padded, batch_size=b)
    return jax.tree_util.tree_map(lambda a: a[:m], out)


def map_unit_tangents(fn, n: int, chunk: int):
    """``fn(e_i)`` for the n unit vectors of ℝⁿ (the columns of a Jacobian by tangent-linear runs,
    obs_da_spec §6.6–6.7), stacked on a leading axis of length n, in equal chunks of at most ``chunk``
    (:func:`map_in_chunks`)."""
    return map_in_chunks(fn, jnp.eye(n), chunk)


class _Setup(NamedTuple):
    layout: Any
    prior: Any
    data: dict
    u0: Any
    lower: Any
    upper: Any
    n_obs: dict
    use_opt: Any  # real pixel with observations: the minimiser runs
    valid: Any


def _setup(problem: PixelProblem, settings: AssimilationSettings) -> _Setup:
    """Layout, prior, sanitised observations and the u-space box of one pixel (obs_da_spec §6.1–6.3)."""
    layout = layout_for(problem.pfts.shape[0], settings)
    pr = controls.prior(layout, problem.pfts)
    data = cost.all_stream_data(problem, settings)
    n_obs = {s: jnp.sum(d.mask) for s, d in data.items()}
    valid = problem.valid > 0.5
    use_opt = valid & (sum(n_obs.values()) > 0)
    return _Setup(
        layout, pr, data, pr.x0 / pr.sigma0, pr.lower / pr.sigma0, pr.upper / pr.sigma0, n_obs, use_opt, valid
    )


def _solver_options(settings: AssimilationSettings) -> lbfgsb.Options:
    return lbfgsb.Options(
        settings.max_iter, settings.memory, settings.tol_pg, settings.ftol, settings.max_ls, settings.max_step
    )


def solver_start(problem: PixelProblem, settings: AssimilationSettings):
    """L-BFGS-B state of ONE pixel before its first cost evaluation, at the prior (u0 = x0/σ0, §6.2)."""
    su = _setup(problem, settings)
    return lbfgsb.start(su.u0, su.lower, su.upper, settings.max_iter, settings.memory)


def solver_step(state, problem: PixelProblem, settings: AssimilationSettings):
    """One cost-and-gradient evaluation of ONE pixel's minimisation (obs_da_spec §6.4–6.5) and the solver
    state after it; a stopped state is returned unchanged. Pixels without observations and batch padding
    evaluate once at the prior and stop (their status is set by :func:`assimilate_finish`)."""
    su = _setup(problem, settings)
    j = cost.make_cost(problem, su.layout, su.prior, settings)
    return lbfgsb.step(
        jax.value_and_grad(j), state, su.lower, su.upper, _solver_options(settings), ~su.use_opt
    )


def assimilate_pixel(problem: PixelProblem, settings: AssimilationSettings) -> dict[str, jax.Array]:
    """Assimilate the observations of ONE pixel (obs_da_spec §6; contract C2). vmappable and jit-able.

    :func:`solver_start`, :func:`solver_step` until the solver stops, :func:`assimilate_finish`. The pipeline
    may instead step a batch of solver slots and refill stopped slots with new pixels (the result of every
    pixel is the same).
    """
    final = jax.lax.while_loop(
        lambda st: ~st.done,
        lambda st: solver_step(st, problem, settings),
        solver_start(problem, settings),
    )
    return assimilate_finish(final, problem, settings)


def assimilate_finish(state, problem: PixelProblem, settings: AssimilationSettings) -> dict[str, jax.Array]:
    """Posterior, propagation and outputs of ONE pixel from its stopped solver state (obs_da_spec §6.6–6.8;
    contract C2).

    Status: 0 converged, 1 max_iter, 2 line-search failure, 3 no observations (prior returned),
    4 batch padding (all float outputs NaN). ``n_iter`` counts accepted iterations, ``n_eval`` cost and
    gradient evaluations (start point and line-search trials; 0 when the prior is returned).
    """
    su = _setup(problem, settings)
    layout, pr, data, u0, lo_u, hi_u = su.layout, su.prior, su.data, su.u0, su.lower, su.upper
    n_obs, use_opt, valid = su.n_obs, su.use_opt, su.valid
    j = cost.make_cost(problem, layout, pr, settings)
    res = lbfgsb.result(state, lo_u, hi_u)
    u_hat = jnp.where(use_opt, res.x, jnp.clip(u0, lo_u, hi_u))
    status = jnp.where(~valid, lbfgsb.PADDING, jnp.where(use_opt, res.status, lbfgsb.NO_OBS)).astype(
        jnp.int32
    )
    n_iter = jnp.where(use_opt, res.n_iter, 0).astype(jnp.int32)
    n_eval = jnp.where(use_opt, res.n_eval, 0).astype(jnp.int32)

    if settings.prior_jacobian == "prior":
        lin = jax.lax.map(
            lambda v: _linearise(v, problem, layout, pr, settings, data), jnp.stack([u0, u_hat])
        )
        _, tgt_v, ev, g_res, a_tgt = lin
        res0 = {s: r[0] for s, r in ev.residuals.items()}
        res1 = {s: r[1] for s, r in ev.residuals.items()}
        tgt0, tgt1, a0, a1, g1 = tgt_v[0], tgt_v[1], a_tgt[0], a_tgt[1], g_res[1]
        series1 = {name: ev.series[name][1] for name in cost.SERIES}
    else:  # one linearisation at the optimum; the prior point is only run forward
        _, tgt1, ev1, g1, a1 = _linearise(u_hat, problem, layout, pr, settings, data)
        ev0 = cost.evaluate(u0, problem, layout, pr, settings, data)
        res0, res1 = ev0.residuals, ev1.residuals
        tgt0, a0 = jnp.stack([ev0.targets[t] for t in cost.TARGETS]), a1
        series1 = ev1.series
    h_gn = posterior.gauss_newton_hessian(g1)
    if settings.posterior == "hessian":
        grad_j = jax.grad(j)
        h_full = map_unit_tangents(
            lambda v: jax.jvp(grad_j, (u_hat,), (v,))[1], u0.shape[0], settings.jacobian_chunk
        )
        h, _ = posterior.choose_hessian(h_full, h_gn)
    else:
        h = h_gn
    post = posterior.summarise(h, pr.sigma0)
    c_u = post.cov_u

    out: dict[str, jax.Array] = {"status": status, "n_iter": n_iter, "n_eval": n_eval}
    jp0, js0 = cost.cost_terms(u0, u0, res0)
    jp1, js1 = cost.cost_terms(u_hat, u0, res1)
    out["cost_prior"] = jp0 + sum(js0.values())
    out["cost_post"] = jp1 + sum(js1.values())
    out["dfs"] = post.dfs
    for s in STREAMS:  # every registered stream; 0 for those the problem does not carry
        out[f"n_obs_{s}"] = n_obs[s].astype(jnp.int32) if s in n_obs else jnp.zeros((), jnp.int32)
    for s in STREAMS:
        out[f"cost_post_{s}"] = js1[s] if s in js1 else jnp.zeros(())
    sd_t_post = propagate.target_sd(a1, c_u)
    sd_t_prior = propagate.target_sd(a0)
    for i, t in enumerate(cost.TARGETS):
        out[t] = tgt1[i]
        out[f"{t}_sd"] = sd_t_post[i]
        out[f"{t}_prior"] = tgt0[i]
        out[f"{t}_prior_sd"] = sd_t_prior[i]
        out[f"{t}_ur"] = propagate.uncertainty_reduction(sd_t_post[i], sd_t_prior[i])
    out["x_post"] = jnp.where(use_opt, u_hat * pr.sigma0, pr.x0)
    out["x_prior"] = pr.x0
    out["x_sd_post"] = post.sd_post
    out["x_cov_post"] = pr.sigma0[:, None] * c_u * pr.sigma0[None, :]  # C_x = diag(σ0) C_u diag(σ0), §6.6
    out["x_sd_prior"] = post.sd_prior
    out["x_ur"] = post.ur
    for name in cost.SERIES:
        out[f"series_{name}"] = series1[name]
    return {k: (v if v.dtype.kind in "iu" else jnp.where(valid, v, jnp.nan)) for k, v in out.items()}
