"""Synthetic JRC-TIP FAPAR composites (QA4ECV-like layout of the ``jrc_tip`` card, data_formats.md §3).

1-D ``lat`` (north→south) and ``lon`` cell centres of the global 0.01° lattice (``−180 + (k + 0.5)·0.01``),
``time(1)``, float32 NaN-filled ``fapar``/``fapar_sd``/``Lai``/``Lai_sd`` and a ``retrieval_flag`` byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tccas.grid import Tile, xy_to_lonlat
from tccas.io.cards import load_card
from tccas.io.synthetic._netcdf import write_netcdf


def tip_filename(date) -> str:
    return f"JRC-TIP_FAPAR_0p01deg_{str(np.datetime64(str(date), 'D')).replace('-', '')}.nc"


def latlon_axes_for_tile(tile: Tile, res_deg: float = 0.01, margin: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Cell-centre lat (descending) and lon vectors of the global ``res_deg`` lattice covering ``tile``."""
    x0, y0, x1, y1 = tile.bounds
    lon, lat = xy_to_lonlat(np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
    c0 = int(np.floor((lon.min() + 180.0) / res_deg)) - margin
    c1 = int(np.floor((lon.max() + 180.0) / res_deg)) + margin
    r0 = int(np.floor((90.0 - lat.max()) / res_deg)) - margin
    r1 = int(np.floor((90.0 - lat.min()) / res_deg)) + margin
    lons = -180.0 + (np.arange(c0, c1 + 1) + 0.5) * res_deg
    lats = 90.0 - (np.arange(r0, r1 + 1) + 0.5) * res_deg
    return lats, lons


def write_jrc_tip(path, date, lat, lon, fapar, fapar_sd, flag, lai=None, lai_sd=None) -> Path:
    """Write one composite; 2-D fields are (lat, lon), NaN = fill, ``flag`` uint8 (255 = fill)."""
    card = load_card("jrc_tip")
    t = (np.datetime64(str(date), "D") - np.datetime64("1970-01-01", "D")).astype(float)
    data = {
        "lat": np.asarray(lat),
        "lon": np.asarray(lon),
        "time": np.array([t]),
        "fapar": np.asarray(fapar)[None],
        "fapar_sd": np.asarray(fapar_sd)[None],
        "flag": np.asarray(flag, np.uint8)[None],
    }
    if lai is not None:
        data["lai"] = np.asarray(lai)[None]
        data["lai_sd"] = np.asarray(lai_sd)[None]
    return write_netcdf(
        path,
        card,
        data,
        dim_sizes={"time": 1, "lat": len(lat), "lon": len(lon)},
        global_attrs={
            "title": "synthetic JRC-TIP FAPAR (tccas)",
            "institution": "tccas synthetic",
            "compositing_days": int(card.qc["compositing_days"]),
        },
    )
