"""Fixtures of the workflow tests: run Snakemake on the tiny CI config in a scratch directory, once per test
session. ``make test`` distributes tests by file, so the modules that need a finished run may sit in different
xdist workers: the first to ask runs the workflow under a file lock, keeps a pristine copy of it, and the
others wait for it and reuse it (``tiny_run`` hands out the run itself, ``tiny_copy`` a private copy of the
pristine run that a test may damage)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = Path(__file__).with_name("config.yaml")


def tool_env(**extra: str) -> dict[str, str]:
    """This interpreter's environment with its scripts (tccas, snakemake) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def snakemake(
    *args: str, workdir: Path | None = None, timeout: int = 2400, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the repository's Snakefile with this interpreter's environment (tccas on PATH)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    if workdir is not None:
        cmd += ["--directory", str(workdir)]
    return subprocess.run(
        [*cmd, *args],
        cwd=REPO,
        env=env or tool_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tiny_args(*extra: str, config: Path = TINY_CONFIG) -> list[str]:
    return [
        "--configfile",
        str(config),
        "--replace-workflow-config",
        "--workflow-profile",
        str(REPO / "profiles" / "default"),
        "--cores",
        "2",
        *extra,
    ]


def _shared_root(tmp_path_factory) -> Path:
    """A folder shared by the xdist workers of this test run (and by no other run)."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if run_id:
        root = tmp_path_factory.getbasetemp().parent / f"tiny-workflow-{run_id}"
    else:
        root = tmp_path_factory.getbasetemp() / "tiny-workflow-shared"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _run_tiny(root: Path) -> dict:
    """Run the tiny workflow in ``root/run`` (its jobs' temp folder ``root/tmp``) and copy it to
    ``root/pristine``; returns what the other test modules need to know."""
    workdir, tmp = root / "run", root / "tmp"
    workdir.mkdir()
    tmp.mkdir()
    t0 = time.perf_counter()
    proc = snakemake(*tiny_args(), workdir=workdir, env=tool_env(TMPDIR=str(tmp)))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        logs = "\n".join(
            f"--- {p}\n{p.read_text()[-3000:]}" for p in sorted((workdir / "logs").rglob("*.log"))
        )
        return {"error": f"tiny workflow failed ({proc.returncode}):\n{proc.stderr[-6000:]}\n{logs}"}
    shutil.copytree(workdir, root / "pristine", symlinks=True)
    return {"wall": wall, "tmp_left": sorted(p.name for p in tmp.iterdir())}


@pytest.fixture(scope="session")
def tiny_shared(tmp_path_factory):
    """The shared finished tiny workflow: (its root folder, info dict with ``wall`` seconds and the names
    the jobs left in their temp folder)."""
    root = _shared_root(tmp_path_factory)
    with open(root / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = root / "done.json"
        if not done.exists():
            done.write_text(json.dumps(_run_tiny(root)))
        info = json.loads(done.read_text())
    if "error" in info:
        pytest.fail(info["error"])
    return root, info


def job_counts(output: str) -> dict[str, int]:
    """``{rule: count}`` of Snakemake's "Job stats" table in ``output`` (empty when nothing is to be done)."""
    table = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    counts = {}
    for line in table.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("job", "total"):
            counts[parts[0]] = int(parts[1])
        elif counts and not parts:
            break
    return counts


@pytest.fixture(scope="session")
def jobs():
    """:func:`job_counts` as a fixture."""
    return job_counts


@pytest.fixture(scope="session")
def smk():
    """:func:`snakemake` as a fixture (test modules cannot import this conftest)."""
    return snakemake


@pytest.fixture(scope="session")
def tiny():
    """:func:`tiny_args` and the tiny config path."""
    return tiny_args, TINY_CONFIG


@pytest.fixture(scope="session")
def tiny_run(tiny_shared):
    """The finished tiny workflow: (workdir, wall seconds). Tests using it run in one module (xdist by file)
    and may rewrite its outputs the way the workflow would; anything else uses :func:`tiny_copy`."""
    root, info = tiny_shared
    return root / "run", info["wall"]


@pytest.fixture
def tiny_copy(tiny_shared, tmp_path):
    """A private copy of the pristine finished tiny workflow (outputs, inputs, Snakemake metadata and
    modification times), to damage at will."""
    root, _ = tiny_shared
    workdir = tmp_path / "run"
    shutil.copytree(root / "pristine", workdir, symlinks=True)
    return workdir
