"""Benchmark of the D&B process model (tccas.model): throughput, gradient cost, compile time, memory.

Run (one core, XLA pinned to one thread — the flags are set here before JAX initialises):

    .venv/bin/python benchmarks/bench_model.py [--tiles 256] [--days 365] [--grad-tiles 16]

Prints, measured in this run: forward throughput in tile-hours per second per core for a vmapped batch
(``--tiles`` tiles × ``--days`` days, after compilation), the gradient/forward cost ratio (reverse-mode
gradient of a scalar of the daily outputs w.r.t. all tile parameters, global parameters and initial
pools, per tile, same 1-year run), compile times, and the peak memory of the 1-year gradient (XLA
buffer assignment of one tile, and process max RSS). Not a test.

Every tile of a batch gets its own forcing (another synthetic year per tile), as every pixel of an
assimilation batch does. With one forcing shared by the whole batch (printed as a second line), XLA
computes everything that depends on the forcing alone (solar geometry, temperature functions of the
air-temperature pass, …) once per batch instead of once per tile, which flatters the per-tile figure
(≈ 1.8 × on the 2-core VM of 2026-12-01).
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
).strip()
os.environ["JAX_ENABLE_X64"] = "1"  # float64, switched on explicitly as every tccas entry point does

import argparse
import platform
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np

from tccas import model as M
from tccas.pipeline.cluster import pin_threads

PFT_CYCLE = (3, 4, 5, 9, 7, 13)


def _batch(n, pfts_cycle=PFT_CYCLE):
    pfts = np.array([pfts_cycle[i % len(pfts_cycle)] for i in range(n)])
    tp = M.stack_tiles([M.default_tile_params(p) for p in pfts])
    pools = M.stack_tiles([M.default_pools(p) for p in pfts])
    return pfts, tp, pools


def _forcings(n, days):
    """``n`` synthetic forcing years (seeds 1…n) stacked on a leading tile axis."""
    years = [M.synthetic_forcing(52.17, 5.74, "2018-01-01", days, seed=1 + i) for i in range(n)]
    return jax.tree_util.tree_map(lambda *x: np.stack(x), *years)


def _timeit(fn, *args, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tiles", type=int, default=256)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--grad-tiles", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        pin_threads([sorted(os.sched_getaffinity(0))[0]])

    gp = M.default_global_params()
    site = M.default_site(52.17, 5.74)
    opts = M.ModelOptions()

    def daily(tp, pools, pft, forcing):
        _, d, _ = M.run_tile(tp, gp, pools, forcing, site, pft, opts)
        return d

    def scalar(tp, gp_, pools, pft, forcing):
        _, d, _ = M.run_tile(tp, gp_, pools, forcing, site, pft, opts)
        return (
            jnp.sum(d["nee"]) + jnp.sum(d["lai"]) + 1e-3 * jnp.sum(d["c_woo"]) + jnp.sum(d["theta_surface"])
        )

    # forward throughput: every tile its own forcing, then one forcing for the whole batch
    pfts, tp, pools = _batch(args.tiles)
    forcing = _forcings(args.tiles, args.days)
    fwd = jax.jit(jax.vmap(daily))
    t0 = time.perf_counter()
    fwd_c = fwd.lower(tp, pools, pfts, forcing).compile()
    t_compile_fwd = time.perf_counter() - t0
    t_fwd = _timeit(fwd_c, tp, pools, pfts, forcing, repeat=args.repeat)
    forcing1 = jax.tree_util.tree_map(lambda x: x[0], forcing)
    fwd_shared = jax.jit(jax.vmap(daily, in_axes=(0, 0, 0, None))).lower(tp, pools, pfts, forcing1).compile()
    t_fwd_shared = _timeit(fwd_shared, tp, pools, pfts, forcing1, repeat=args.repeat)
    tile_hours = args.tiles * args.days * 24
    thr = tile_hours / t_fwd

    # gradient vs forward on the same (smaller) batch
    g_pfts, g_tp, g_pools = _batch(args.grad_tiles)
    g_forcing = _forcings(args.grad_tiles, args.days)
    g_args = (g_tp, gp, g_pools, g_pfts, g_forcing)
    axes = (0, None, 0, 0, 0)
    fwd_s = jax.jit(jax.vmap(scalar, in_axes=axes))
    grad_s = jax.jit(jax.vmap(jax.grad(scalar, argnums=(0, 1, 2)), in_axes=axes))
    fwd_s_c = fwd_s.lower(*g_args).compile()
    t0 = time.perf_counter()
    grad_c = grad_s.lower(*g_args).compile()
    t_compile_grad = time.perf_counter() - t0
    t_fwd_s = _timeit(fwd_s_c, *g_args, repeat=args.repeat)
    t_grad = _timeit(grad_c, *g_args, repeat=args.repeat)

    # peak memory of the gradient of ONE tile over the run (w.r.t. tile params, global params, pools)
    one = jax.jit(jax.grad(scalar, argnums=(0, 1, 2)))
    tp1, pools1 = M.default_tile_params(5), M.default_pools(5)
    one_c = one.lower(tp1, gp, pools1, 5, forcing1).compile()
    mem = one_c.memory_analysis()
    temp_mb = getattr(mem, "temp_size_in_bytes", 0) / 2**20 if mem is not None else float("nan")
    jax.block_until_ready(one_c(tp1, gp, pools1, 5, forcing1))
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
        f"jax {jax.__version__} ({jax.default_backend()}), XLA pinned to 1 thread / 1 core"
    )
    print(
        f"forward: {args.tiles} tiles x {args.days} d = {tile_hours:.3e} tile-hours in {t_fwd:.3f} s "
        f"-> {thr:.3e} tile-hours/s/core (compile {t_compile_fwd:.1f} s; every tile its own forcing)"
    )
    print(
        f"forward, one forcing shared by the batch: {t_fwd_shared:.3f} s -> "
        f"{tile_hours / t_fwd_shared:.3e} tile-hours/s/core (forcing-only terms computed once per batch)"
    )
    print(
        f"gradient ({args.grad_tiles} tiles x {args.days} d, all {len(M.TileParams._fields)} tile + "
        f"{len(M.GlobalParams._fields)} global params + 6 pools): grad {t_grad:.3f} s, "
        f"forward {t_fwd_s:.3f} s "
        f"-> grad/forward = {t_grad / t_fwd_s:.2f} (compile {t_compile_grad:.1f} s)"
    )
    print(
        f"gradient peak memory, 1 tile x {args.days} d: XLA temp buffers {temp_mb:.1f} MiB; "
        f"process max RSS {rss_mb:.0f} MiB"
    )


if __name__ == "__main__":
    main()
