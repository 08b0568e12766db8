"""Assimilate one tile: the ``assimilate_tile`` rule / ``tccas assimilate-tile`` (issue 7).

Steps (ecosystem_aesthetics §2.2–§2.4, obs_da_spec §7.3):

1. Build the tile problem from the regridded inputs (contract C5, ``build_tile_problem``): land pixels only,
   water/no-data are masked out before JAX.
2. Prior pass: model equivalents of every observation under the prior (``tccas.da.prior_equivalents``),
   in fixed-size padded batches on the Dask workers.
3. Footprint representativeness errors (Mode A, obs_da_spec §7.3): for every observation footprint ``F``
   (``TileProblem.footprint_ids``), ``σ_repr,p² = (H_p^prior − mean_F H^prior)² + Var_F[H^prior]`` over the
   tile's pixels of that footprint. Footprints reaching beyond the tile are estimated from the pixels inside
   the tile (a 100 km production tile contains whole TROPOSIF footprints; a 25 km SMOS cell straddling tiles
   gets a sample estimate — documented approximation). Fine observations (one pixel per footprint) get 0.
4. Assimilation pass: :func:`assimilate_refilled` (the vmapped ``assimilate_pixel`` with ``solver_slots``
   minimiser slots refilled from the batch and the posterior in chunks of ``posterior_pixels``,
   :class:`Batching`) over padded batches of ``pixels_per_batch`` pixels (one compiled executable per
   worker; padding rows repeat the batch's last pixel with ``valid = 0``), NumPy back out, per-batch
   progress with ETA in the rule's log, a Dask performance report per tile.
5. Every finished batch is stored as it arrives (by the worker that ran it: the job process never holds the
   tile's results) in ``.{tile}.zarr.batches`` beside the result; a rerun after a time-out or crash keeps
   the finished batches and redoes the rest (:func:`run_tile_problem`).
6. Write the per-tile result (``results/assimilate/{region}/{tile}.zarr``, contract C4) from the stored
   batches in blocks of rows (``outputs.io_chunk_mb``): maps float32, the control vectors float64
   (:data:`tccas.io.output_store.RESULT_FLOAT64`), compressed; daily series only with
   ``assimilation.store_daily_series``. Then the stored batches are removed.

The batched callables are built once per process and settings (``functools.cache``), so every batch of a
tile reuses the same executable; batch shapes never change within a tile.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import re
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tccas.grid import tile_from_name
from tccas.pipeline.cluster import DaskSettings, compiled_for, dask_client, run_batches

log = logging.getLogger(__name__)

PRODUCTS = ("forcing", "landcover", "fapar", "sif", "smos")


def tile_input_paths(results_root: str | Path, region: str, tile: str) -> dict[str, Path]:
    """Paths of the regridded inputs of one tile (contract C4 layout)."""
    root = Path(results_root) / "regrid" / region / tile
    return {product: root / f"{product}.zarr" for product in PRODUCTS}


def assimilation_settings(config: Mapping[str, Any]):
    """``tccas.da.AssimilationSettings`` of the validated config (sections ``assimilation``, ``streams``,
    ``model``); pipeline-only keys (``pixels_per_batch``, ``footprint_mode``, :class:`Batching`) stay here."""
    from tccas.da import AssimilationSettings

    return AssimilationSettings.from_config(dict(config))


POSTERIOR_PIXELS = 5  # [D] pixels per vmapped posterior chunk (config assimilation.posterior_pixels)


@dataclasses.dataclass(frozen=True)
class Batching:
    """How the compiled program runs one padded batch (config section ``assimilation``).

    ``slots``: pixels the minimiser steps at once, refilled from the batch (``solver_slots``; ``None``: one
    per pixel); ``posterior_pixels``: most pixels whose posterior (coloured Jacobian, covariance,
    propagation) is evaluated together, in equal chunks (:func:`finish_in_chunks`). The posterior of one
    pixel holds ≈ 80 MiB of XLA temporaries (the hourly tangents of its tiles, ``jacobian_chunk`` at a
    time), so a chunk of 25 pixels made the program's temporaries ≈ 2 GiB, which every batch touched afresh
    (0.5 million page faults per batch); chunks of 5 hold ≈ 0.4 GiB and ran the posterior of the same 25
    pixels 12 % faster on one core (benchmarks/README.md, "Assimilation").
    """

    slots: int | None = None
    posterior_pixels: int = POSTERIOR_PIXELS

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Batching:
        a = config["assimilation"]
        return cls(a.get("solver_slots"), int(a.get("posterior_pixels", POSTERIOR_PIXELS)))

    def for_batch(self, n: int) -> Batching:
        """The same with the slots resolved for a batch of ``n`` pixels."""
        return self if self.slots is not None else dataclasses.replace(self, slots=n)


def slot_control_names(n_tiles: int, settings) -> list[str]:
    """Names of the x-vector entries independent of the pixel's PFTs: ``vcmax25[0]`` for the per-tile
    control of PFT tile slot 0 (``tccas.da.control_names`` without the ``:PFT`` part), ``sif_scale`` for
    per-pixel controls. The layout depends only on the number of tile slots and the settings, so every pixel
    of a run shares it; the PFT of each slot is stored separately (``pft``)."""
    from tccas.da import control_names

    names = control_names(np.zeros(n_tiles, dtype=np.int32), settings)
    return [re.sub(r"\[(\d+):[^\]]*\]", r"[\1]", str(n)) for n in names]


def assimilate_refilled(batch, settings, slots: int, posterior_pixels: int = POSTERIOR_PIXELS):
    """:func:`tccas.da.assimilate_pixel` for every pixel of ``batch`` (``PixelProblem`` with a leading pixel
    axis of length n, a multiple of ``slots``), with the minimiser stepping ``slots`` pixels at once and
    every stopped slot refilled with the next pixel of the batch: :func:`minimise_refilled`, then
    :func:`finish_in_chunks` in chunks of at most ``posterior_pixels``.

    Every pixel goes through exactly the steps it takes alone, so its result does not depend on ``slots``
    or on its neighbours; with ``slots == n`` this is the vmapped :func:`tccas.da.assimilate_pixel`. Pure
    JAX; jit with ``settings``, ``slots`` and ``posterior_pixels`` static.
    """
    return finish_in_chunks(minimise_refilled(batch, settings, slots), batch, settings, posterior_pixels)


def minimise_refilled(batch, settings, slots: int):
    """The stopped solver state of every pixel of ``batch`` (leading axis n), the minimiser stepping
    ``slots`` pixels at once.

    A vmapped ``while_loop`` runs a batch until its slowest pixel stops, so the pixels that stopped early
    are evaluated for nothing (≈ 20 % of the evaluations of the ``bench_da`` batch, 7–10 % of the demo's).
    Here one ``while_loop`` steps the slots (:func:`tccas.da.solver_step`, one cost and gradient evaluation
    each); a slot whose pixel stops hands its solver state to the pixel's row of the result and starts the
    next pixel (:func:`tccas.da.solver_start`); when none is left the slot idles until the last pixel
    stops.
    """
    import jax
    import jax.numpy as jnp

    import tccas.da as tda

    n = int(np.shape(batch.valid)[0])
    if slots < 1 or n % slots:
        raise ValueError(f"a batch of {n} pixels cannot be split into solver slots of {slots}")
    start = jax.vmap(functools.partial(tda.solver_start, settings=settings))
    step = jax.vmap(functools.partial(tda.solver_step, settings=settings))
    tree = jax.tree_util.tree_map

    def take(rows):
        return tree(lambda a: a[rows], batch)

    def body(carry):
        states, pixel, next_pixel, stopped = carry
        states = step(states, take(jnp.minimum(pixel, n - 1)))
        ends = states.done & (pixel < n)
        stopped = tree(lambda o, a: o.at[jnp.where(ends, pixel, n)].set(a, mode="drop"), stopped, states)
        pixel = jnp.where(ends, jnp.minimum(next_pixel + jnp.cumsum(ends) - 1, n), pixel)  # n: idle slot
        fresh = start(take(jnp.minimum(pixel, n - 1)))
        states = tree(lambda a, b: jnp.where(ends.reshape((-1,) + (1,) * (a.ndim - 1)), a, b), fresh, states)
        return states, pixel, next_pixel + jnp.sum(ends), stopped

    first = jnp.arange(slots)
    states = start(take(first))
    stopped = tree(lambda a: jnp.zeros((n, *a.shape[1:]), a.dtype), states)
    carry = (states, first, jnp.asarray(slots), stopped)
    *_, final = jax.lax.while_loop(lambda c: jnp.any(c[1] < n), body, carry)
    return final


def finish_in_chunks(stopped, batch, settings, posterior_pixels: int = POSTERIOR_PIXELS):
    """:func:`tccas.da.assimilate_finish` (posterior, propagation, outputs) of every pixel of ``batch`` from
    its stopped solver state, vmapped over equal chunks of at most ``posterior_pixels`` pixels
    (:func:`tccas.da.pixel.map_in_chunks`; :class:`Batching` says why the chunks are small)."""
    import tccas.da as tda
    from tccas.da.pixel import map_in_chunks

    def finish(args):
        return tda.assimilate_finish(*args, settings=settings)

    return map_in_chunks(finish, (stopped, batch), posterior_pixels)


@functools.cache
def _batched(kind: str, settings, batching: Batching | None):
    """The jitted batched DA function ``kind``, built once per process, settings and batching:
    :func:`assimilate_refilled` (``"assimilate"``) or ``vmap`` of :func:`tccas.da.prior_equivalents`."""
    import jax

    import tccas.da as tda

    if kind == "assimilate":
        return jax.jit(
            functools.partial(
                assimilate_refilled,
                settings=settings,
                slots=batching.slots,
                posterior_pixels=batching.posterior_pixels,
            )
        )
    return jax.jit(jax.vmap(functools.partial(tda.prior_equivalents, settings=settings)))


def _executable(kind: str, batch, settings, batching: Batching):
    """The compiled batched DA function ``kind`` for the shapes of ``batch`` (:func:`~tccas.pipeline.cluster.
    compiled_for`, named for the exported-program store by ``kind``, the settings and, for the assimilation,
    the batching)."""
    if kind == "assimilate":
        plan = batching.for_batch(int(np.shape(batch.valid)[0]))
        name = f"tccas.da.{kind}:{settings!r}:{plan!r}"
    else:
        plan, name = None, f"tccas.da.{kind}:{settings!r}"
    return compiled_for(_batched(kind, settings, plan), batch, name=name)


def compile_batch(kind: str, batch, settings, batching: Batching = Batching()) -> None:
    """Compile the batched DA function ``kind`` for the shapes of ``batch`` (run once, alone, before the
    batches: see :func:`tccas.pipeline.cluster.run_batches`)."""
    _executable(kind, batch, settings, batching)


def run_batch(kind: str, batch, settings, batching: Batching = Batching()) -> dict[str, np.ndarray]:
    """Run the batched DA function ``kind`` (``"assimilate"``: :func:`assimilate_refilled` with the solver
    slots and posterior chunks of ``batching``; ``"prior"``: model equivalents under the prior, obs_da_spec
    §7.3) on one padded batch (``PixelProblem`` of NumPy leaves) on a worker; NumPy results."""
    import jax

    out = _executable(kind, batch, settings, batching)(batch)
    return {k: np.asarray(v) for k, v in jax.device_get(out).items()}


def padded_index_batches(n_pixels: int, batch_size: int) -> Iterator[tuple[int, np.ndarray, int]]:
    """``(batch number, padded pixel indices of length batch_size, number of real pixels)``."""
    for b, start in enumerate(range(0, n_pixels, batch_size)):
        idx = np.arange(start, min(start + batch_size, n_pixels))
        padded = np.concatenate([idx, np.repeat(idx[-1], batch_size - idx.size)])
        yield b, padded, int(idx.size)


def footprint_sigma_repr(
    prior: Mapping[str, np.ndarray], footprint_ids: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Representativeness error σ_repr per observation slot (obs_da_spec §7.3, Mode A).

    ``prior[s]`` and ``footprint_ids[s]`` have shape ``(n_pixels, n_max)``; ids < 0 mark padding. For every
    footprint id ``F``: ``σ_repr² = (H_p − mean_F H)² + Var_F H`` with the population variance over the
    footprint's (pixel, slot) entries in the tile. Padding and non-finite prior values give 0.
    """
    out: dict[str, np.ndarray] = {}
    for stream, ids in footprint_ids.items():
        h = np.asarray(prior[stream], dtype=np.float64)
        ids = np.asarray(ids)
        if h.shape != ids.shape:
            raise ValueError(
                f"stream {stream}: prior equivalents {h.shape} and footprint ids {ids.shape} differ"
            )
        sigma = np.zeros(h.shape, dtype=np.float64)
        use = (ids >= 0) & np.isfinite(h)
        if use.any():
            _, inverse = np.unique(ids[use], return_inverse=True)
            count = np.bincount(inverse)
            mean = np.bincount(inverse, weights=h[use]) / count
            var = np.maximum(np.bincount(inverse, weights=h[use] ** 2) / count - mean**2, 0.0)
            sigma[use] = np.sqrt((h[use] - mean[inverse]) ** 2 + var[inverse])
        out[stream] = sigma
    return out


def _with_sigma_repr(batch, sigma: Mapping[str, np.ndarray] | None, n_real: int):
    """The batch with σ_repr replaced (coarse streams) and padding rows marked ``valid = 0``."""
    obs = dict(batch.obs)
    if sigma is not None:
        for stream, values in sigma.items():
            obs[stream] = obs[stream]._replace(sigma_repr=np.asarray(values, dtype=np.float64))
    valid = np.array(batch.valid, dtype=np.float64, copy=True)
    valid[n_real:] = 0.0
    return batch._replace(obs=obs, valid=valid)


def _tasks(problem, batch_size: int, sigma, skip: frozenset[int] = frozenset()):
    """Padded batches as ``(number, n_real, batch)`` with the representativeness errors ``sigma`` (None: as
    built) and padding rows marked invalid; the batches in ``skip`` (already stored) are left out."""
    for b, padded, n_real in padded_index_batches(problem.n_pixels, batch_size):
        if b in skip:
            continue
        part = None if sigma is None else {s: v[padded] for s, v in sigma.items()}
        yield b, n_real, _with_sigma_repr(problem.batch(padded), part, n_real)


def _gather(
    results: Mapping[int, Mapping[str, np.ndarray]], n_pixels: int, batch_size: int
) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    n_batches = len(results)
    for key in results[0]:
        parts = []
        for b in range(n_batches):
            n_real = min(batch_size, n_pixels - b * batch_size)
            parts.append(np.asarray(results[b][key])[:n_real])
        out[key] = np.concatenate(parts, axis=0)
    return out


def store_batch(batch, settings, batching: Batching, parts, number: int, n_real: int, omit: tuple[str, ...]):
    """Assimilate one padded batch on a worker (:func:`run_batch`) and store its real pixels' results, with
    the batch's PFT tile slots (``pfts``, ``fractions``), as part ``number`` of ``parts``
    (:class:`tccas.io.output_store.BatchParts`); keys starting with a prefix in ``omit`` are not kept.
    Returns ``n_real``: the results stay on disk, never in the job process."""
    out = run_batch("assimilate", batch, settings, batching)
    out["pfts"] = np.asarray(batch.pfts)
    out["fractions"] = np.asarray(batch.fractions)
    parts.write(number, {k: v[:n_real] for k, v in out.items() if not k.startswith(omit)})
    return n_real


def _prepare_store(batch, settings, batching: Batching, *_):
    """``prepare`` of :func:`store_batch` tasks: compile the assimilation for the batch shapes."""
    compile_batch("assimilate", batch, settings, batching)


def run_tile_problem(
    problem,
    settings,
    batch_size: int,
    dask: DaskSettings,
    parts,
    report_path: str | Path | None = None,
    footprint_mode: str = "per_pixel",
    batching: Batching = Batching(),
    omit: tuple[str, ...] = (),
) -> int:
    """Prior pass, representativeness errors and assimilation of every pixel of ``problem`` whose batch is
    not yet in ``parts`` (:class:`tccas.io.output_store.BatchParts`); returns the number of batches run.

    Each finished batch is stored as it completes (:func:`store_batch`: contract-C2 results of its real
    pixels, ``pfts`` and ``fractions``), so a rerun after an interruption redoes only the batches that never
    finished; a batch's results depend only on its pixels and the settings, so they equal those of an
    uninterrupted run bit for bit. The prior pass (one forward run per pixel) is redone for the
    representativeness errors of the remaining batches; it is skipped when every batch is stored.
    ``footprint_mode="per_pixel"`` is Mode A of obs_da_spec §7.3 (the only mode of the config schema).
    ``batching``: solver slots (default one per pixel) and posterior chunks of every batch
    (:func:`assimilate_refilled`). ``omit``: result-key prefixes not stored.
    """
    if footprint_mode != "per_pixel":
        raise ValueError(f"footprint_mode {footprint_mode!r} is not supported (only 'per_pixel')")
    n = int(problem.n_pixels)
    done = frozenset(parts.done()) if n else frozenset()
    todo = [(b, k) for b, _, k in padded_index_batches(n, batch_size) if b not in done]
    if done:
        log.info("%d of %d batches stored by an earlier run: kept", len(done), len(done) + len(todo))
    if not todo:
        return 0
    n_batches = -(-n // batch_size)
    with dask_client(dask, report_path) as client:
        t0 = time.perf_counter()
        prior = run_batches(
            client,
            functools.partial(run_batch, "prior"),
            ((b, k, (batch, settings)) for b, k, batch in _tasks(problem, batch_size, None)),
            n_batches,
            n,
            "prior",
            prepare=functools.partial(compile_batch, "prior"),
        )
        sigma = footprint_sigma_repr(_gather(prior, n, batch_size), problem.footprint_ids)
        del prior
        log.info("prior pass and representativeness errors: %.1f s", time.perf_counter() - t0)
        t1 = time.perf_counter()
        tasks = (
            (b, k, (batch, settings, batching, parts, b, k, omit))
            for b, k, batch in _tasks(problem, batch_size, sigma, done)
        )
        run_batches(
            client,
            store_batch,
            tasks,
            len(todo),
            sum(k for _, k in todo),
            "assimilate",
            prepare=_prepare_store,
        )
        log.info("assimilation pass: %.1f s", time.perf_counter() - t1)
    return len(todo)


def result_key(
    config: Mapping[str, Any], region: str, tile: str, problem, inputs, batch: int, batching
) -> str:
    """Key of the stored batches of a tile job (:class:`tccas.io.output_store.BatchParts`): SHA-256 of the
    tccas version, the tile, its pixels, the assimilation settings, the batching and what the input stores
    were (file sizes and modification times); batches of another key are never reused."""
    import tccas
    from tccas.io.output_store import input_stamp

    payload = {
        "version": tccas.__version__,
        "region": region,
        "tile": tile,
        "pixels": hashlib.sha256(np.stack([problem.rows, problem.cols]).tobytes()).hexdigest(),
        "settings": repr(assimilation_settings(config)),
        "assimilation": config["assimilation"],
        "batch": batch,
        "batching": repr(batching),
        "inputs": input_stamp(inputs),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def assimilate_tile(
    config: Mapping[str, Any],
    region: str,
    tile: str,
    output: str | Path,
    inputs: Mapping[str, str | Path] | None = None,
    n_workers: int | None = None,
    batch_size: int | None = None,
    report_path: str | Path | None = None,
) -> Path:
    """Assimilate every land pixel of one tile and write the per-tile result store ``output``.

    Resumable: finished batches are kept in ``.{tile}.zarr.batches`` beside ``output``
    (:func:`tccas.io.output_store.batch_parts_dir`) until the store is written, and a rerun of the same job
    (same inputs, settings and batch size: :func:`result_key`) continues from them. The store is assembled
    from them in blocks of rows of ``outputs.io_chunk_mb`` (:func:`tccas.io.output_store.write_tile_result`),
    written under a temporary name and renamed, then the batches are removed. ``inputs`` defaults to the C4
    layout under ``outputs.root``; ``n_workers`` and ``batch_size`` override ``dask.n_workers`` and
    ``assimilation.pixels_per_batch`` (benchmarks, invariance tests).
    """
    from tccas.io.output_store import BatchParts, batch_parts_dir, write_tile_result
    from tccas.pipeline.problem import build_tile_problem

    t_start = time.perf_counter()
    tile_obj = tile_from_name(tile, config["grid"]["resolution_m"])
    paths = {
        k: Path(v) for k, v in (inputs or tile_input_paths(config["outputs"]["root"], region, tile)).items()
    }
    problem = build_tile_problem(paths, dict(config), region, tile_obj)
    settings = assimilation_settings(config)
    batch = int(batch_size or config["assimilation"]["pixels_per_batch"])
    dask = DaskSettings.from_config(config, n_workers)
    batching = Batching.from_config(config)
    if batch_size is not None:  # an overridden batch size (benchmarks, invariance tests): one slot per pixel
        batching = dataclasses.replace(batching, slots=None)
    batching = batching.for_batch(batch)
    log.info(
        "tile %s/%s: %d land pixels, batch %d, %d solver slots, posterior chunks of <= %d, %d workers",
        region,
        tile,
        problem.n_pixels,
        batch,
        batching.slots,
        batching.posterior_pixels,
        dask.n_workers,
    )
    omit = tuple(
        prefix
        for prefix, keep in (
            ("x_cov_post", config["assimilation"]["store_covariance"]),
            ("series_", config["assimilation"]["store_daily_series"]),
        )
        if not keep
    )
    key = result_key(config, region, tile, problem, paths.values(), batch, batching)
    parts = BatchParts.open(batch_parts_dir(output), key)
    n_run = run_tile_problem(
        problem,
        settings,
        batch,
        dask,
        parts,
        report_path,
        config["assimilation"]["footprint_mode"],
        batching,
        omit,
    )
    names = slot_control_names(int(config["assimilation"]["max_tiles"]), settings)
    attrs = {
        "region": region,
        "run_id": config.get("run_id", ""),
        "pixels_per_batch": batch,
        "solver_slots": batching.slots,
        "posterior_pixels": batching.posterior_pixels,
        "n_workers": dask.n_workers,
        "wall_seconds": round(time.perf_counter() - t_start, 3),
    }
    write_tile_result(
        output,
        tile_obj,
        problem.rows,
        problem.cols,
        parts.pixels(batch),
        problem.dates,
        names,
        attrs,
        config["outputs"]["io_chunk_mb"],
    )
    parts.remove()
    log.info(
        "tile %s/%s written to %s in %.1f s (%d batches run)",
        region,
        tile,
        output,
        time.perf_counter() - t_start,
        n_run,
    )
    return Path(output)
