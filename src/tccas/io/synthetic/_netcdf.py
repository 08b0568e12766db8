"""Card-driven NetCDF writer shared by the product generators (data_formats.md §8 fake-file strategy).

Generators write *real* NetCDF4/NetCDF3 files (groups, spaced attribute names, packing, fills) exactly as the
schema card declares, so the readers are exercised on the same structures as with real files. Files are
written to a temporary name beside the target and renamed, so an error never leaves a partial file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from tccas.io.cards import Card, VarSpec


def _pack_from_data(values: np.ndarray, dtype: np.dtype) -> tuple[float, float]:
    """CDS-style int16 packing: scale = (max − min)/(2^n − 4), offset = (max + min)/2 (legacy ERA5 [R]).

    The packed range is ±(2^(n−1) − 2), so the extremes never collide with the fill −32767.
    """
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    n = np.iinfo(dtype).max - np.iinfo(dtype).min - 3
    scale = (hi - lo) / n if hi > lo else 1.0
    return scale, (hi + lo) / 2.0


def encode(values, vs: VarSpec) -> tuple[np.ndarray, dict]:
    """Physical values (NaN = missing) → stored array + packing attributes, per the card."""
    dtype = np.dtype(vs.dtype)
    store_dtype = np.dtype(dtype.str.replace("i", "u")) if vs.unsigned else dtype
    values = np.asarray(values)
    attrs: dict = {}
    if vs.scale_factor == "file":
        scale, offset = _pack_from_data(values.astype(float), dtype)
        attrs = {"scale_factor": scale, "add_offset": offset}
    else:
        scale = vs.scale_factor if isinstance(vs.scale_factor, (int, float)) else None
        offset = vs.add_offset if isinstance(vs.add_offset, (int, float)) else None
    if values.dtype.kind == "f":
        missing = ~np.isfinite(values)
        phys = np.where(missing, 0.0, values)
        if scale is not None:
            phys = (phys - (offset or 0.0)) / scale
        if store_dtype.kind in "iu":
            phys = np.round(phys)
            info = np.iinfo(store_dtype)
            phys = np.clip(phys, info.min, info.max)
        raw = phys.astype(store_dtype)
        if missing.any():
            if vs.fill is None:
                raise ValueError(f"{vs.path}: missing values but the card declares no fill")
            raw[missing] = np.asarray(vs.fill).astype(store_dtype)
    else:
        raw = values.astype(store_dtype)
    if vs.unsigned:
        raw = raw.view(dtype)
    return raw, attrs


def write_netcdf(
    path: str | Path,
    card: Card,
    data: Mapping[str, np.ndarray],
    dim_sizes: Mapping[str, int],
    global_attrs: Mapping[str, object] | None = None,
    group_attrs: Mapping[str, Mapping[str, object]] | None = None,
    raw: Mapping[str, np.ndarray] | None = None,
    dim_groups: Mapping[str, str] | None = None,
    declare_fill: bool = True,
    crs_attrs: Mapping[str, object] | None = None,
    var_attrs: Mapping[str, Mapping[str, object]] | None = None,
) -> Path:
    """Write ``data`` (physical values keyed by card variable keys) into a file laid out as ``card``.

    ``raw`` holds arrays written byte-for-byte (traps such as an undeclared netCDF default fill).
    ``dim_groups`` maps a dimension to the group it is defined in (default: root). Variables not given in
    ``data``/``raw`` are left out, so tests can build files that violate the card on purpose.
    ``declare_fill=False`` writes no ``_FillValue`` attributes at all (corrupted-header tests).
    ``var_attrs`` adds per-file attributes to variables (e.g. ``delta_time`` units naming the day).
    ``crs_attrs`` are extra attributes of the card's CRS variable (e.g. SMOS-IC ``GeoTransform``).
    """
    import netCDF4

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    raw = dict(raw or {})
    dim_groups = dict(dim_groups or {})
    try:
        with netCDF4.Dataset(tmp, "w", format=card.format) as ds:
            for key, value in (global_attrs or {}).items():
                ds.setncattr(key, value)
            for gpath in card.groups:
                _ensure_group(ds, gpath)
            for gpath, attrs in (group_attrs or {}).items():
                grp = _ensure_group(ds, gpath)
                for key, value in attrs.items():
                    grp.setncattr(key, value)
            for dname, size in dim_sizes.items():
                _ensure_group(ds, dim_groups.get(dname, "")).createDimension(dname, size)
            for key, vs in card.variables.items():
                if key not in data and key not in raw:
                    continue
                grp = _ensure_group(ds, vs.group)
                if key in raw:
                    arr, pack = np.asarray(raw[key]), {}
                else:
                    arr, pack = encode(data[key], vs)
                fill = None
                if vs.fill is not None and declare_fill:
                    fill = np.asarray(vs.fill).astype(
                        np.dtype(vs.dtype.replace("u", "i")) if vs.unsigned else np.dtype(vs.dtype)
                    )
                kwargs = {"zlib": True} if card.format == "NETCDF4" and len(vs.dims) > 1 else {}
                var = grp.createVariable(vs.name, np.dtype(vs.dtype), vs.dims, fill_value=fill, **kwargs)
                var.set_auto_maskandscale(False)
                for att, val in {**vs.attrs, **pack, **(var_attrs or {}).get(key, {})}.items():
                    var.setncattr(att, val)
                if vs.units is not None:
                    var.setncattr("units", vs.units)
                if vs.unsigned:
                    var.setncattr("_Unsigned", "true")
                if arr.shape != var.shape:
                    raise ValueError(f"{vs.path}: data shape {arr.shape} does not fit dims {var.shape}")
                var[...] = arr
            where = card.crs
            if where.get("variable"):
                from pyproj import CRS as PCRS

                grp = _ensure_group(ds, where.get("group", ""))
                crs = grp.createVariable(
                    where["variable"], "i4" if card.format != "NETCDF4_CLASSIC" else "S1"
                )
                wkt = PCRS.from_epsg(int(where["epsg"])).to_wkt()
                crs.setncattr(where.get("attr", "crs_wkt"), wkt)
                crs.setncattr("spatial_ref", wkt)
                for att, val in (crs_attrs or {}).items():
                    crs.setncattr(att, val)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _ensure_group(ds, gpath: str):
    grp = ds
    for part in [p for p in gpath.strip("/").split("/") if p]:
        grp = grp.groups[part] if part in grp.groups else grp.createGroup(part)
    return grp
