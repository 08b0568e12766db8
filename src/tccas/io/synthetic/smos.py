"""Synthetic SMOS-IC v2 and CATDS L3SM daily files on EASE-Grid 2.0 M25 (data_formats.md §2.1–§2.3).

Files are flat NetCDF4 with 1-D ``lat``/``lon`` (EASE2 cell centres from :func:`tccas.io.smos.ease2_axes`)
and 2-D fields on ``(lat, lon)``; fill −999 on no-retrieval cells (card); a ``crs`` variable declares
EPSG:6933 with a ``GeoTransform``. ``window=None`` writes the global 584 × 1388 grid; a (row, col) window
writes a cut-out (what a regional download keeps), which the reader maps back to global indices.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tccas.grid import Tile, xy_to_lonlat
from tccas.io.cards import load_card
from tccas.io.smos import ease2_axes, ease2_rowcol
from tccas.io.synthetic._netcdf import write_netcdf


def smos_ic_filename(date, pass_: str) -> str:
    d = str(np.datetime64(str(date), "D")).replace("-", "")
    return f"SM_RE07_MIR_CDF3S{pass_}_{d}T000000_{d}T235959_200_001_B.DBL.nc"


def catds_filename(date, pass_: str) -> str:
    d = str(np.datetime64(str(date), "D")).replace("-", "")
    return f"SM_RE04_MIR_CLF31{pass_}_{d}T000000_{d}T235959_300_001_7.DBL.nc"


def ease2_window(tile: Tile, margin: int = 1) -> tuple[slice, slice]:
    """Global (row, col) slices of the EASE2 cells touching ``tile`` (corners + centre), plus ``margin``."""
    x0, y0, x1, y1 = tile.bounds
    xs = np.array([x0, x1, x0, x1, (x0 + x1) / 2])
    ys = np.array([y0, y0, y1, y1, (y0 + y1) / 2])
    row, col = ease2_rowcol(*xy_to_lonlat(xs, ys))
    return slice(int(row.min()) - margin, int(row.max()) + margin + 1), slice(
        int(col.min()) - margin, int(col.max()) + margin + 1
    )


def _write(card_name, path, date, fields, window, pass_):
    card = load_card(card_name)
    glat, glon = ease2_axes(card_name)
    rs, cs = window if window is not None else (slice(None), slice(None))
    lat, lon = glat[rs], glon[cs]
    g = card.qc["ease2"]
    for key, arr in fields.items():
        if np.shape(arr) != (lat.size, lon.size):
            raise ValueError(f"{key}: shape {np.shape(arr)} does not match the window {(lat.size, lon.size)}")
    data = {"lat": lat, "lon": lon, **fields}
    return write_netcdf(
        path,
        card,
        data,
        dim_sizes={"lat": lat.size, "lon": lon.size},
        global_attrs={
            "title": f"synthetic {card.title}",
            "institution": "tccas synthetic (INRAE-CESBIO layout)",
            "pass": "ASC" if pass_ == "A" else "DES",
            "date": str(date),
        },
        crs_attrs={"GeoTransform": f"{g['x_min']} {g['cell_m']} 0 {g['y_max']} 0 {-g['cell_m']}"},
    )


def write_smos_ic(path, date, pass_: str, fields: dict[str, np.ndarray], window=None) -> Path:
    """Write a SMOS-IC file. ``fields`` keyed by card keys: ``sm, sm_sigma, vod, vod_sigma, rmse``
    (float, NaN = fill) and ``scene_flags, quality_flag, days, utc_seconds`` (int, −999 = fill)."""
    return _write("smos_ic", path, date, fields, window, pass_)


def write_catds_l3sm(path, date, pass_: str, fields: dict[str, np.ndarray], window=None) -> Path:
    """Write a CATDS L3SM file: ``sm, sm_sigma, vod, chi2, ratio_rfi`` and ``science_flags, days,
    utc_seconds``."""
    return _write("catds_l3sm", path, date, fields, window, pass_)


def smos_time_fields(date, lon: np.ndarray, pass_: str, shape) -> tuple[np.ndarray, np.ndarray]:
    """``Days`` since 2000-01-01 and ``UTC_Seconds`` of 06:00 (A) / 18:00 (D) local solar time (§2.2)."""
    local = 6.0 if pass_ == "A" else 18.0
    utc_h = (local - np.asarray(lon) / 15.0) % 24.0
    day0 = (np.datetime64(str(date), "D") - np.datetime64("2000-01-01", "D")).astype(int)
    days = np.broadcast_to(np.full(np.shape(lon), day0), shape).astype(np.int32)
    secs = np.broadcast_to((utc_h * 3600.0).astype(np.int32), shape).astype(np.int32)
    return days.copy(), secs.copy()
