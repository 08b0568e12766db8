"""Shared fixtures for the io tests: small tiles and tiny synthetic product files in ``tmp_path``."""

from __future__ import annotations

import numpy as np
import pytest

from tccas.grid import tile_containing


@pytest.fixture(scope="session")
def tile_nl():
    """The 1 km demo tile containing Loobos (10 × 10 cells of 100 m)."""
    return tile_containing(5.74, 52.17, 1)


@pytest.fixture(scope="session")
def tile_lap():
    return tile_containing(26.64, 67.36, 1)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def truncate():
    """Cut a file to a fraction of its size (a broken download)."""

    def cut(path, keep: float = 0.5):
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * keep)])
        return path

    return cut
