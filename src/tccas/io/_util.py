"""Small helpers shared by the readers: CF time units, atomic writes, file-name checks."""

from __future__ import annotations

import os
import re
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from tccas.io.errors import SchemaMismatchError

_UNIT_NS = {
    "milliseconds": 1_000_000,
    "millisecond": 1_000_000,
    "ms": 1_000_000,
    "seconds": 1_000_000_000,
    "second": 1_000_000_000,
    "s": 1_000_000_000,
    "minutes": 60_000_000_000,
    "hours": 3_600_000_000_000,
    "hour": 3_600_000_000_000,
    "days": 86_400_000_000_000,
    "day": 86_400_000_000_000,
}
_SINCE = re.compile(r"^\s*(?P<unit>\w+)\s+since\s+(?P<epoch>.+?)\s*$")


def parse_time_units(units: str, path, field: str) -> tuple[int, np.datetime64 | None]:
    """``"<unit> since <epoch>"`` or a bare ``"<unit>"`` → (nanoseconds per unit, epoch or None).

    The epoch may carry ``T``/space separators, fractional seconds and a trailing ``UTC``/``Z``.
    """
    m = _SINCE.match(units or "")
    unit = (m["unit"] if m else (units or "").strip()).lower()
    if unit not in _UNIT_NS:
        raise SchemaMismatchError(path, field, f"unsupported time units {units!r}")
    if not m:
        return _UNIT_NS[unit], None
    epoch_text = re.sub(r"\s*(UTC|Z)$", "", m["epoch"].strip())
    try:
        epoch = pd.Timestamp(epoch_text).tz_localize(None).to_datetime64().astype("datetime64[ns]")
    except (ValueError, TypeError) as err:
        raise SchemaMismatchError(path, field, f"cannot parse the epoch of time units {units!r}") from err
    return _UNIT_NS[unit], epoch


def to_datetime(values, units: str, path, field: str, base: np.datetime64 | None = None) -> np.ndarray:
    """Numeric CF times → ``datetime64[ns]`` (NaN → NaT); a bare unit is an offset from ``base``."""
    ns, epoch = parse_time_units(units, path, field)
    if epoch is None:
        if base is None:
            raise SchemaMismatchError(path, field, f"time units {units!r} have no epoch and no reference")
        epoch = base
    values = np.asarray(values, dtype=float)
    out = np.full(values.shape, np.datetime64("NaT", "ns"))
    ok = np.isfinite(values)
    out[ok] = epoch + (np.round(values[ok] * ns)).astype("int64").astype("timedelta64[ns]")
    return out


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temporary sibling path; on success it replaces ``path`` (file or directory), else vanishes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    _remove(tmp)
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            _remove(old)
        else:
            os.replace(tmp, path)
    finally:
        _remove(tmp)


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p)
    elif p.exists() or p.is_symlink():
        p.unlink()


def open_zarr(path, **kwargs):
    """``xarray.open_zarr`` without zarr's warning about the ``.snakemake_timestamp`` marker file that
    Snakemake puts into directory outputs (it is not part of the store)."""
    import xarray as xr

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Object at .snakemake_timestamp is not recognized")
        return xr.open_zarr(path, **kwargs)
