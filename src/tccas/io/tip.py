"""FAPAR readers: JRC-TIP with σ (data_formats.md §3) and the real Copernicus CGLS FAPAR 1 km file.

Both return an observation table on dimension ``obs`` (one row per valid lat-lon cell)::

    obs_key  int64  YYYYMMDD·10¹⁰ + fp_key
    fp_key   int64  row·ncol_global + col of the product's global lat-lon grid (row 0 at 90° N)
    time     datetime64[ns]   (the composite's nominal date, 00 UTC)
    value, sigma              FAPAR [1] and its 1-σ
    lat, lon, half_deg        cell centre and half cell size [deg] (footprint = the lat-lon cell)
    qc_ok    bool

JRC-TIP: schema-card driven (the 1 km product's layout is an open item, §3 [?]); σ from ``fapar_sd``;
QC keeps ``retrieval_flag ∈ flags_ok`` and finite value/σ. CGLS: the openEO cut-out stores unsigned bytes
(``int8`` + ``_Unsigned = true``) without scale attributes — scale 1/250 and fill 255 come from the card;
the cut-out has no RMSE layer, so σ = the card's ``sigma_default`` [D]. σ floors are applied by the
observation operator (obs_da_spec §2.6), not here.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from tccas.io._util import to_datetime
from tccas.io.cards import Card, decode, load_card, open_netcdf, read_raw, validate
from tccas.io.errors import CoverageError, SchemaMismatchError

KEY_MULT = 10_000_000_000


def _global_index(values: np.ndarray, origin: float, step: float, path: Path, field: str) -> np.ndarray:
    """Global index of centre coordinates ``origin + (k + 0.5)·step``; the file must sit on that lattice."""
    k = (values - origin) / step - 0.5
    idx = np.round(k)
    if values.size and np.max(np.abs(k - idx)) > 1e-3:
        raise SchemaMismatchError(path, field, f"coordinates are not on the {abs(step)}° product lattice")
    return idx.astype(np.int64)


def _window(lat, lon, bbox, half, path):
    if bbox is None:
        return slice(None), slice(None)
    w, s, e, n = bbox
    inside = (
        lat.min() - half <= s and n <= lat.max() + half and lon.min() - half <= w and e <= lon.max() + half
    )
    if not inside:
        raise CoverageError(
            path,
            "lat/lon",
            f"bbox {tuple(round(b, 4) for b in bbox)} not inside the file extent "
            f"lon {lon.min():.3f}..{lon.max():.3f}, "
            f"lat {lat.min():.3f}..{lat.max():.3f}",
        )
    rows = np.nonzero((lat >= s - half) & (lat <= n + half))[0]
    cols = np.nonzero((lon >= w - half) & (lon <= e + half))[0]
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _table(value, sigma, qc_ok, time, lat, lon, rs, cs, res, origin, path, product):
    """Observation table of the valid cells; ``origin`` = (lon, lat) of the lattice's north-west edge."""
    glon = _global_index(lon[cs], origin[0], res, path, "lon")
    grow = _global_index(lat[rs], origin[1], -res, path, "lat")
    ncol = round(360.0 / res)
    r2, c2 = np.meshgrid(grow, glon, indexing="ij")
    la2, lo2 = np.meshgrid(lat[rs], lon[cs], indexing="ij")
    sel = np.isfinite(value)
    fp = (r2 * ncol + c2)[sel]
    date = int(str(np.datetime64(time, "D")).replace("-", ""))
    out = xr.Dataset(
        {
            "obs_key": ("obs", date * KEY_MULT + fp),
            "fp_key": ("obs", fp),
            "time": ("obs", np.full(fp.size, np.datetime64(time, "ns"))),
            "value": ("obs", value[sel]),
            "sigma": ("obs", sigma[sel]),
            "lat": ("obs", la2[sel]),
            "lon": ("obs", lo2[sel]),
            "qc_ok": ("obs", qc_ok[sel]),
        },
        attrs={"product": product, "source": str(path), "half_deg": res / 2.0, "res_deg": res},
    )
    out.attrs["qc_counts"] = {
        "cells": int(value.size),
        "valid": int(sel.sum()),
        "kept": int(qc_ok[sel].sum()),
    }
    return out


def _grid_window(ds, card: Card, bbox, path: Path):
    """Validate ``ds`` against ``card``; the validated handles, decoded lat/lon axes, the grid step (card
    ``qc.res_deg``) and the row/column window of ``bbox``."""
    h = validate(ds, card, path)
    v = card.variables
    lat, lon = decode(h["lat"], v["lat"], path), decode(h["lon"], v["lon"], path)
    res = float(card.qc["res_deg"])
    rs, cs = _window(lat, lon, bbox, res / 2.0, path)
    return h, lat, lon, res, rs, cs


def read_jrc_tip(path, bbox=None, card: Card | None = None) -> xr.Dataset:
    """Read a JRC-TIP FAPAR composite (one time step) within an optional lon/lat ``bbox`` (w, s, e, n)."""
    path = Path(path)
    card = card or load_card("jrc_tip")
    ds = open_netcdf(path, card)
    try:
        h, lat, lon, res, rs, cs = _grid_window(ds, card, bbox, path)
        v = card.variables
        value = decode(h["fapar"], v["fapar"], path, (0, rs, cs))
        sigma = decode(h["fapar_sd"], v["fapar_sd"], path, (0, rs, cs))
        flag = read_raw(h["flag"], v["flag"], path, (0, rs, cs))
        time = to_datetime(decode(h["time"], v["time"], path), h["time"].units, path, "time")[0]
    finally:
        ds.close()
    qc_ok = np.isin(flag, card.qc["flags_ok"]) & np.isfinite(value) & np.isfinite(sigma)
    return _table(value, sigma, qc_ok, time, lat, lon, rs, cs, res, (-180.0, 90.0), path, card.name)


def read_cgls_fapar(path, bbox=None, card: Card | None = None) -> xr.Dataset:
    """Read a Copernicus Global Land FAPAR 1 km file (real openEO cut-out layout, card ``cgls_fapar``).

    The lattice is ``lon = −180 + k/112`` (CGLS pixel-centre reference), i.e. cell centres at
    ``origin + (k + 0.5)/112`` with ``origin = (−180 − 0.5/112, 90 + 0.5/112)``.
    """
    path = Path(path)
    card = card or load_card("cgls_fapar")
    if card.match_name(path.name) is None:
        raise SchemaMismatchError(path, "", "file name does not match the c_gls_FAPAR pattern")
    ds = open_netcdf(path, card)
    try:
        h, lat, lon, res, rs, cs = _grid_window(ds, card, bbox, path)
        v = card.variables
        value = decode(h["fapar"], v["fapar"], path, (0, rs, cs))
        time = to_datetime(decode(h["time"], v["time"], path), h["time"].units, path, "t")[0]
    finally:
        ds.close()
    stamp = re.sub(r"\D", "", str(card.match_name(path.name)["date"]))[:8]
    if str(np.datetime64(time, "D")).replace("-", "") != stamp:
        raise SchemaMismatchError(
            path, "t", f"time {np.datetime64(time, 'D')} disagrees with the file name {stamp}"
        )
    sigma = np.full_like(value, float(card.qc["sigma_default"]))
    origin = (-180.0 - res / 2.0, 90.0 + res / 2.0)
    return _table(value, sigma, np.isfinite(value), time, lat, lon, rs, cs, res, origin, path, card.name)
