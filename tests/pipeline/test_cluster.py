"""Dask runner: thread pinning, spawn workers, bounded batches, and results independent of batch size and
worker count for a jitted, vmapped per-pixel function."""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path
from typing import NamedTuple

import cloudpickle
import dask
import numpy as np
import pytest
from distributed import Client, LocalCluster

from tccas.pipeline import cluster
from tccas.pipeline.cluster import DaskSettings, Progress, dask_client, run_batches, worker_environment

# Functions of this module must reach spawned workers, which cannot import the tests package.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@functools.cache
def _solver():
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)

    def pixel(x, valid):
        # a small nonlinear per-pixel iteration (fixed-point for y = cos(x * y)), masked by `valid`
        def body(_, y):
            return jnp.cos(x * y)

        y = jax.lax.fori_loop(0, 30, body, jnp.ones_like(x))
        return {"y": jnp.where(valid > 0, y, jnp.nan), "s": jnp.sum(y * x)}

    return jax.jit(jax.vmap(pixel))


def _solve_batch(x, valid):
    import jax

    out = _solver()(x, valid)
    return {k: np.asarray(jax.device_get(v)) for k, v in out.items()}


def _padded_tasks(x, batch):
    n = x.shape[0]
    for b, start in enumerate(range(0, n, batch)):
        idx = np.arange(start, min(start + batch, n))
        pad = np.concatenate([idx, np.repeat(idx[-1], batch - idx.size)])
        valid = (np.arange(batch) < idx.size).astype(float)
        yield b, idx.size, (x[pad], valid)


def _run(x, batch, settings):
    n_batches = -(-x.shape[0] // batch)
    with dask_client(settings) as client:
        res = run_batches(client, _solve_batch, _padded_tasks(x, batch), n_batches, x.shape[0], "test")
    y = np.concatenate([res[b]["y"][: min(batch, x.shape[0] - b * batch)] for b in range(n_batches)])
    s = np.concatenate([res[b]["s"][: min(batch, x.shape[0] - b * batch)] for b in range(n_batches)])
    return y, s


@pytest.fixture(scope="module")
def pixels():
    rng = np.random.default_rng(3)
    return rng.uniform(0.1, 2.0, size=(23, 3))


def test_in_process_batch_size_invariance(pixels):
    ref_y, ref_s = _run(pixels, 23, DaskSettings(n_workers=0))
    for batch in (4, 7):
        y, s = _run(pixels, batch, DaskSettings(n_workers=0))
        np.testing.assert_allclose(y, ref_y, rtol=1e-13)
        np.testing.assert_allclose(s, ref_s, rtol=1e-13)
    assert np.isfinite(ref_y).all()


@pytest.mark.slow
def test_worker_count_and_batch_invariance(pixels):
    ref_y, ref_s = _run(pixels, 5, DaskSettings(n_workers=0))
    for workers, batch in ((1, 5), (2, 8)):
        y, s = _run(pixels, batch, DaskSettings(n_workers=workers))
        np.testing.assert_allclose(y, ref_y, rtol=1e-13)
        np.testing.assert_allclose(s, ref_s, rtol=1e-13)


def _worker_env():
    return {
        k: os.environ.get(k)
        for k in [*cluster.PINNED_THREAD_ENV, "JAX_COMPILATION_CACHE_DIR", "TCCAS_PROGRAM_CACHE"]
    }


@pytest.mark.slow
def test_workers_are_spawned_with_pinned_threads(tmp_path):
    report = tmp_path / "dask.html"
    with dask_client(DaskSettings(n_workers=1), report_path=report) as client:
        envs = client.run(_worker_env)
        method = client.run(lambda: __import__("multiprocessing").get_start_method())
        profile = client.run(dask.config.get, "distributed.worker.profile.interval")
        tick = client.run(dask.config.get, "distributed.admin.tick.interval")
        client.submit(sum, [1, 2]).result()
    (env,) = envs.values()
    assert env["XLA_FLAGS"].count("intra_op_parallelism_threads=1") == 1
    assert {k: v for k, v in env.items() if k != "XLA_FLAGS"} == {
        k: v for k, v in worker_environment().items() if k != "XLA_FLAGS"
    }
    assert set(method.values()) == {"spawn"}
    assert set(profile.values()) == {"100ms"}  # cluster.DASK_DIAGNOSTICS_DEFAULTS reached the worker
    assert set(tick.values()) == {"200ms"}
    assert report.exists() and report.stat().st_size > 1000


def _thread_affinity(*_args):
    """Affinity of the calling thread and of every thread of the worker process."""
    tasks = os.listdir("/proc/self/task")
    return sorted(os.sched_getaffinity(0)), {tuple(sorted(os.sched_getaffinity(int(t)))) for t in tasks}


def _xla_pool_threads():
    """Threads of XLA-CPU's intra-op pool in this process, after a computation."""
    import jax.numpy as jnp

    (jnp.ones(8) + 1.0).block_until_ready()
    names = []
    for t in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{t}/comm") as handle:
            names.append(handle.read().strip())
    return names.count("tf_XLAEigen")


def _prepare_on_all_cores(job_cores, folder):
    """A ``prepare`` that fails (and so fails ``run_batches``) unless it runs on every core of the job; it
    leaves a file named after the worker's process id in ``folder``."""

    def prepare(*_args):
        own, threads = _thread_affinity()
        assert own == job_cores and threads == {tuple(job_cores)}, (own, threads)
        (folder / str(os.getpid())).touch()

    return prepare


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="thread affinity is Linux-only")
def test_batches_run_pinned_one_core_per_worker_and_prepare_unpinned(tmp_path):
    """Compilation (``prepare``) runs on every worker and may use every core of the job; batches run with
    each worker's threads on one core, different workers on different cores (as far as the job has
    cores); each worker's XLA pool has one thread (its backend started on its core)."""
    job_cores = sorted(os.sched_getaffinity(0))
    with dask_client(DaskSettings(n_workers=2)) as client:
        tasks = ((b, 1, (b,)) for b in range(6))
        cluster.set_worker_pinning(client, True)  # as after an earlier batch phase of the same job
        prepare = _prepare_on_all_cores(job_cores, tmp_path)
        seen = run_batches(client, _thread_affinity, tasks, 6, 6, "pin", prepare=prepare)
        pids = client.run(os.getpid)
        after = client.run(_thread_affinity)
        cluster.set_worker_pinning(client, False)
        released = client.run(_thread_affinity)
        pools = client.run(_xla_pool_threads)
    assert set(pools.values()) == {1}
    assert {p.name for p in tmp_path.iterdir()} == {str(pid) for pid in pids.values()}  # every worker
    for own, threads in seen.values():
        assert len(own) == 1 and threads == {tuple(own)}
    pinned_cores = {own[0] for own, _ in after.values()}
    assert len(pinned_cores) == min(2, len(job_cores))
    assert all(own == job_cores for own, _ in released.values())


def test_missing_program_is_built_once_by_concurrent_workers(tmp_path, monkeypatch, pixels):
    """Two workers that need the same missing program: one exports it under the store's lock, the other
    waits and loads it (no second trace); both give the jitted function's numbers."""
    import threading
    import time

    import jax
    from jax import export

    x = pixels[:8]
    args = (_Pair(x, np.ones(8)), 0.5)
    fn = jax.jit(lambda p, scale: _solver()(p.x * scale, p.w))
    leaves, treedef = jax.tree_util.tree_flatten(args)
    shapes = tuple((np.shape(a), np.result_type(a).str) for a in leaves)
    real_export, traced = export.export, []

    def slow_export(*a, **k):
        traced.append(1)
        time.sleep(0.5)  # the other worker arrives while the program is being built
        return real_export(*a, **k)

    monkeypatch.setattr(export, "export", slow_export)
    results = [None, None]

    def worker(i):
        results[i] = cluster._exported(fn, "test.solver", treedef, shapes, str(tmp_path))(*args)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(traced) == 1 and len(list(tmp_path.glob("*.jaxexport"))) == 1
    expected = fn(*args)
    for out in results:
        np.testing.assert_allclose(np.asarray(out["y"]), np.asarray(expected["y"]), rtol=0, atol=0)


def test_worker_environment_keeps_user_xla_flags():
    env = worker_environment({"XLA_FLAGS": "--xla_dump_to=/tmp/x"})
    assert env["XLA_FLAGS"].startswith("--xla_dump_to=/tmp/x ")
    assert "intra_op_parallelism_threads=1" in env["XLA_FLAGS"]
    assert env["OMP_NUM_THREADS"] == "1"
    assert env["JAX_COMPILATION_CACHE_DIR"].startswith(
        os.path.join(os.path.expanduser("~"), ".cache", "tccas")
    )
    assert worker_environment({"TCCAS_JAX_CACHE": "/c"})["JAX_COMPILATION_CACHE_DIR"] == "/c"
    assert worker_environment({"TCCAS_JAX_CACHE": "/c"})["TCCAS_PROGRAM_CACHE"] == "/c-programs"
    assert worker_environment({"TCCAS_PROGRAM_CACHE": "/p"})["TCCAS_PROGRAM_CACHE"] == "/p"
    assert worker_environment({"XDG_CACHE_HOME": "/x"})["JAX_COMPILATION_CACHE_DIR"].startswith(
        "/x/tccas/jax/"
    )


def test_settings_from_config():
    cfg = {"dask": {"n_workers": 3, "threads_per_worker": 1, "scheduler_address": "tcp://h:8786"}}
    s = DaskSettings.from_config(cfg)
    assert (s.n_workers, s.scheduler_address) == (3, "tcp://h:8786")
    assert DaskSettings.from_config(cfg, n_workers=1).n_workers == 1


def test_progress_logs_eta(caplog):
    caplog.set_level(logging.INFO, logger="tccas.pipeline.cluster")
    p = Progress("assimilate", n_batches=3, n_items=30)
    for _ in range(3):
        p.update(10)
    msgs = [r.getMessage() for r in caplog.records]
    assert any("batch 3/3 (100 %)" in m and "ETA" in m for m in msgs)
    assert any("30 items in 3 batches" in m for m in msgs)


def test_failed_batch_raises():
    def boom(x):
        raise RuntimeError(f"bad batch {x}")

    with pytest.raises(RuntimeError, match="bad batch 1"):
        run_batches(None, boom, [(0, 1, (1,))], 1, 1, "t")


class _Pair(NamedTuple):
    x: object
    w: object


def test_compiled_for_exports_once_and_reloads_without_tracing(tmp_path, monkeypatch, pixels):
    """The first compile stores one exported program; a fresh process state deserialises it (no trace: the
    exporter is disabled) and gives the same numbers as the plain jitted function."""
    import jax
    from jax import export

    monkeypatch.setenv("TCCAS_PROGRAM_CACHE", str(tmp_path))
    monkeypatch.setattr(cluster, "_COMPILED", {})
    x = pixels[:8]
    args = (_Pair(x, np.ones(8)), 0.5)
    fn = jax.jit(lambda p, scale: _solver()(p.x * scale, p.w))
    expected = fn(*args)
    first = cluster.compiled_for(fn, *args, name="test.solver")(*args)
    assert len(list(tmp_path.glob("*.jaxexport"))) == 1
    cluster.compiled_for(fn, _Pair(x[:4], np.ones(4)), 0.5, name="test.solver")  # other shapes: own entry
    assert len(list(tmp_path.glob("*.jaxexport"))) == 2

    monkeypatch.setattr(cluster, "_COMPILED", {})
    monkeypatch.setattr(export, "export", lambda *a, **k: pytest.fail("traced again instead of loading"))
    again = cluster.compiled_for(fn, *args, name="test.solver")(*args)
    for key in ("y", "s"):
        np.testing.assert_allclose(np.asarray(first[key]), np.asarray(expected[key]), rtol=0, atol=0)
        np.testing.assert_allclose(np.asarray(again[key]), np.asarray(expected[key]), rtol=0, atol=0)


_COMPILE_ONE = """
import sys
if sys.argv[1] == "job":
    from tccas.pipeline.cluster import use_worker_environment

    use_worker_environment()
import jax
import jax.numpy as jnp

import tccas

tccas.enable_float64()  # float64, as every tccas entry point

jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
jax.jit(lambda x: jnp.sin(x) * 2.0 + 1.0).lower(jnp.ones(3)).compile()
"""


def test_job_process_compiles_what_the_workers_load(tmp_path):
    """A program compiled in a job process after use_worker_environment (precompile, make-demo-data) is a hit
    of the persistent cache in a worker: the XLA flags are part of the cache key, so the job must use the
    workers' flags. Control: with other flags the worker compiles a new entry."""
    import subprocess

    base = {k: v for k, v in os.environ.items() if k not in ("TCCAS_JAX_CACHE", "XLA_FLAGS")}
    base["XDG_CACHE_HOME"] = str(tmp_path)
    base.pop("JAX_COMPILATION_CACHE_DIR", None)
    cache = tmp_path / "tccas" / "jax"

    def run(role: str, env: dict) -> set[str]:
        subprocess.run([sys.executable, "-c", _COMPILE_ONE, role], env=env, check=True, timeout=300)
        return {p.name for p in cache.rglob("*-cache*")}

    after_job = run("job", base)
    assert after_job, "the job wrote no persistent cache entry"
    assert run("worker", {**base, **worker_environment(base)}) == after_job
    other_flags = {**base, **worker_environment(base), "XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}
    assert run("worker", other_flags) != after_job


def _solve_exported(x, valid):
    """:func:`_solve_batch` through the worker's exported-program store (``compiled_for`` with a name)."""
    import jax

    out = cluster.compiled_for(_solver(), x, valid, name="test.attached")(x, valid)
    return {k: np.asarray(jax.device_get(v)) for k, v in out.items()}


def _worker_caches():
    import jax

    return jax.config.jax_compilation_cache_dir, os.environ.get("TCCAS_PROGRAM_CACHE")


@pytest.mark.slow
def test_attached_cluster_runs_the_batches_with_the_jobs_caches(tmp_path, monkeypatch, pixels, caplog):
    """``dask.scheduler_address``: the batches run on an existing cluster whose workers were started without
    tccas's environment (as by dask-jobqueue); they take the job's program store and compilation cache, export
    the program there, and give the in-process numbers; a second job on the same workers reuses the loaded
    executable. The job warns that the workers' XLA flags differ from its own."""
    import jax

    for key in ("TCCAS_JAX_CACHE", "XLA_FLAGS", *cluster.CACHE_KEYS):
        monkeypatch.setenv(key, "")  # restored at teardown (the job below sets them in this process)
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    job = worker_environment()
    own_cache = jax.config.jax_compilation_cache_dir
    caplog.set_level(logging.INFO, logger="tccas.pipeline.cluster")
    try:
        with LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as external:
            with Client(external) as c:
                assert set(c.run(_worker_caches).values()) == {(None, None)}
            settings = DaskSettings(scheduler_address=external.scheduler_address)
            with dask_client(settings) as client:
                res = run_batches(client, _solve_exported, _padded_tasks(pixels, 8), 3, 23, "attached")
                caches = client.run(_worker_caches)
            with dask_client(settings) as client:  # a second tile job on the same workers
                again = run_batches(client, _solve_exported, _padded_tasks(pixels, 8), 3, 23, "again")
                programs = client.run(lambda: len(cluster._COMPILED))
    finally:
        jax.config.update("jax_compilation_cache_dir", own_cache)
    assert set(caches.values()) == {(job["JAX_COMPILATION_CACHE_DIR"], job["TCCAS_PROGRAM_CACHE"])}
    assert len(list(Path(job["TCCAS_PROGRAM_CACHE"]).glob("*.jaxexport"))) == 1
    assert any(
        "compiles them again" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING
    )
    assert set(programs.values()) == {1}  # the second job found the executable in the worker's memory
    ref = run_batches(None, _solve_batch, _padded_tasks(pixels, 8), 3, 23, "in process")
    for b in range(3):
        np.testing.assert_allclose(res[b]["y"], ref[b]["y"], rtol=1e-13)
        np.testing.assert_array_equal(again[b]["y"], res[b]["y"])


# ----------------------------------------------------------------------------------------------------------
# Lost workers (issue #29): a worker killed while it loads the program, runs a batch, or right after it has
# finished a batch (its result not yet gathered), and one killed after the results are in (while the job
# writes them): the batches are done again elsewhere and the results are those of an undisturbed run.


def _kill_self_once(marker: Path, delay: float = 0.0) -> None:
    """Kill this worker process (SIGKILL, after ``delay`` s in a thread when ``delay`` > 0), once per
    ``marker``: the first caller creates it, so the batch that moves to another worker runs normally."""
    import signal
    import threading

    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        return
    if delay:
        threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL)).start()
    else:
        os.kill(os.getpid(), signal.SIGKILL)


def _numpy_batch(x, valid, kill: tuple | None = None):
    """A NumPy stand-in for the solver (fixed point of y = cos(x y)); ``kill = (marker, delay)`` kills the
    worker running it (:func:`_kill_self_once`)."""
    if kill is not None and kill[1] is None:
        _kill_self_once(kill[0])
    y = np.ones_like(x)
    for _ in range(30):
        y = np.cos(x * y)
    if kill is not None and kill[1] is not None:
        _kill_self_once(kill[0], kill[1])
    return {"y": np.where(valid[:, None] > 0, y, np.nan), "s": (y * x).sum(axis=1)}


def _slow_prepare(marker: Path, *_args) -> None:
    """A program load of 0.5 s; the first worker to run it dies 0.2 s into it."""
    import time

    time.sleep(0.2)
    _kill_self_once(marker)
    time.sleep(0.3)


def _lost_worker_run(pixels, tmp_path, phase: str):
    batch = 4
    n_batches = -(-pixels.shape[0] // batch)
    marker = tmp_path / f"killed-{phase}"

    def tasks():
        for key, count, (x, valid) in _padded_tasks(pixels, batch):
            kill = None
            if phase == "batch" and key == 2:
                kill = (marker, None)
            elif phase == "result" and key == 2:
                kill = (marker, 0.05)  # dies after returning its result
            yield key, count, (x, valid, kill)

    prepare = functools.partial(_slow_prepare, marker) if phase == "load" else None
    with dask_client(DaskSettings(n_workers=2, local_directory=str(tmp_path))) as client:
        res = run_batches(
            client,
            _numpy_batch,
            tasks(),
            n_batches,
            pixels.shape[0],
            phase,
            prepare=prepare,
            stall_timeout=120,
        )
        if phase == "write":  # a worker lost after the gather, while the job writes the results
            import signal

            os.kill(next(iter(client.run(os.getpid).values())), signal.SIGKILL)
            marker.touch()
    return res, marker


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["load", "batch", "result", "write"])
def test_a_lost_worker_is_survived_with_identical_results(pixels, tmp_path, phase):
    import time

    reference = run_batches(
        None, _numpy_batch, ((k, c, (x, v, None)) for k, c, (x, v) in _padded_tasks(pixels, 4)), 6, 23, "ref"
    )
    t0 = time.perf_counter()
    res, marker = _lost_worker_run(pixels, tmp_path, phase)
    assert marker.exists(), "no worker was killed"
    assert time.perf_counter() - t0 < 100  # a restarted worker, not a stall
    assert sorted(res) == sorted(reference)
    for key in reference:
        np.testing.assert_array_equal(res[key]["y"], reference[key]["y"])
        np.testing.assert_array_equal(res[key]["s"], reference[key]["s"])


def _sleep_batch(seconds):
    import time

    time.sleep(seconds)
    return seconds


@pytest.mark.slow
def test_a_stall_becomes_a_clear_error_after_the_timeout(tmp_path):
    import time

    t0 = time.perf_counter()
    with pytest.raises(cluster.StallError, match=r"stall: no task finished in 2 s .*1 pending .*2 workers"):
        with dask_client(DaskSettings(n_workers=2, local_directory=str(tmp_path), stall_timeout_s=2)) as c:
            run_batches(c, _sleep_batch, [(0, 1, (60,))], 1, 1, "stall")
    assert time.perf_counter() - t0 < 40  # the 60 s batch was not waited for
    assert not list(tmp_path.glob("tccas-dask-*"))  # the cluster's scratch folder went with it


def test_scratch_folders_of_killed_jobs_are_removed(tmp_path):
    import socket
    import subprocess

    host = socket.gethostname().replace("-", "_")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = tmp_path / f"tccas-dask-{host}-{int(dead.stdout)}-abc" / "dask-scratch-space" / "worker-x"
    running = tmp_path / f"tccas-dask-{host}-{os.getppid()}-def"
    elsewhere = tmp_path / f"tccas-dask-otherhost-{int(dead.stdout)}-ghi"
    for folder in (stale, running, elsewhere):
        folder.mkdir(parents=True)
    with cluster.scratch_directory(tmp_path) as scratch:
        assert scratch.is_dir() and scratch.name.startswith(f"tccas-dask-{host}-{os.getpid()}-")
        assert not stale.parent.parent.exists() and running.exists() and elsewhere.exists()
    assert not scratch.exists()


def test_stall_timeout_from_config():
    assert DaskSettings.from_config({"dask": {"stall_timeout_s": 30}}).stall_timeout_s == 30.0
    assert DaskSettings.from_config({}).stall_timeout_s == 1800.0


SINFO = """compute* 2 24000 1-00:00:00
compute* 2 20000 1-00:00:00
bigmem 32 512000 infinite
debug 4 8000 30:00
"""


def test_parse_sinfo_takes_the_largest_node_and_the_default():
    limits, default = cluster.parse_sinfo(SINFO)
    assert default == "compute"
    assert limits["compute"] == cluster.PartitionLimits(2, 24000, 1440.0)
    assert limits["bigmem"].time_min is None and limits["debug"].time_min == 30.0
    assert [cluster.slurm_minutes(t) for t in ("2:00:00", "45", "1-12:30:00", "UNLIMITED")] == [
        120.0,
        45.0,
        2190.0,
        None,
    ]


def test_a_request_no_node_can_meet_is_named_with_its_override():
    """Issue #29: 16 CPUs and 32 000 MB on a 2-CPU, 24 GB partition."""
    limits, _ = cluster.parse_sinfo(SINFO)
    problems = cluster.slurm_request_problems("assimilate_tile", "compute", 16, 32000, 240, limits)
    assert problems == [
        "rule assimilate_tile: 16 CPUs requested, nodes of partition compute have at most 2; lower "
        "dask.n_workers in the config (or set-threads: assimilate_tile: 2 in the profile)",
        "rule assimilate_tile: 32000 MB requested, nodes of partition compute have at most 24000 MB; use "
        "smaller tiles or fewer workers (or set-resources: assimilate_tile: mem_mb: ... in the profile)",
    ]
    assert "allows 30" in cluster.slurm_request_problems("write_tile", "debug", 1, 2000, 60, limits)[0]
    assert "does not exist" in cluster.slurm_request_problems("write_tile", "gpu", 1, 2000, 60, limits)[0]
    assert cluster.slurm_request_problems("assimilate_tile", "bigmem", 16, 32000, 5000, limits) == []
