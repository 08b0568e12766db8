"""A complete small set of native product files for one tile and period, from prescribed fields (no model).

:func:`write_world` writes CORINE + DEM, ERA5-Land forcing (``tccas.model.synthetic_forcing`` on the 0.1°
nodes), TROPOSIF L2B, SMOS-IC and JRC-TIP files in their real layouts plus a ``manifest.yaml`` in the same
form as ``tccas make-demo-data``. Observation values are given by simple known functions of the footprint
key (``sif_value``, ``sm_value``, ``vod_value``, ``fapar_value`` below), so regridding and readers can be
checked against exact expectations without running the process model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from tccas.grid import Tile, xy_to_lonlat
from tccas.io.smos import ease2_axes
from tccas.io.synthetic import era5 as s_era5
from tccas.io.synthetic import rasters as s_rast
from tccas.io.synthetic import smos as s_smos
from tccas.io.synthetic import tip as s_tip
from tccas.io.synthetic import troposif as s_sif


def sif_value(key):
    """SIF_743 written for L2B sounding ``key`` (= YYYYMMDD·10⁷ + index) [mW m-2 sr-1 nm-1]."""
    return 0.2 + 0.01 * (np.asarray(key) % 100)


def sm_value(fp_key):
    return 0.15 + 0.001 * (np.asarray(fp_key) % 100)


def vod_value(fp_key):
    return 0.3 + 0.002 * (np.asarray(fp_key) % 100)


def fapar_value(fp_key):
    return 0.3 + 0.005 * (np.asarray(fp_key) % 100)


def write_world(base: Path, region: str, tile: Tile, start: str, n_days: int, seed: int = 0) -> Path:
    """Write the files under ``base`` (= ``resources/{region}``) and return the manifest path."""
    base = Path(base)
    rng = np.random.default_rng(seed)
    start = np.datetime64(start, "D")
    end = start + n_days - 1
    margin = 2000
    x0, y0 = tile.x0 - margin, tile.y0 - margin
    size = tile.size_m + 2 * margin
    land = s_rast.demo_landscape(region, (size // 100, size // 100), rng)
    land["clc_grid"][land["clc_grid"] == 41] = 24  # keep the test tile all land
    s_rast.write_corine(base / "corine" / "U2018_CLC2018_V2020_20u1.tif", land["clc_grid"], x0, y0 + size)
    s_rast.write_dem(base / "dem" / f"dem_{region}.tif", land["elevation"], x0, y0 + size)

    lon_c, lat_c = xy_to_lonlat(tile.x0 + tile.size_m / 2, tile.y0 + tile.size_m / 2)
    lat, lon = s_era5.native_grid_for_point(float(lon_c), float(lat_c), 0.1)
    oro = np.full((lat.size, lon.size), float(land["elevation"].mean()))
    fields = s_era5.grid_forcing_fields(lat, lon, oro, start, n_days, seed)
    era_name = s_era5.era5_filename("era5_land", start, end, "era5_new")
    s_era5.write_era5(base / "era5" / era_name, start, fields, lat, lon, oro)

    sif_files, smos_files, tip_files = [], [], []
    window = s_smos.ease2_window(tile)
    _glat, glon = ease2_axes()
    shape = (window[0].stop - window[0].start, window[1].stop - window[1].start)
    key = np.arange(window[0].start, window[0].stop)[:, None] * 1388 + np.arange(
        window[1].start, window[1].stop
    )
    tlat, tlon = s_tip.latlon_axes_for_tile(tile)
    tkey = (
        np.floor((90 - tlat) / 0.01).astype(np.int64)[:, None] * 36000
        + np.floor((tlon + 180) / 0.01).astype(np.int64)[None, :]
    )
    for d in range(n_days):
        date = start + d
        geom = s_sif.troposif_footprints(tile, date, rng)
        geom["vza"][:] = 15.0
        n = geom["lon"].size
        keys = int(str(date).replace("-", "")) * 10_000_000 + np.arange(n)
        name = s_sif.l2b_filename(date)
        s_sif.write_troposif_l2b(
            base / "troposif" / name,
            date,
            geom,
            sif_value(keys),
            np.full(n, 0.3),
            np.full(n, 0.05),
            np.ones(n, np.uint8),
            traps=s_sif.trap_indices(geom, tile),
        )
        sif_files.append(f"troposif/{name}")
        for pass_ in ("A", "D"):
            days, secs = s_smos.smos_time_fields(date, glon[window[1]][None, :], pass_, shape)
            f = {
                "sm": sm_value(key),
                "sm_sigma": np.full(shape, 0.04),
                "vod": vod_value(key),
                "vod_sigma": np.full(shape, 0.08),
                "rmse": np.full(shape, 2.0),
                "scene_flags": np.zeros(shape, np.int16),
                "quality_flag": np.zeros(shape, np.int16),
                "days": days,
                "utc_seconds": secs,
            }
            name = s_smos.smos_ic_filename(date, pass_)
            s_smos.write_smos_ic(base / "smos_ic" / name, date, pass_, f, window)
            smos_files.append(f"smos_ic/{name}")
        if d % 8 == 0:
            name = s_tip.tip_filename(date)
            s_tip.write_jrc_tip(
                base / "jrc_tip" / name,
                date,
                tlat,
                tlon,
                fapar_value(tkey),
                np.full(tkey.shape, 0.05),
                np.zeros(tkey.shape, np.uint8),
            )
            tip_files.append(f"jrc_tip/{name}")
    manifest = {
        "region": region,
        "tiles": [tile.name],
        "period": {"start": str(start), "end": str(end)},
        "seed": seed,
        "products": {
            "forcing": {"files": [f"era5/{era_name}"], "product": "era5_land", "flavour": "era5_new"},
            "corine": {"files": ["corine/U2018_CLC2018_V2020_20u1.tif"]},
            "dem": {"files": [f"dem/dem_{region}.tif"]},
            "sif": {"files": sif_files, "level": "l2b"},
            "smos": {"files": smos_files, "flavour": "smos_ic"},
            "fapar": {"files": tip_files, "flavour": "jrc_tip"},
        },
    }
    path = base / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path
