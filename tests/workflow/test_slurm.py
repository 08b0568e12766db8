"""The workflow on a real SLURM cluster (issue #28): the tiny workflow through profiles/slurm gives the maps
of the local run, and a tile job attached to a dask-jobqueue SLURMCluster gives its tile result.

Needs a running SLURM (``sinfo`` on PATH answering); .ci/setup_slurm.sh starts a single-node cluster as root
on Debian. Without one the tests skip, except under ``TCCAS_REQUIRE_SLURM=1`` (set by .ci/run), where they
fail. The cluster has no accounting database, so Snakemake polls with squeue (``--slurm-status-command``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from tccas.pipeline.cluster import PINNED_THREAD_ENV

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TILE = "1kmE4029N3237"
STORE = Path("results/maps/netherlands.zarr")


def _require(reason: str):
    if os.environ.get("TCCAS_REQUIRE_SLURM") == "1":
        pytest.fail(f"TCCAS_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def partition() -> str:
    """The default partition of the running SLURM cluster (skip, or fail under TCCAS_REQUIRE_SLURM=1)."""
    if shutil.which("sinfo") is None:
        _require("no SLURM here: sinfo is not on PATH (.ci/setup_slurm.sh starts a single-node cluster)")
    proc = subprocess.run(
        ["sinfo", "--noheader", "--format", "%P %a"], capture_output=True, text=True, timeout=60, check=False
    )
    defaults = [line.split()[0][:-1] for line in proc.stdout.splitlines() if line.split()[0].endswith("*")]
    if proc.returncode != 0 or not defaults:
        _require(f"sinfo found no default partition (rc {proc.returncode}): {proc.stderr.strip()[-300:]}")
    return defaults[0]


@pytest.fixture
def cancel_leftovers(tmp_path):
    """Cancel the SLURM jobs submitted from ``tmp_path`` that are still queued or running after the test."""
    yield
    proc = subprocess.run(
        ["squeue", "--noheader", "--format", "%i %Z"], capture_output=True, text=True, timeout=60, check=False
    )
    jobs = [line.split()[0] for line in proc.stdout.splitlines() if str(tmp_path) in line]
    if jobs:
        subprocess.run(["scancel", *jobs], check=False, timeout=60)


def _slurm_jobs(workdir: Path) -> dict[str, dict[str, str]]:
    """``{rule comment: request}`` of the finished and running jobs submitted from ``workdir`` (squeue keeps
    finished jobs for MinJobAge = 300 s)."""
    proc = subprocess.run(
        ["squeue", "--noheader", "--states=all", "--format", "%k|%C|%m|%l|%y|%Z"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    jobs = {}
    for line in proc.stdout.splitlines():
        comment, cpus, mem, limit, nice, where = line.split("|")
        if where == str(workdir):
            jobs[comment] = {"cpus": cpus, "mem": mem, "limit": limit, "nice": nice}
    return jobs


def _slurm_args(config: Path, partition: str, *extra: str) -> list[str]:
    """The CI run of profiles/slurm: squeue status polling (no accounting), early first status check."""
    return [
        "--configfile",
        str(config),
        "--replace-workflow-config",
        "--workflow-profile",
        str(REPO / "profiles" / "slurm"),
        "--jobs",
        "2",
        "--default-resources",
        f"slurm_partition={partition}",
        "mem_mb=1000",
        "runtime=10",
        "--slurm-status-command",
        "squeue",
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--retries",
        "0",
        "--latency-wait",
        "5",
        *extra,
    ]


def test_tiny_workflow_on_slurm_gives_the_local_maps(
    partition, tiny_shared, tiny, smk, tmp_path, cancel_leftovers
):
    root, _ = tiny_shared
    workdir = tmp_path / "run"
    workdir.mkdir()
    proc = smk(*_slurm_args(tiny[1], partition), workdir=workdir, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    jobs = _slurm_jobs(workdir)
    rules = {comment.split("_wildcards")[0].removeprefix("rule_") for comment in jobs}
    assert {
        "precompile",
        "assimilate_tile",
        "write_tile",
        "finalize_store",
        "overviews",
        "quicklook",
    } <= rules
    nice = {comment: job["nice"] for comment, job in jobs.items()}
    assert nice.pop("rule_precompile_wildcards_solver") == "0"
    assert all(int(value) > 0 for value in nice.values()), nice
    local = xr.open_zarr(root / "pristine" / STORE, consolidated=False).load()
    slurm = xr.open_zarr(workdir / STORE, consolidated=False).load()
    assert sorted(slurm.data_vars) == sorted(local.data_vars)
    np.testing.assert_array_equal(slurm["status"].values, local["status"].values)
    xr.testing.assert_allclose(slurm, local, rtol=1e-9, atol=1e-12)
    for name in local.data_vars:
        assert slurm[name].attrs == local[name].attrs, name
    pngs = {p.stem for p in (workdir / "results/quicklook/netherlands").glob("*.png")}
    assert {"nee_mean", "status"} <= pngs


def test_tile_job_attached_to_a_slurmcluster(partition, tiny_copy, tiny, smk, tmp_path, cancel_leftovers):
    """dask.scheduler_address: the tile job (a SLURM job asking for one CPU) runs its batches on a worker of a
    dask-jobqueue SLURMCluster started with the tile jobs' XLA flags, and writes the local run's result."""
    from dask_jobqueue import SLURMCluster
    from distributed import Client

    reference = xr.open_zarr(tiny_copy / "results/assimilate/netherlands" / f"{TILE}.zarr").load()
    prologue = [f"export {key}='{value}'" for key, value in PINNED_THREAD_ENV.items()]
    with SLURMCluster(
        queue=partition,
        cores=1,
        processes=1,
        memory="3GB",
        walltime="00:20:00",
        python=sys.executable,
        job_script_prologue=prologue,
        log_directory=str(tmp_path / "dask-logs"),
        # in another working directory than the tile job's: the paths it hands its workers are absolute
        job_extra_directives=[f"--chdir={tmp_path}"],
        scheduler_options={"dashboard_address": ":0"},
    ) as cluster:
        cluster.scale(jobs=1)
        with Client(cluster) as client:
            client.wait_for_workers(1, timeout=300)
        config = yaml.safe_load(tiny[1].read_text())
        config["dask"] = {"n_workers": 2, "scheduler_address": cluster.scheduler_address}
        attached = tmp_path / "attached.yaml"
        attached.write_text(yaml.safe_dump(config))
        args = _slurm_args(attached, partition, "--forcerun", "assimilate_tile", "--until", "assimilate_tile")
        proc = smk(*args, workdir=tiny_copy, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    job = _slurm_jobs(tiny_copy)[f"rule_assimilate_tile_wildcards_netherlands_{TILE}"]
    assert job["cpus"] == "1"  # not dask.n_workers: the workers are the cluster's
    log = (tiny_copy / "logs/assimilate/netherlands" / f"{TILE}.log").read_text()
    assert "attaching to the Dask scheduler" in log, log[-3000:]
    result = xr.open_zarr(tiny_copy / "results/assimilate/netherlands" / f"{TILE}.zarr").load()
    for key in ("status", "n_iter"):
        np.testing.assert_array_equal(result[key].values, reference[key].values)
    for key in ("nee_mean", "nee_mean_sd", "woody_biomass", "x_post", "series_gpp"):
        np.testing.assert_allclose(result[key].values, reference[key].values, rtol=1e-9, atol=1e-12)
