"""TROPOSIF readers: L2B daily and L2 per-orbit SIF at 743 nm with σ and QC (data_formats.md §1).

Both return an *observation table*: an ``xarray.Dataset`` on dimension ``obs`` with

- ``obs_key`` (int64): L2B ``YYYYMMDD·10⁷ + n_elem`` index; L2 ``orbit<<22 | scanline<<9 | ground_pixel``
  (§7 table; unique per sounding, stable across runs);
- ``time`` (datetime64[ns], UTC) = ``time`` + ``delta_time`` with each variable's own ``units`` (§1.5: the
  L2B file spans midnight, its ``delta_time`` counts from the day's 00 UTC);
- ``value``/``sigma`` = ``SIF_743``/``SIF_ERROR_743`` [mW m-2 sr-1 nm-1] (baseline window, §1.5);
- ``lat``/``lon`` centres and ``lat_bounds``/``lon_bounds`` (obs, corner=4) footprint corners;
- ``sza``, ``vza``, ``cloud_fraction``, ``qa``, ``lc`` and ``qc_ok``.

QC (§1.5, thresholds from the card's ``qc`` block, overridable): not fill in SIF/σ/geolocation (any
``|x| ≥ 1e30`` counts as fill even without ``_FillValue`` — the §1.3 trap), ``cloud_fraction ≤ 0.2``,
``SZA ≤ 70``, ``VZA ≤ 60``, ``QA_value ≥ 0.8`` where present, ``LC_MASK`` not water. Rejection counts per
rule are kept in ``attrs["qc_counts"]`` (a sounding is counted under the first rule it fails).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from tccas.io._util import to_datetime
from tccas.io.cards import Card, decode, load_card, open_netcdf, read_raw, validate
from tccas.io.errors import SchemaMismatchError

QC_ORDER = ("fill", "cloud", "sza", "vza", "qa", "water")


def _qc_table(fields: dict, qc: dict) -> tuple[np.ndarray, dict[str, int]]:
    n = fields["value"].size
    ok = np.ones(n, bool)
    counts: dict[str, int] = {}
    finite_geo = np.isfinite(fields["lat_bounds"]).all(-1) & np.isfinite(fields["lon_bounds"]).all(-1)
    with np.errstate(invalid="ignore"):
        rules = {
            "fill": np.isfinite(fields["value"])
            & np.isfinite(fields["sigma"])
            & np.isfinite(fields["lat"])
            & np.isfinite(fields["lon"])
            & finite_geo
            & ~np.isnat(fields["time"]),
            "cloud": ~(fields["cloud_fraction"] > qc["cloud_fraction_max"]),
            "sza": fields["sza"] <= qc["sza_max"],
            "vza": fields["vza"] <= qc["vza_max"],
            "qa": ~(fields["qa"] < qc["qa_min"]),
            "water": ~np.isin(fields["lc"], np.asarray(qc["lc_water"])),
        }
    for name in QC_ORDER:
        fail = ok & ~rules[name]
        counts[name] = int(fail.sum())
        ok &= rules[name]
    counts["kept"] = int(ok.sum())
    counts["total"] = n
    return ok, counts


def _to_dataset(fields: dict, ok: np.ndarray, counts: dict, path: Path, product: str, apply_qc: bool):
    sel = ok if apply_qc else np.ones_like(ok)
    ds = xr.Dataset(
        {
            "obs_key": ("obs", fields["obs_key"][sel].astype(np.int64)),
            "time": ("obs", fields["time"][sel]),
            "value": ("obs", fields["value"][sel]),
            "sigma": ("obs", fields["sigma"][sel]),
            "lat": ("obs", fields["lat"][sel]),
            "lon": ("obs", fields["lon"][sel]),
            "lat_bounds": (("obs", "corner"), fields["lat_bounds"][sel]),
            "lon_bounds": (("obs", "corner"), fields["lon_bounds"][sel]),
            "sza": ("obs", fields["sza"][sel]),
            "vza": ("obs", fields["vza"][sel]),
            "cloud_fraction": ("obs", fields["cloud_fraction"][sel]),
            "qa": ("obs", fields["qa"][sel]),
            "lc": ("obs", fields["lc"][sel].astype(np.int16)),
            "qc_ok": ("obs", ok[sel]),
        },
        attrs={"product": product, "source": str(path), "units_value": "mW m-2 sr-1 nm-1"},
    )
    ds.attrs["qc_counts"] = counts
    return ds


def _qc_thresholds(card: Card, overrides: dict | None) -> dict:
    qc = dict(card.qc)
    qc.update(overrides or {})
    return qc


def read_troposif_l2b(path, qc: dict | None = None, apply_qc: bool = True, card: Card | None = None):
    """Read a TROPOSIF L2B daily file (§1.1–§1.6) into an observation table (module docstring).

    ``qc`` overrides card thresholds (e.g. ``{"cloud_fraction_max": 0.3}``); ``apply_qc=False`` keeps
    rejected soundings with ``qc_ok`` False. The date of the obs key comes from the file name (SRON
    ``YYYY-MM-DD`` or PAL start stamp), falling back to ``time_coverage_start``.
    """
    path = Path(path)
    card = card or load_card("troposif_l2b")
    ds = open_netcdf(path, card)
    try:
        h = validate(ds, card, path)
        v = card.variables
        f = {
            "value": decode(h["sif"], v["sif"], path),
            "sigma": decode(h["sif_sigma"], v["sif_sigma"], path),
            "lat": decode(h["latitude"], v["latitude"], path),
            "lon": decode(h["longitude"], v["longitude"], path),
            "lat_bounds": decode(h["latitude_bounds"], v["latitude_bounds"], path),
            "lon_bounds": decode(h["longitude_bounds"], v["longitude_bounds"], path),
            "sza": decode(h["sza"], v["sza"], path),
            "vza": decode(h["vza"], v["vza"], path),
            "cloud_fraction": decode(h["cloud_fraction"], v["cloud_fraction"], path),
            "lc": read_raw(h["lc_mask"], v["lc_mask"], path).astype(np.int64),
        }
        n = f["value"].size
        f["qa"] = decode(h["qa_value"], v["qa_value"], path) if "qa_value" in h else np.ones(n)
        t_ref = to_datetime(decode(h["time"], v["time"], path), h["time"].units, path, v["time"].path)[0]
        dt_units = h["delta_time"].units if "units" in h["delta_time"].ncattrs() else "milliseconds"
        f["time"] = to_datetime(
            decode(h["delta_time"], v["delta_time"], path), dt_units, path, v["delta_time"].path, base=t_ref
        )
        date = _l2b_date(path, card, ds)
    finally:
        ds.close()
    f["obs_key"] = date * int(card.qc["key_multiplier"]) + np.arange(n, dtype=np.int64)
    ok, counts = _qc_table(f, _qc_thresholds(card, qc))
    return _to_dataset(f, ok, counts, path, card.name, apply_qc)


def _l2b_date(path: Path, card: Card, ds) -> int:
    groups = card.match_name(path.name) or {}
    text = groups.get("date") or groups.get("start") or str(ds.getncattr("time_coverage_start"))
    digits = re.sub(r"\D", "", text)[:8]
    if len(digits) != 8:
        raise SchemaMismatchError(path, "time_coverage_start", f"cannot derive the file date from {text!r}")
    return int(digits)


def read_troposif_l2(path, qc: dict | None = None, apply_qc: bool = True, card: Card | None = None):
    """Read a per-orbit TROPOSIF L2 file (§1.2–§1.5): (time=1, scanline, ground_pixel[, corner]) → obs table.

    ``delta_time`` is per scanline and counts from the reference ``time`` (its units are a bare
    ``milliseconds`` in the L2 layout), so it is broadcast over ground pixels.
    """
    path = Path(path)
    card = card or load_card("troposif_l2")
    ds = open_netcdf(path, card)
    try:
        h = validate(ds, card, path)
        v = card.variables

        def d(key):
            return decode(h[key], v[key], path)[0]

        f = {
            "value": d("sif"),
            "sigma": d("sif_sigma"),
            "lat": d("latitude"),
            "lon": d("longitude"),
            "lat_bounds": d("latitude_bounds"),
            "lon_bounds": d("longitude_bounds"),
            "sza": d("sza"),
            "vza": d("vza"),
            "cloud_fraction": d("cloud_fraction"),
            "qa": d("qa_value"),
            "lc": read_raw(h["lc_mask"], v["lc_mask"], path)[0].astype(np.int64),
        }
        n_scan, n_pix = f["value"].shape
        t_ref = to_datetime(decode(h["time"], v["time"], path), h["time"].units, path, v["time"].path)[0]
        dt_units = h["delta_time"].units if "units" in h["delta_time"].ncattrs() else "milliseconds"
        dt = to_datetime(d("delta_time"), dt_units, path, v["delta_time"].path, base=t_ref)
        f["time"] = np.broadcast_to(dt[:, None], (n_scan, n_pix))
        orbit = int(np.asarray(ds.getncattr("orbit")).ravel()[0])
    finally:
        ds.close()
    if n_scan >= 8192 or n_pix >= 512:
        raise SchemaMismatchError(
            path, "PRODUCT", f"scanline/ground_pixel {n_scan}/{n_pix} exceed the key packing"
        )
    scan, pix = np.meshgrid(
        np.arange(n_scan, dtype=np.int64), np.arange(n_pix, dtype=np.int64), indexing="ij"
    )
    f["obs_key"] = (np.int64(orbit) << 22) | (scan << 9) | pix
    f = {k: (a.reshape(n_scan * n_pix, *a.shape[2:])) for k, a in f.items()}
    ok, counts = _qc_table(f, _qc_thresholds(card, qc))
    return _to_dataset(f, ok, counts, path, card.name, apply_qc)
