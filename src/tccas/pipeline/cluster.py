"""Dask distributed inside a tile job: process workers with one thread each, pinned XLA/BLAS threads, spawn
start method, optional attachment to an existing scheduler, and a bounded-in-flight batch runner with
progress/ETA logging (ecosystem_aesthetics §2.3, §2.4 option A, §5 "Progress").

Design notes

* One Snakemake job = one tile = one short-lived ``LocalCluster`` (failure domain = one tile; Snakemake owns
  retries). ``dask.scheduler_address`` in the config attaches to an existing scheduler instead (e.g. a
  dask-jobqueue ``SLURMCluster`` started by the user); the job then never starts or stops workers.
* Workers are processes (``processes=True``) with ``threads_per_worker=1``: XLA-CPU runs its own intra-op
  pool per process, so threads on top of it would oversubscribe cores. The thread caps (``XLA_FLAGS``,
  ``OMP/MKL/OPENBLAS_NUM_THREADS``) and ``JAX_ENABLE_X64`` are set in the parent's environment and passed to
  the nanny's ``env`` before any worker starts, so every worker imports JAX with them (JAX reads them once).
  The flags do not stop the XLA-CPU runtime from running independent kernels concurrently on its Eigen pool
  (measured: one worker used ≈ 1.8 cores), so each ``LocalCluster`` worker is pinned to one core of the
  job's CPU set while it runs batches (:class:`PinToCore`, worker ``i`` → core ``i mod n``; every thread of
  the process, XLA's pools included). The worker starts its JAX backend on that core
  (:func:`start_backend_on`), so XLA's intra-op pool has one thread instead of one per core of the job
  taking turns on the worker's core. The one-off compilation (``prepare`` of :func:`run_batches`) runs
  unpinned: XLA compiles with a thread pool, and pinned it took 167 s instead of 117 s for the solver.
  Workers of an external scheduler are left to their cluster manager (SLURM cgroups); they get the job's
  program store and compilation cache where they have none of their own (:func:`adopt_caches`).
* Never fork after JAX init: the nanny start method is forced to ``spawn`` (``distributed.worker.
  multiprocessing-method``) and the job's parent process does not run JAX before the cluster is up.
* Dask's diagnostics sample less often than distributed's defaults (:data:`DASK_DIAGNOSTICS_DEFAULTS`): they
  run on the worker's pinned core, beside the XLA thread.
* Batches are submitted with at most ``max_in_flight`` outstanding futures (memory bound for 10^6-pixel
  tiles whose inputs are materialised per batch) and gathered as they complete; results are NumPy.
* Lost workers (a killed process, a pre-empted node): the nanny of a ``LocalCluster`` starts a new worker
  (new address) and the scheduler moves the dead worker's tasks to a live one, recomputing results it held.
  Every task may run on any worker, so none waits for a worker that is gone: the per-worker program load
  (``prepare``) prefers its worker but may move (``allow_other_workers=True``); it was pinned before, and a
  worker lost while loading the program left it ``no-worker`` for ever. A tile job that still makes no
  progress for ``dask.stall_timeout_s`` (no batch finished) fails with :class:`StallError`, which names the
  pending tasks and the workers, instead of holding its allocation idle.
* Scratch space: each ``LocalCluster`` gets its own folder ``tccas-dask-<host>-<pid>-*`` under ``$TMPDIR``
  (or the system temp folder), removed when the job ends; folders left by killed jobs of this host (their
  process is gone) are removed when the next tile job starts (:func:`scratch_directory`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
import numpy as np
from distributed import Client, LocalCluster, WorkerPlugin, performance_report, wait

log = logging.getLogger(__name__)

# Dask's diagnostics, sampled less often than distributed's defaults: the worker profiler (stacks every 10 ms,
# a new profile every second) and every server's event-loop watchdog (a tick every 20 ms). A worker has one
# compute thread pinned to its core with every other thread of the process, so they take time from the XLA
# thread, and the job's scheduler shares the cores with the workers. Measured (one pinned one-thread worker,
# 15 s of a GIL-free task, benchmarks/README.md): the worker's event loop 4.5 → 0.9 % of its core, the job's
# scheduler 4.6 → 1.6 % of a core, the task's thread 3.8 % more of its core. A batch runs 10–30 s, so
# samples every 100 ms still profile it (the performance report), and a loop blocked for the 3 s limit is
# still reported. Library defaults in Dask's way: settings of the user's Dask configuration win.
DASK_DIAGNOSTICS_DEFAULTS = {
    "distributed": {
        "worker": {"profile": {"interval": "100ms", "cycle": "5s"}},
        "admin": {"tick": {"interval": "200ms"}},
    }
}
dask.config.update_defaults(DASK_DIAGNOSTICS_DEFAULTS)


class PinToCore(WorkerPlugin):
    """Dask worker plugin of a ``LocalCluster`` worker: its core for :func:`set_worker_pinning`.

    ``cores``: the CPU set of the tile job; worker ``name`` ``i`` (``LocalCluster`` names its workers 0, 1, …)
    gets ``cores[i mod len(cores)]``.
    """

    name = "tccas-pin-to-core"

    def __init__(self, cores: Iterable[int]):
        self.cores = sorted(int(c) for c in cores)
        self.core: int | None = None

    def setup(self, worker) -> None:
        try:
            index = int(worker.name)
        except (TypeError, ValueError):
            index = sum(map(ord, str(worker.name)))
        self.core = self.cores[index % len(self.cores)] if self.cores else None
        if self.core is not None and hasattr(os, "sched_setaffinity"):
            start_backend_on({self.core})
            pin_threads(self.cores)


def start_backend_on(cores: Iterable[int]) -> None:
    """Start this process's JAX CPU backend with ``cores`` as its affinity (every thread pinned to them for
    the start).

    XLA-CPU sizes its intra-op thread pool from the CPU affinity of the process when the backend starts. A
    worker that starts it on the job's two cores and then runs pinned to one has two XLA threads taking
    turns on that core (measured on a 2-worker tile job: each worker's two pool threads used half a core
    each, with a third of it system time); started on its one core, the pool has one thread. No-op when the
    backend already runs.
    """
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized():
        return
    pin_threads(cores)
    import jax

    jax.devices("cpu")


def _apply_pinning(pinned: bool, dask_worker=None) -> list[int] | None:
    """In a worker: set the affinity of every thread of the process to its core (``pinned``) or back to the
    job's CPU set. No-op (None) for workers without :class:`PinToCore` or without ``os.sched_setaffinity``."""
    plugin = dask_worker.plugins.get(PinToCore.name) if dask_worker is not None else None
    if plugin is None or plugin.core is None or not hasattr(os, "sched_setaffinity"):
        return None
    return pin_threads({plugin.core} if pinned else set(plugin.cores))


def pin_threads(cores: Iterable[int]) -> list[int]:
    """Set the CPU affinity of every thread of this process (XLA's pools included) to ``cores`` (Linux;
    ``os.sched_setaffinity(0, …)`` alone would move only the calling thread). Returns the sorted set."""
    mask = {int(c) for c in cores}
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError):  # a thread may end meanwhile
            os.sched_setaffinity(int(tid), mask)
    return sorted(mask)


def set_worker_pinning(client: Client, pinned: bool) -> dict[str, list[int] | None]:
    """Pin every ``LocalCluster`` worker to its core, or release it to the job's CPU set (module notes);
    returns ``{worker address: affinity or None}``. A worker lost meanwhile is skipped (its replacement
    starts pinned to its core by :class:`PinToCore`)."""
    done = client.run(_apply_pinning, pinned, on_error="return")
    return {w: None if isinstance(v, BaseException) else v for w, v in done.items()}


PINNED_THREAD_ENV: dict[str, str] = {
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "JAX_PLATFORMS": "cpu",
    "JAX_ENABLE_X64": "1",
}


@dataclass(frozen=True)
class DaskSettings:
    """How the tile job gets its Dask workers (config section ``dask``, contract C4).

    ``n_workers`` process workers with ``threads_per_worker`` threads each in a ``LocalCluster``, or, when
    ``scheduler_address`` is set (``tcp://host:8786``), an existing cluster. ``n_workers = 0`` runs the
    batches in the calling process without Dask (debugging, profiling).
    """

    n_workers: int = 2
    threads_per_worker: int = 1
    scheduler_address: str | None = None
    local_directory: str | None = None
    stall_timeout_s: float = 1800.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any], n_workers: int | None = None) -> DaskSettings:
        section = config.get("dask", {})
        return cls(
            n_workers=int(section.get("n_workers", 2) if n_workers is None else n_workers),
            threads_per_worker=int(section.get("threads_per_worker", 1)),
            scheduler_address=section.get("scheduler_address"),
            local_directory=os.environ.get("TMPDIR"),
            stall_timeout_s=float(section.get("stall_timeout_s", 1800.0)),
        )


class StallError(RuntimeError):
    """No batch of a tile job finished within the stall timeout (``dask.stall_timeout_s``)."""


# Dask configuration key through which :func:`dask_client` gives :func:`run_batches` the job's stall timeout.
STALL_TIMEOUT_KEY = "tccas.stall-timeout"
SCRATCH_PREFIX = "tccas-dask-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextlib.contextmanager
def scratch_directory(base: str | Path | None = None) -> Iterator[Path]:
    """A fresh scratch folder for one ``LocalCluster`` (``local_directory``), removed on exit.

    Named ``tccas-dask-<host>-<pid>-<random>`` under ``base`` (default: the system temp folder). Folders of
    this host whose process no longer runs (a job killed with SIGKILL, which no exit handler survives) are
    removed first, so killed tile jobs leave no ``dask-scratch-space/worker-*`` behind for long. Folders of
    other hosts (a shared ``$TMPDIR``) and of running processes are left alone.
    """
    base = Path(base or tempfile.gettempdir())
    host = socket.gethostname().replace("-", "_")
    for old in base.glob(f"{SCRATCH_PREFIX}{host}-*"):
        pid = old.name.removeprefix(f"{SCRATCH_PREFIX}{host}-").split("-")[0]
        if pid.isdigit() and not _alive(int(pid)) and old.is_dir():
            log.info("removing the scratch folder %s of a finished or killed job", old)
            shutil.rmtree(old, ignore_errors=True)
    path = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{host}-{os.getpid()}-", dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def compilation_cache_dir(base: Mapping[str, str]) -> str:
    """Persistent JAX compilation cache of this user and CPU architecture (ecosystem_aesthetics §2.3).

    ``$TCCAS_JAX_CACHE`` if set, else ``$XDG_CACHE_HOME/tccas/jax/<machine>`` (default ``~/.cache``). New
    worker processes and later tile jobs load the compiled solver instead of recompiling it; the
    per-architecture subfolder keeps entries from nodes with other CPU features apart.
    """
    if base.get("TCCAS_JAX_CACHE"):
        return base["TCCAS_JAX_CACHE"]
    root = base.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(root, "tccas", "jax", platform.machine() or "unknown")


def worker_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for workers: :data:`PINNED_THREAD_ENV` over ``base``, plus the persistent JAX
    compilation cache (``JAX_COMPILATION_CACHE_DIR``, kept if ``base`` sets it; see
    :func:`compilation_cache_dir`) and the store of exported programs beside it (``TCCAS_PROGRAM_CACHE``,
    kept if set; see :func:`compiled_for`).

    An ``XLA_FLAGS`` already present in ``base`` is kept and the pinning flags are appended (later flags win
    in XLA's parser), so user flags such as a dump directory survive; flags that already contain the pinning
    are kept as they are.
    """
    base = dict(os.environ if base is None else base)
    env = {k: v for k, v in PINNED_THREAD_ENV.items()}
    if base.get("XLA_FLAGS") and PINNED_THREAD_ENV["XLA_FLAGS"] in base["XLA_FLAGS"]:
        env["XLA_FLAGS"] = base["XLA_FLAGS"]
    elif base.get("XLA_FLAGS"):
        env["XLA_FLAGS"] = f"{base['XLA_FLAGS']} {PINNED_THREAD_ENV['XLA_FLAGS']}"
    env["JAX_COMPILATION_CACHE_DIR"] = base.get("JAX_COMPILATION_CACHE_DIR") or compilation_cache_dir(base)
    env["TCCAS_PROGRAM_CACHE"] = (
        base.get("TCCAS_PROGRAM_CACHE") or f"{env['JAX_COMPILATION_CACHE_DIR']}-programs"
    )
    return env


def use_worker_environment() -> dict[str, str]:
    """Give this process the environment of the workers (:func:`worker_environment`) and return it.

    The XLA flags are part of the persistent-cache key of every executable, so a program compiled in a
    process with other flags is compiled again by the workers. Jobs that run JAX in process (``precompile``,
    the truth run of ``make-demo-data``, the in-process parts of a tile job) call this before the JAX backend
    starts (XLA reads its flags then); they also get the persistent compilation cache and the exported-program
    store, so concurrent jobs trace and compile a shared program once (:func:`compiled_for`).
    """
    env = worker_environment()
    flags = os.environ.get("XLA_FLAGS")
    os.environ.update(env)
    import jax
    from jax._src import xla_bridge

    if xla_bridge.backends_are_initialized() and flags != env["XLA_FLAGS"]:
        log.warning("JAX backend already started: this process keeps XLA_FLAGS=%r", flags)
    jax.config.update("jax_compilation_cache_dir", env["JAX_COMPILATION_CACHE_DIR"])
    return env


@contextlib.contextmanager
def dask_client(settings: DaskSettings, report_path: str | Path | None = None) -> Iterator[Client | None]:
    """A Dask client for one tile job (``None`` when ``settings.n_workers == 0``: run in process).

    With ``report_path`` a Dask performance report (HTML) of everything run inside the block is written
    there.
    """
    env = use_worker_environment()
    if settings.scheduler_address is None and settings.n_workers == 0:
        yield None
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            dask.config.set(
                {
                    "distributed.worker.multiprocessing-method": "spawn",
                    STALL_TIMEOUT_KEY: settings.stall_timeout_s,
                }
            )
        )
        if settings.scheduler_address:
            log.info("attaching to the Dask scheduler at %s", settings.scheduler_address)
            client = stack.enter_context(Client(settings.scheduler_address))
            adopt_caches(client, env)
        else:
            scratch = str(stack.enter_context(scratch_directory(settings.local_directory)))
            # everything Dask writes (the workers' spill folders, the scheduler's locks) goes there
            stack.enter_context(dask.config.set({"temporary-directory": scratch}))
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=settings.n_workers,
                    threads_per_worker=settings.threads_per_worker,
                    processes=True,
                    dashboard_address=":0",
                    local_directory=scratch,
                    env=env,
                )
            )
            client = stack.enter_context(Client(cluster))
            if hasattr(os, "sched_getaffinity"):
                client.register_plugin(PinToCore(os.sched_getaffinity(0)))
            log.info(
                "LocalCluster: %d process workers x %d thread(s), dashboard %s",
                settings.n_workers,
                settings.threads_per_worker,
                client.dashboard_link,
            )
        if report_path is not None:
            Path(report_path).parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(performance_report(filename=str(report_path)))
        yield client


CACHE_KEYS = ("JAX_COMPILATION_CACHE_DIR", "TCCAS_PROGRAM_CACHE")


def adopt_caches(client: Client, env: Mapping[str, str]) -> dict[str, dict[str, str | None]]:
    """Give the workers of an existing cluster (``dask.scheduler_address``) the job's exported-program store
    and persistent compilation cache (the ``CACHE_KEYS`` of ``env``, :func:`worker_environment`) where they
    have none of their own; returns ``{worker address: its caches and XLA_FLAGS}``.

    Workers started by a cluster manager (dask-jobqueue, a ``dask worker`` command) do not run
    :func:`use_worker_environment`: without this, each would trace and compile the solver itself (minutes per
    worker) instead of loading what the ``precompile`` job built. A worker whose ``XLA_FLAGS`` differ from the
    job's still compiles (the flags are part of the cache key): that is logged as a warning.
    """
    seen = client.run(_adopt_caches, {k: env[k] for k in CACHE_KEYS})
    for address, used in seen.items():
        log.info("worker %s: program store %s, compilation cache %s", address, *(used[k] for k in CACHE_KEYS))
        if sorted((used["XLA_FLAGS"] or "").split()) != sorted(env["XLA_FLAGS"].split()):  # as JAX's key
            log.warning(
                "worker %s runs with XLA_FLAGS=%r, the job's programs were compiled with %r: it compiles "
                "them again (minutes) instead of loading them; start the workers with the job's XLA_FLAGS",
                address,
                used["XLA_FLAGS"],
                env["XLA_FLAGS"],
            )
    return seen


def _adopt_caches(caches: Mapping[str, str]) -> dict[str, str | None]:
    """In a worker: take ``caches`` (``CACHE_KEYS`` → path) unless the worker has its own; its caches and
    ``XLA_FLAGS``."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    for key, value in caches.items():
        os.environ.setdefault(key, value)
    if not jax.config.jax_compilation_cache_dir:
        compilation_cache.set_cache_dir(os.environ["JAX_COMPILATION_CACHE_DIR"])
        compilation_cache.reset_cache()  # JAX decides at a process's first compilation whether to use a cache
    return {
        "JAX_COMPILATION_CACHE_DIR": jax.config.jax_compilation_cache_dir,
        "TCCAS_PROGRAM_CACHE": os.environ["TCCAS_PROGRAM_CACHE"],
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
    }


class Progress:
    """Per-batch progress with ETA, logged at a cadence of ~5 % of the batches (and the last one)."""

    def __init__(self, label: str, n_batches: int, n_items: int, logger: logging.Logger = log):
        self.label = label
        self.n_batches = n_batches
        self.n_items = n_items
        self.done_batches = 0
        self.done_items = 0
        self.start = time.perf_counter()
        self.every = max(1, n_batches // 20)
        self.log = logger
        self.log.info("%s: %d items in %d batches", label, n_items, n_batches)

    def update(self, items: int) -> None:
        self.done_batches += 1
        self.done_items += items
        if self.done_batches % self.every and self.done_batches != self.n_batches:
            return
        elapsed = time.perf_counter() - self.start
        rate = self.done_items / elapsed if elapsed > 0 else float("inf")
        eta = (self.n_items - self.done_items) / rate if rate > 0 else float("nan")
        self.log.info(
            "%s: batch %d/%d (%.0f %%), %d/%d items, elapsed %.1f s, ETA %.1f s",
            self.label,
            self.done_batches,
            self.n_batches,
            100.0 * self.done_batches / max(self.n_batches, 1),
            self.done_items,
            self.n_items,
            elapsed,
            eta,
        )

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start


_COMPILED: dict[tuple, Any] = {}


def compiled_for(jitted: Callable[..., Any], *args: Any, name: str | None = None) -> Callable[..., Any]:
    """The ahead-of-time compiled executable of ``jitted`` for the shapes and dtypes of ``args`` (cached in
    this process).

    With ``name`` (a string that identifies ``jitted`` and its static settings, e.g. ``"da.assimilate:" +
    repr(settings)``) and ``$TCCAS_PROGRAM_CACHE`` set (:func:`worker_environment`), the traced program is
    exported once (``jax.export``, keyed by ``name``, the argument structure and shapes, the JAX version and
    the package source) to that folder; later processes deserialise it instead of tracing again (the trace of
    the assimilation program is ~20–40 s) and the persistent compilation cache supplies the executable.
    Without them: ``jitted.lower(*args).compile()`` (the persistent cache still saves the compile).
    """
    import jax

    leaves, treedef = jax.tree_util.tree_flatten(args)
    shapes = tuple((np.shape(x), np.result_type(x).str) for x in leaves)
    key = (jitted, name, treedef, shapes)
    if key not in _COMPILED:
        cache_dir = os.environ.get("TCCAS_PROGRAM_CACHE")
        if name is None or not cache_dir:
            _COMPILED[key] = jitted.lower(*args).compile()
        else:
            _COMPILED[key] = _exported(jitted, name, treedef, shapes, cache_dir)
    return _COMPILED[key]


def _exported(jitted, name: str, treedef, shapes, cache_dir: str) -> Callable[..., Any]:
    """Compile ``jitted`` for ``shapes`` through the exported-program store (see :func:`compiled_for`)."""
    import jax
    from jax import export

    from tccas.io.programs import exclusive, program_path, read_program, source_digest, write_program

    specs = [jax.ShapeDtypeStruct(shape, np.dtype(dtype)) for shape, dtype in shapes]
    path = program_path(
        cache_dir,
        repr((name, str(treedef), shapes, jax.__version__, platform.machine(), source_digest())),
    )
    blob = read_program(path)
    if blob is None:
        with exclusive(path):  # one process traces, exports and compiles; the others wait, then load
            blob = read_program(path)
            if blob is None:
                flat = jax.jit(lambda *xs: jitted(*jax.tree_util.tree_unflatten(treedef, xs)))
                program = export.export(flat)(*specs)
                write_program(path, program.serialize())
                log.info("program %s: traced and exported to %s", name.split(":")[0], path)
                return _load(program, specs)
    log.info("program %s: loaded from %s", name.split(":")[0], path)
    return _load(export.deserialize(bytearray(blob)), specs)


def _load(program, specs) -> Callable[..., Any]:
    """Compile (or load from the persistent compilation cache) the call of an exported program for
    ``specs``."""
    import jax

    compiled = jax.jit(program.call).lower(*specs).compile()

    def call(*args: Any) -> Any:
        return compiled(*(np.asarray(x) for x in jax.tree_util.tree_leaves(args)))

    return call


def _wait_some(futures, timeout: float, label: str, client: Client) -> set:
    """The futures of ``futures`` that finished (at least one), waiting at most ``timeout`` seconds;
    raises :class:`StallError` naming the pending tasks and the workers when none finished in time."""
    try:
        done, _ = wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED")
    except TimeoutError:
        states = sorted({f.status for f in futures})
        workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
        raise StallError(
            f"{label}: no task finished in {timeout:.0f} s (dask.stall_timeout_s): {len(futures)} pending "
            f"(states {', '.join(states)}), {len(workers)} workers ({', '.join(workers) or 'none'}); a "
            "worker that hangs or a cluster without workers? the job stops instead of waiting for ever"
        ) from None
    return set(done)


def run_batches(
    client: Client | None,
    func: Callable[..., Any],
    tasks: Iterable[tuple[Any, int, tuple]],
    n_batches: int,
    n_items: int,
    label: str,
    max_in_flight: int | None = None,
    prepare: Callable[..., Any] | None = None,
    stall_timeout: float | None = None,
) -> dict[Any, Any]:
    """Run ``func(*args)`` for every ``(key, n_items_in_batch, args)`` of ``tasks``; return ``{key: result}``.

    ``tasks`` is consumed lazily, so a batch's inputs are built only when a slot frees up; at most
    ``max_in_flight`` (default 2 × workers) futures are outstanding. With ``client=None`` the batches run
    in this process, in order. Any failed batch raises (the tile job fails; Snakemake retries it).

    ``prepare``: called on every worker at once with the first batch's arguments before any batch is
    submitted (e.g. :func:`compiled_for` the batch shapes), with the workers released to all cores of the
    job. The exported-program store builds a missing program in one worker while the others wait on its lock
    (:func:`tccas.io.programs.exclusive`; compiling the same XLA program in every worker at the same time
    costs minutes of CPU and ~1 GB each), then they load it; a stored program is loaded by all workers in
    parallel (≈ 6 s each for the demo solver; loading it one worker after the other put ≈ 6 s more on the
    critical path of a 2-worker tile). The batches run with every worker pinned to its core
    (:func:`set_worker_pinning`).

    Lost workers (module notes): every task, ``prepare`` included, may move to another worker, so the job
    survives a worker killed while it loads the program, runs a batch or holds a result. ``stall_timeout``
    (default: ``dask.stall_timeout_s`` of the job, 1800 s) bounds the time without any finished task: then
    :class:`StallError`.
    """
    progress = Progress(label, n_batches, n_items)
    results: dict[Any, Any] = {}
    iterator = iter(tasks)
    if client is None:
        for key, count, args in iterator:
            results[key] = func(*args)
            progress.update(count)
        return results
    if stall_timeout is None:
        stall_timeout = float(dask.config.get(STALL_TIMEOUT_KEY, 1800.0))
    workers = list(client.scheduler_info(n_workers=-1)["workers"])
    if max_in_flight is None:
        max_in_flight = 2 * max(1, len(workers))
    pending: dict[Any, tuple[Any, int]] = {}

    def submit(key: Any, count: int, args: tuple) -> None:
        future = client.submit(func, *args, pure=False)
        pending[future] = (key, count)

    def collect(future) -> None:
        key, count = pending.pop(future)
        results[key] = future.result()
        progress.update(count)
        future.release()

    first = next(iterator, None)
    if first is not None:
        if prepare is not None:
            set_worker_pinning(client, False)
            t0 = time.perf_counter()
            loads = {
                client.submit(prepare, *first[2], pure=False, workers=[w], allow_other_workers=True)
                for w in workers
            }
            while loads:
                for future in _wait_some(loads, stall_timeout, f"{label} (program load)", client):
                    loads.discard(future)
                    future.result()
            log.info(
                "%s: compiled or loaded on %d workers in %.1f s",
                label,
                len(workers),
                time.perf_counter() - t0,
            )
        set_worker_pinning(client, True)
        submit(*first)
    for key, count, args in iterator:
        submit(key, count, args)
        if len(pending) >= max_in_flight:
            break
    while pending:
        for future in _wait_some(set(pending), stall_timeout, label, client):
            collect(future)
            nxt = next(iterator, None)
            if nxt is not None:
                submit(*nxt)
    return results


# ----------------------------------------------------------------------------------------------------------
# SLURM requests (the workflow's onstart check, workflow/rules/common.smk)


@dataclass(frozen=True)
class PartitionLimits:
    """What the largest node of a SLURM partition offers: CPUs, memory [MB], and the partition's time limit
    [minutes] (None: no limit)."""

    cpus: int
    mem_mb: int
    time_min: float | None


def slurm_minutes(text: str) -> float | None:
    """A SLURM time limit (``[days-]hours:minutes:seconds``, ``minutes:seconds``, ``minutes``,
    ``infinite``/``UNLIMITED``) in minutes; None for no limit."""
    text = text.strip()
    if text.lower() in ("infinite", "unlimited", "n/a", ""):
        return None
    days, _, clock = text.rpartition("-")
    parts = [float(p) for p in clock.split(":")]
    if len(parts) == 3:
        minutes = parts[0] * 60 + parts[1] + parts[2] / 60
    elif len(parts) == 2:
        minutes = parts[0] + parts[1] / 60
    else:
        minutes = parts[0]
    return minutes + (float(days) * 1440 if days else 0.0)


def parse_sinfo(text: str) -> tuple[dict[str, PartitionLimits], str | None]:
    """``sinfo --noheader --Node --format "%P %c %m %l"`` (one line per node and partition) → the limits of
    each partition (its largest node) and the default partition (marked ``*``)."""
    limits: dict[str, PartitionLimits] = {}
    default = None
    for line in text.splitlines():
        fields = line.split()
        if len(fields) != 4:
            continue
        name, cpus, mem, time_limit = fields
        if name.endswith("*"):
            name = name[:-1]
            default = name
        node = PartitionLimits(int(cpus.rstrip("+")), int(mem.rstrip("+")), slurm_minutes(time_limit))
        old = limits.get(name)
        if old is not None:
            node = PartitionLimits(max(old.cpus, node.cpus), max(old.mem_mb, node.mem_mb), node.time_min)
        limits[name] = node
    return limits, default


def slurm_request_problems(
    rule: str,
    partition: str | None,
    cpus: int,
    mem_mb: float | None,
    runtime_min: float | None,
    limits: Mapping[str, PartitionLimits],
) -> list[str]:
    """Why a job's SLURM request can never start on ``partition`` (empty: it can), each with the setting
    that changes it. Such a job would stay PENDING (Reason=PartitionConfig) for ever."""
    if partition not in limits:
        known = ", ".join(sorted(limits)) or "none"
        return [
            f"rule {rule}: partition {partition!r} does not exist (partitions: {known}); set slurm_partition"
        ]
    limit = limits[partition]
    problems = []
    if cpus > limit.cpus:
        problems.append(
            f"rule {rule}: {cpus} CPUs requested, nodes of partition {partition} have at most {limit.cpus}; "
            f"lower dask.n_workers in the config (or set-threads: {rule}: {limit.cpus} in the profile)"
        )
    if mem_mb is not None and mem_mb > limit.mem_mb:
        problems.append(
            f"rule {rule}: {mem_mb:.0f} MB requested, nodes of partition {partition} have at most "
            f"{limit.mem_mb} MB; use smaller tiles or fewer workers (or set-resources: {rule}: mem_mb: ... "
            "in the profile)"
        )
    if runtime_min is not None and limit.time_min is not None and runtime_min > limit.time_min:
        problems.append(
            f"rule {rule}: {runtime_min:.0f} minutes requested, partition {partition} allows "
            f"{limit.time_min:.0f}; use smaller tiles or more workers (or set-resources: {rule}: runtime: "
            "... in the profile)"
        )
    return problems
