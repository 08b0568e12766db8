"""SMOS-IC v2 L3 and CATDS L3SM readers on the EASE-Grid 2.0 global 25 km grid (data_formats.md §2).

Both return an observation table on dimension ``obs`` (one row per EASE2 cell with any valid retrieval)::

    obs_key   int64  YYYYMMDD·10⁷ + pass·10⁶ + fp_key   (pass 0 = ascending, 1 = descending)
    fp_key    int64  row·1388 + col   (static footprint key of the cell, §7 table)
    row, col  int32  global EASE2 M25 indices (row 0 = north)
    time      datetime64[ns]  2000-01-01 + Days + UTC_Seconds (§2.2 [I])
    sm, sm_sigma [m3 m-3];  vod, vod_sigma [1] (L-VOD = Optical_Thickness_Nad)
    qc_sm, qc_vod  bool;  rmse [K], scene_flags, quality_flag (SMOS-IC) / science_flags, ratio_rfi (CATDS)

QC (card ``qc``): SMOS-IC ``Scene_Flags ≤ 1``, ``Quality_Flag ∈ {0, 1}``, ``RMSE ≤ 8 K`` (SM) and ``≤ 6 K``
(VOD), ``0 ≤ SM ≤ 1``; CATDS rejects Science_Flags bits 24/25 and ``Ratio_RFI`` above the threshold.
Files may be global (584 × 1388) or cut-outs; the 1-D ``lat``/``lon`` must coincide with EASE2 cell
centres (checked), from which the global row/col are recovered.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import xarray as xr
from pyproj import Transformer

from tccas.io._util import to_datetime
from tccas.io.cards import Card, decode, load_card, open_netcdf, read_raw, validate
from tccas.io.errors import CoverageError, SchemaMismatchError

N_COLS = 1388


@cache
def ease2_axes(card_name: str = "smos_ic") -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre latitudes (584, north→south) and longitudes (1388) of EASE2 M25 (§2.1, via pyproj)."""
    g = load_card(card_name).qc["ease2"]
    cols, rows = np.arange(g["ncols"]), np.arange(g["nrows"])
    x = g["x_min"] + (cols + 0.5) * g["cell_m"]
    y = g["y_max"] - (rows + 0.5) * g["cell_m"]
    to_ll = Transformer.from_crs(f"EPSG:{g['epsg']}", "EPSG:4326", always_xy=True)
    lon, _ = to_ll.transform(x, np.zeros_like(x))
    _, lat = to_ll.transform(np.zeros_like(y), y)
    return lat, lon


def ease2_rowcol(lon, lat, card_name: str = "smos_ic") -> tuple[np.ndarray, np.ndarray]:
    """Global EASE2 M25 (row, col) of lon/lat points: EPSG:6933 via pyproj, then floor (§2.1)."""
    g = load_card(card_name).qc["ease2"]
    x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{g['epsg']}", always_xy=True).transform(
        np.asarray(lon, float), np.asarray(lat, float)
    )
    col = np.floor((x - g["x_min"]) / g["cell_m"]).astype(np.int64)
    row = np.floor((g["y_max"] - y) / g["cell_m"]).astype(np.int64)
    return row, col


def _axis_index(values: np.ndarray, axis: np.ndarray, path: Path, field: str) -> np.ndarray:
    idx = np.searchsorted(-axis if axis[0] > axis[-1] else axis, -values if axis[0] > axis[-1] else values)
    idx = np.clip(idx, 0, axis.size - 1)
    near = np.stack([np.clip(idx - 1, 0, axis.size - 1), idx])
    best = near[np.argmin(np.abs(axis[near] - values), axis=0), np.arange(values.size)]
    if values.size and np.max(np.abs(axis[best] - values)) > 1e-3:
        raise SchemaMismatchError(path, field, "coordinates are not EASE-Grid 2.0 M25 cell centres")
    return best


def _window(lat: np.ndarray, lon: np.ndarray, bbox, path: Path):
    """Local index ranges of the file rows/cols inside a lon/lat bbox (w, s, e, n) with one cell margin."""
    if bbox is None:
        return slice(None), slice(None)
    w, s, e, n = bbox
    rows = np.nonzero((lat >= s - 0.3) & (lat <= n + 0.3))[0]
    cols = np.nonzero((lon >= w - 0.3) & (lon <= e + 0.3))[0]
    inside = lat.min() - 0.2 <= s and n <= lat.max() + 0.2 and lon.min() - 0.2 <= w and e <= lon.max() + 0.2
    if rows.size == 0 or cols.size == 0 or not inside:
        raise CoverageError(
            path,
            "lat/lon",
            f"bbox {bbox} not inside the file's extent lon {lon.min():.2f}..{lon.max():.2f}, "
            f"lat {lat.min():.2f}..{lat.max():.2f}",
        )
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _read(path, card: Card, bbox, flavour: str, qc_over: dict | None):
    path = Path(path)
    groups = card.match_name(path.name)
    if groups is None:
        raise SchemaMismatchError(path, "", f"file name does not match the {card.name} patterns")
    ds = open_netcdf(path, card)
    try:
        h = validate(ds, card, path)
        v = card.variables
        lat = decode(h["lat"], v["lat"], path)
        lon = decode(h["lon"], v["lon"], path)
        rs, cs = _window(lat, lon, bbox, path)
        glat, glon = ease2_axes(card.name)
        grow = _axis_index(lat[rs], glat, path, "lat")
        gcol = _axis_index(lon[cs], glon, path, "lon")

        def d(key):
            return decode(h[key], v[key], path, (rs, cs))

        f = {"sm": d("sm"), "sm_sigma": d("sm_sigma"), "vod": d("vod")}
        days = read_raw(h["days"], v["days"], path, (rs, cs)).astype(float)
        secs = read_raw(h["utc_seconds"], v["utc_seconds"], path, (rs, cs)).astype(float)
        days[days == v["days"].fill] = np.nan
        secs[secs == v["utc_seconds"].fill] = np.nan
        if flavour == "ic":
            f["vod_sigma"] = d("vod_sigma")
            f["rmse"] = d("rmse")
            f["scene_flags"] = read_raw(h["scene_flags"], v["scene_flags"], path, (rs, cs)).astype(np.int32)
            f["quality_flag"] = read_raw(h["quality_flag"], v["quality_flag"], path, (rs, cs)).astype(
                np.int32
            )
        else:
            f["chi2"] = d("chi2")
            f["ratio_rfi"] = d("ratio_rfi")
            f["science_flags"] = read_raw(h["science_flags"], v["science_flags"], path, (rs, cs)).astype(
                np.int64
            )
            f["vod_sigma"] = np.full_like(f["vod"], np.nan)
        time = to_datetime(days * 86400.0 + secs, "seconds since 2000-01-01 00:00:00", path, "Days")
    finally:
        ds.close()
    qc = dict(card.qc)
    qc.update(qc_over or {})
    lo, hi = qc["sm_range"]
    with np.errstate(invalid="ignore"):
        sm_ok = np.isfinite(f["sm"]) & np.isfinite(f["sm_sigma"]) & (f["sm"] >= lo) & (f["sm"] <= hi)
        sm_ok &= ~np.isnat(time)
        vod_ok = np.isfinite(f["vod"]) & ~np.isnat(time)
        if flavour == "ic":
            base = (f["scene_flags"] <= qc["scene_flags_max"]) & np.isin(
                f["quality_flag"], qc["quality_flags_ok"]
            )
            sm_ok &= base & (f["rmse"] <= qc["rmse_max_sm"])
            vod_ok &= base & (f["rmse"] <= qc["rmse_max_vod"]) & np.isfinite(f["vod_sigma"])
        else:
            bits = np.zeros_like(f["science_flags"], bool)
            for b in qc["science_flag_bits_reject"]:
                bits |= (f["science_flags"] >> b) & 1 == 1
            base = ~bits & ~(f["ratio_rfi"] > qc["ratio_rfi_max"])
            sm_ok &= base
            vod_ok &= base
    any_valid = np.isfinite(f["sm"]) | np.isfinite(f["vod"])
    r2, c2 = np.meshgrid(grow, gcol, indexing="ij")
    sel = any_valid
    date = int(groups["d0"])
    pass_id = 0 if groups["pass"] == "A" else 1
    fp_key = (r2 * N_COLS + c2).astype(np.int64)[sel]
    out = xr.Dataset(
        {
            "obs_key": ("obs", date * 10_000_000 + pass_id * 1_000_000 + fp_key),
            "fp_key": ("obs", fp_key),
            "row": ("obs", r2[sel].astype(np.int32)),
            "col": ("obs", c2[sel].astype(np.int32)),
            "time": ("obs", time[sel]),
            "lat": ("obs", glat[r2[sel]]),
            "lon": ("obs", glon[c2[sel]]),
            "qc_sm": ("obs", sm_ok[sel]),
            "qc_vod": ("obs", vod_ok[sel]),
            **{k: ("obs", a[sel]) for k, a in f.items()},
        },
        attrs={
            "product": card.name,
            "source": str(path),
            "pass": "ascending" if pass_id == 0 else "descending",
        },
    )
    out.attrs["qc_counts"] = {
        "cells": int(sel.size),
        "valid": int(sel.sum()),
        "sm_kept": int(sm_ok[sel].sum()),
        "vod_kept": int(vod_ok[sel].sum()),
    }
    return out


def read_smos_ic(path, bbox=None, qc: dict | None = None, card: Card | None = None) -> xr.Dataset:
    """Read one SMOS-IC daily ASC/DES file; ``bbox`` = (west, south, east, north) degrees restricts cells."""
    return _read(path, card or load_card("smos_ic"), bbox, "ic", qc)


def read_catds_l3sm(path, bbox=None, qc: dict | None = None, card: Card | None = None) -> xr.Dataset:
    """Read one CATDS L3SM daily file (``MIR_CLF31A/D``, §2.3); same table as :func:`read_smos_ic`."""
    return _read(path, card or load_card("catds_l3sm"), bbox, "catds", qc)
