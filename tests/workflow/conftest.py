"""Fixtures of the workflow tests: run Snakemake on the tiny CI config in a scratch directory, once per
session (``make test`` distributes tests by file, so every user of it runs in the same xdist worker)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TINY_CONFIG = Path(__file__).with_name("config.yaml")


def snakemake(*args: str, workdir: Path | None = None, timeout: int = 2400) -> subprocess.CompletedProcess:
    """Run the repository's Snakefile with this interpreter's environment (tccas on PATH)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile")]
    if workdir is not None:
        cmd += ["--directory", str(workdir)]
    return subprocess.run(
        [*cmd, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def tiny_args(*extra: str) -> list[str]:
    return [
        "--configfile",
        str(TINY_CONFIG),
        "--replace-workflow-config",
        "--workflow-profile",
        str(REPO / "profiles" / "default"),
        "--cores",
        "2",
        *extra,
    ]


@pytest.fixture(scope="session")
def smk():
    """:func:`snakemake` as a fixture (test modules cannot import this conftest)."""
    return snakemake


@pytest.fixture(scope="session")
def tiny():
    """:func:`tiny_args` and the tiny config path."""
    return tiny_args, TINY_CONFIG


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The finished tiny workflow: (workdir, wall seconds)."""
    workdir = tmp_path_factory.mktemp("tiny-workflow")
    t0 = time.perf_counter()
    proc = snakemake(*tiny_args(), workdir=workdir)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        logs = "\n".join(
            f"--- {p}\n{p.read_text()[-3000:]}" for p in sorted((workdir / "logs").rglob("*.log"))
        )
        pytest.fail(f"tiny workflow failed ({proc.returncode}):\n{proc.stderr[-6000:]}\n{logs}")
    return workdir, wall
