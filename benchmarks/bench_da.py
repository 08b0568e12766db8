"""Per-pixel assimilation throughput benchmark (issue 5; obs_da_spec §0 observation counts).

One-year window after a one-year spin-up, 2 PFT tiles (TmEv 60 %, C3Gr 40 %), four streams at realistic
per-year counts (TCCAS ES-LM1 scaled to one year and to a 100 m pixel: FAPAR 45, SIF 150, L-VOD 250,
SM 250), 20 L-BFGS-B iterations cap, a batch of identical-twin pixels (different truths and noise) through
``tccas.pipeline.assimilate.assimilate_refilled`` (``--slots`` solver slots refilled from the batch; by
default one slot per pixel, i.e. the vmapped ``assimilate_pixel``), its two stages (``minimise_refilled``,
``finish_in_chunks``) compiled and timed one after the other. Reports compile time, batch wall time and
pixels/s per core, the same for the minimisation alone (the posterior stage timed apart), the steps of
the slot loop and the share of slot evaluations spent on pixels still running, and the time of one
posterior covariance (tangent-linear Jacobian of residuals and targets + Cholesky) for one pixel.
The program is compiled on all cores of the process; the runs are timed with every thread of the process
pinned to one core (as a pipeline Dask worker runs its batches), so pixels/s is pixels/s per core. As in a
worker, the JAX backend is started on that one core, so XLA's intra-op pool has one thread (before
2026-12-01 it had one per core, taking turns on the pinned core).

Usage: ``python benchmarks/bench_da.py [--days 365] [--spinup-days 365] [--batch 16] [--slots N]
[--posterior-pixels 5]``
(``--spinup-days 1``: no spin-up year, as the demo configuration, whose pipeline runs one spin-up day).
Not a test; record the printed numbers in benchmarks/README.md ("Assimilation").
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (  # as in a pipeline worker (tccas.pipeline.cluster.PINNED_THREAD_ENV)
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
).strip()
os.environ["JAX_ENABLE_X64"] = "1"  # float64, switched on explicitly as every tccas entry point does

import argparse
import platform
import time
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from tccas import model
from tccas.da import (
    AssimilationSettings,
    ObsStream,
    PixelProblem,
    controls,
    cost,
    posterior,
)
from tccas.da.pixel import _linearise, layout_for
from tccas.obs import EO_STREAMS
from tccas.pipeline.assimilate import POSTERIOR_PIXELS, finish_in_chunks, minimise_refilled
from tccas.pipeline.cluster import pin_threads, start_backend_on

LAT, LON = 39.94, -5.77
COUNTS = {"fapar": 45, "sif": 150, "vod": 250, "sm": 250}
SIGMA_OBS = {"fapar": 0.05, "sif": 0.3, "vod": 0.05, "sm": 0.04}


def hours(n_days, rng):
    local = {"fapar": 10.5, "sif": 13.5, "vod": 6.0, "sm": 6.0}
    out = {}
    for s, n in COUNTS.items():
        n = min(n, n_days)
        days = np.sort(rng.choice(n_days, size=n, replace=False))
        out[s] = (days * 24 + int(np.floor(local[s] - LON / 15.0))).astype(np.int32)
    return out


def build_batch(n_days, n_spin, batch, settings, seed=0):
    rng = np.random.default_rng(seed)
    fw = model.synthetic_forcing(LAT, LON, "2018-01-01", n_days, seed=3)
    sp = model.synthetic_forcing(LAT, LON, "2018-01-01", n_spin, seed=3)
    site = model.default_site(LAT, LON)
    pfts = np.array([3, 9], dtype=np.int32)
    fr = np.array([0.6, 0.4])
    layout = layout_for(2, settings)
    pr = controls.prior(layout, pfts)

    def problem(hrs, values):
        obs = {
            s: ObsStream(
                hrs[s],
                values[s],
                np.full(hrs[s].shape, SIGMA_OBS[s]),
                np.zeros(hrs[s].shape),
                np.ones(hrs[s].shape),
            )
            for s in EO_STREAMS
        }
        return PixelProblem(fw, sp, site, pfts, fr, obs, np.asarray(1.0))

    @jax.jit
    def equivalents(x, prob):
        data = cost.all_stream_data(prob, settings)
        return cost.evaluate(x / pr.sigma0, prob, layout, pr, settings, data).equivalents

    members = []
    for _ in range(batch):
        hrs = hours(n_days, rng)
        x_true = np.clip(
            np.asarray(pr.x0) + 0.5 * np.asarray(pr.sigma0) * rng.standard_normal(layout.size),
            np.asarray(pr.lower),
            np.asarray(pr.upper),
        )
        template = problem(hrs, {s: np.zeros(h.shape) for s, h in hrs.items()})
        eq = equivalents(jnp.asarray(x_true), jax.tree_util.tree_map(jnp.asarray, template))
        values = {s: np.asarray(eq[s]) + SIGMA_OBS[s] * rng.standard_normal(hrs[s].shape) for s in EO_STREAMS}
        members.append(problem(hrs, values))
    return jax.tree_util.tree_map(lambda *a: jnp.stack([jnp.asarray(x) for x in a]), *members), layout, pr


def slot_steps(n_eval, slots: int) -> int:
    """Steps of the slot loop of ``assimilate_refilled`` for pixels taking ``n_eval`` evaluations each, in
    batch order: every slot takes the next pixel when its pixel stops (pixels without observations or padding
    take one step)."""
    free_at = [0] * slots
    for k in np.maximum(np.asarray(n_eval), 1):
        i = int(np.argmin(free_at))
        free_at[i] += int(k)
    return max(free_at)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--spinup-days", type=int, default=365)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument(
        "--slots", type=int, default=None, help="solver slots refilled from the batch (default: the batch)"
    )
    ap.add_argument(
        "--posterior-pixels",
        type=int,
        default=POSTERIOR_PIXELS,
        help=f"most pixels per posterior chunk (default {POSTERIOR_PIXELS}, as the pipeline)",
    )
    args = ap.parse_args()
    slots = args.slots or args.batch
    settings = AssimilationSettings(max_iter=20)
    n_cores = os.cpu_count() or 1
    cores = sorted(os.sched_getaffinity(0))
    start_backend_on(cores[:1])  # as a pipeline worker: XLA's intra-op pool sized for the one core it runs on
    pin_threads(cores)  # the compilation may use every core
    print(
        f"machine: {platform.processor() or platform.machine()}, {n_cores} cores, jax {jax.__version__} "
        f"({jax.default_backend()})"
    )
    batch, layout, pr = build_batch(args.days, args.spinup_days, args.batch, settings)
    print(
        f"window {args.days} d, spin-up {args.spinup_days} d, batch {args.batch}, controls {layout.size}, "
        f"obs/pixel {sum(min(c, args.days) for c in COUNTS.values())}"
    )
    minimise = jax.jit(partial(minimise_refilled, settings=settings, slots=slots))
    finish = jax.jit(partial(finish_in_chunks, settings=settings, posterior_pixels=args.posterior_pixels))
    t0 = time.perf_counter()
    minimise_c = minimise.lower(batch).compile()
    t_compile = time.perf_counter() - t0
    stopped = minimise_c(batch)
    t0 = time.perf_counter()
    finish_c = finish.lower(stopped, batch).compile()
    t_compile_finish = time.perf_counter() - t0
    pin_threads(cores[:1])
    t0 = time.perf_counter()
    stopped = jax.block_until_ready(minimise_c(batch))
    t_min = time.perf_counter() - t0
    out = jax.block_until_ready(finish_c(stopped, batch))
    t_run = time.perf_counter() - t0
    print(
        f"compile {t_compile:.1f} s (minimiser) + {t_compile_finish:.1f} s (posterior); batch run on one "
        f"core {t_run:.2f} s -> {args.batch / t_run:.3f} pixel/s per core"
    )
    print(
        f"  of which minimisation ({settings.max_iter} iterations) {t_min:.2f} s -> "
        f"{args.batch / t_min:.3f} pixel/s per core; posterior, propagation and outputs "
        f"{t_run - t_min:.2f} s ({(t_run - t_min) / args.batch:.3f} s per pixel)"
    )
    n_eval = np.asarray(out["n_eval"])
    print("status", np.asarray(out["status"]), "n_iter", np.asarray(out["n_iter"]), "n_eval", n_eval)
    steps = slot_steps(n_eval, slots)
    print(
        f"{slots} solver slots: {steps} steps of the slot loop (a step evaluates every slot once), "
        f"{t_min / steps:.3f} s per step; slot use {n_eval.sum() / (slots * steps):.1%} "
        f"(pixel evaluations / slot evaluations)"
    )
    print("J prior", np.asarray(out["cost_prior"]).round(1), "J post", np.asarray(out["cost_post"]).round(1))

    one = jax.tree_util.tree_map(lambda a: a[0], batch)
    data = cost.all_stream_data(one, settings)

    @jax.jit
    def post_cov(u):
        _, _, _, g_res, _ = _linearise(u, one, layout, pr, settings, data)
        return posterior.summarise(posterior.gauss_newton_hessian(g_res), pr.sigma0).sd_post

    u0 = pr.x0 / pr.sigma0
    jax.block_until_ready(post_cov(u0))
    t0 = time.perf_counter()
    jax.block_until_ready(post_cov(u0))
    print(f"posterior covariance (GN, {layout.size} controls, one pixel): {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
