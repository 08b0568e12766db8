"""Shared test configuration: float64 JAX, strict promotion in tests, the shared-data path, the prior set.

The unit, twin and regression tests run on the TCCAS demo priors (``TCCAS_PRIORS=tccas_demo``, set before
tccas is imported, inherited by the CLI subprocesses of the workflow tests): their reference numbers are
model_spec's and do not move when the calibrated default prior is re-calibrated. The calibrated default
itself is tested in fresh interpreters without that variable (tests/model/test_prior_sets.py,
tests/site/test_calibrated_prior.py).
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import pytest

os.environ["TCCAS_PRIORS"] = "tccas_demo"  # before tccas.model builds its registry (module docstring)

import tccas

tccas.enable_float64()  # explicitly, as every tccas entry point (the CLI, the workers) does
# One persistent XLA compilation cache for the whole session: the two xdist workers and the many tests that
# run the same model shapes reuse each other's compiled executables instead of compiling again.
_CACHE = Path(__file__).resolve().parents[1] / ".pytest_cache" / "jax"
jax.config.update("jax_compilation_cache_dir", str(_CACHE))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``../shared/data/real`` beside the checkout (CI has it); tests needing it skip only if absent."""
    path = SHARED / "data" / "real"
    if not path.is_dir():
        pytest.skip(f"real data folder not found at {path}")
    return path


@pytest.fixture(scope="session")
def default_prior_run():
    """:func:`run_with_default_prior`, for the tests of the calibrated default prior."""
    return run_with_default_prior


def run_with_default_prior(script: str, timeout: float = 900.0) -> dict:
    """Run ``script`` in a fresh interpreter from the repository root without ``TCCAS_PRIORS`` (the default,
    calibrated prior set, as a regional run uses it) and return the JSON object it prints last; the
    script's output must report ``prior_set`` = ``calibrated``, which is checked and removed."""
    import json
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "TCCAS_PRIORS"}
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    assert res.pop("prior_set") == "calibrated"
    return res
