"""Files between the stages of a site run (``tccas site …``): daily runs and fitted control vectors.

Both are NetCDF-4 files written atomically (:func:`tccas.io._util.atomic_path`: a temporary sibling that
replaces the target only when complete, so an interrupted stage leaves nothing that a rerun could keep):

- a **run** (:func:`write_run`): the daily :class:`xarray.Dataset` of :mod:`tccas.site.run` as it is
  (CF time axis, ``units`` on every variable, the site's attributes);
- a **fit** (:func:`write_fit`): the control vector of an assimilation — ``names`` (dimension ``control``),
  ``x_prior``, ``x_post``, ``sd_prior``, ``sd_post``, ``cov_post`` (control × control) — and its diagnostics
  as attributes (status, iterations, costs, observation counts, calibration dates).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from tccas.io._util import atomic_path
from tccas.io.errors import CorruptFileError, MissingFieldError

_FIT_ARRAYS = ("x_prior", "x_post", "sd_prior", "sd_post")
_FIT_ATTRS = ("status", "n_iter", "n_eval", "cost_prior", "cost_post")


def write_run(path, ds: xr.Dataset) -> Path:
    """Write a daily site run (or the per-pass spin-up diagnostics) to ``path`` (NetCDF-4, atomic)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        encoding = {"time": {"units": "days since 1970-01-01"}} if "time" in ds.coords else None
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
    return path


def _open(path) -> xr.Dataset:
    path = Path(path)
    if not path.is_file():
        raise CorruptFileError(path, "", "file does not exist")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except (OSError, ValueError) as err:
        raise CorruptFileError(path, "", f"not a readable NetCDF-4 file ({err})") from err


def read_run(path) -> xr.Dataset:
    """Read a daily site run written by :func:`write_run`."""
    ds = _open(path)
    if "time" not in ds.coords:
        raise MissingFieldError(path, "time", "a site run needs a daily time axis")
    return ds


def write_fit(path, fit) -> Path:
    """Write a :class:`tccas.site.run.Fit` to ``path`` (NetCDF-4, atomic; module docstring)."""
    names = list(fit.names)
    data = {k: ("control", np.asarray(getattr(fit, k), dtype=np.float64)) for k in _FIT_ARRAYS}
    data["cov_post"] = (("control", "control_2"), np.asarray(fit.cov_post, dtype=np.float64))
    attrs = {k: getattr(fit, k) for k in _FIT_ATTRS}
    attrs["n_obs"] = json.dumps(fit.n_obs)
    attrs["calibration_start"], attrs["calibration_end"] = fit.calibration
    ds = xr.Dataset(data, coords={"control": names, "control_2": names}, attrs=attrs)
    path = Path(path)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine="h5netcdf")
    return path


def read_fit(path) -> dict:
    """Read a fit written by :func:`write_fit`: the keyword arguments of :class:`tccas.site.run.Fit`."""
    ds = _open(path)
    for key in (*_FIT_ARRAYS, "cov_post"):
        if key not in ds:
            raise MissingFieldError(path, key, "not a tccas site fit")
    for key in (*_FIT_ATTRS, "n_obs", "calibration_start", "calibration_end"):
        if key not in ds.attrs:
            raise MissingFieldError(path, key, "attribute of a tccas site fit missing")
    a = ds.attrs
    return dict(
        names=tuple(str(n) for n in ds["control"].values),
        **{k: ds[k].values for k in _FIT_ARRAYS},
        cov_post=ds["cov_post"].values,
        status=int(a["status"]),
        n_iter=int(a["n_iter"]),
        n_eval=int(a["n_eval"]),
        cost_prior=float(a["cost_prior"]),
        cost_post=float(a["cost_post"]),
        n_obs={k: int(v) for k, v in json.loads(a["n_obs"]).items()},
        calibration=(str(a["calibration_start"]), str(a["calibration_end"])),
    )
