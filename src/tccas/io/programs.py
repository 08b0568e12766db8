"""On-disk store of exported (serialised StableHLO) JAX programs, keyed by what they were built from.

A tile job traces its batched solver before XLA compiles it; the persistent JAX compilation cache removes the
compile on a second process but not the trace (~20–40 s for the assimilation program). The pipeline stores
``jax.export`` serialisations here once (:func:`tccas.pipeline.cluster.compiled_for`) and later workers and
jobs deserialise them instead of tracing. The key covers the package source (:func:`source_digest`), so any
code change (and a change of the prior set) gives new entries instead of stale programs.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from tccas.io._util import atomic_path
from tccas.model import prior_sets

_PACKAGE = Path(__file__).resolve().parents[1]


def program_path(cache_dir: str | Path, key: str) -> Path:
    """Path of the program with ``key`` (any string; hashed) in ``cache_dir``."""
    return Path(cache_dir) / f"{hashlib.sha256(key.encode()).hexdigest()}.jaxexport"


def read_program(path: str | Path) -> bytes | None:
    """The serialised program at ``path``, or ``None`` if there is none (a missing entry is not an error)."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


def write_program(path: str | Path, blob: bytes) -> Path:
    """Write ``blob`` to ``path`` atomically (concurrent writers of the same key leave one whole file)."""
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(blob)
    return Path(path)


@contextlib.contextmanager
def exclusive(path: str | Path) -> Iterator[None]:
    """Hold an exclusive advisory lock (``flock`` on ``<path>.lock``) for the body: workers that need the same
    missing program wait for the one that builds it, then load it (POSIX; NFSv4 shares such locks across
    nodes)."""
    lock = Path(f"{path}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@functools.cache
def source_digest() -> str:
    """SHA-256 over the relative paths and bytes of every ``.py`` file and packaged prior file of the
    installed ``tccas`` package and the name of the active prior set (:mod:`tccas.model.prior_sets`: the
    priors are constants of the compiled programs); computed once per process."""
    digest = hashlib.sha256()
    for path in sorted([*_PACKAGE.rglob("*.py"), *_PACKAGE.glob("data/priors/*.yaml")]):
        digest.update(os.fsencode(path.relative_to(_PACKAGE)))
        digest.update(path.read_bytes())
    digest.update(prior_sets.active_prior_set().encode())
    return digest.hexdigest()
