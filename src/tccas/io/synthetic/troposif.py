"""Synthetic TROPOSIF files in the real layouts (data_formats.md §1.2–§1.6): L2B daily and L2 per orbit.

Geometry: a swath-like lattice of quadrilateral footprints (3.5 km across × 5.5 km along track, §1.5; the
pre-2019-08-06 7 km along-track size is a parameter) tilted like a sun-synchronous ascending track,
placed with a random sub-footprint offset so footprints straddle tile edges. Corners are built in
EPSG:3035 and converted to lon/lat with :mod:`tccas.grid` (pyproj), ordered counter-clockwise (§1.5).
Overpass at ~13:30 local solar time; SZA from solar geometry, VZA from the day's across-track position.

Traps (§1.6), placed on the soundings farthest from the tile centre so in-tile truth stays observable:
one undeclared netCDF default fill (9.969e36 in ``SIF_735`` without ``_FillValue`` and in ``SIF_743``),
one ``cloud_fraction_L2`` = 0.9 and one SZA = 75°.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tccas.grid import Tile, xy_to_lonlat
from tccas.io.cards import load_card
from tccas.io.synthetic._netcdf import write_netcdf
from tccas.io.synthetic._sun import solar_zenith_deg, utc_of_local_solar_time

NC_DEFAULT_FILL = 9.969209968386869e36
_EPOCH_2010 = np.datetime64("2010-01-01T00:00:00", "s")


def troposif_footprints(
    tile: Tile,
    date,
    rng: np.random.Generator,
    margin_m: float = 6000.0,
    across_m: float = 3500.0,
    along_m: float = 5500.0,
    heading_deg: float = -12.0,
    overpass_local_h: float = 13.5,
) -> dict[str, np.ndarray]:
    """Footprint lattice over ``tile`` (+ margin) for one day: arrays shaped (n_along, n_across[, 4]).

    Returns ``lon``, ``lat`` (centres), ``lon_bounds``, ``lat_bounds`` (4 CCW corners), ``time``
    (datetime64[ms] UTC), ``sza``, ``vza`` [deg].
    """
    x0, y0, x1, y1 = tile.bounds
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = tile.size_m / 2.0 + margin_m
    off_u, off_v = rng.uniform(0.0, across_m), rng.uniform(0.0, along_m)
    u = np.arange(-half - off_u, half + across_m, across_m)
    v = np.arange(-half - off_v, half + along_m, along_m)
    vv, uu = np.meshgrid(v, u, indexing="ij")
    du = np.array([-0.5, 0.5, 0.5, -0.5]) * across_m
    dv = np.array([-0.5, -0.5, 0.5, 0.5]) * along_m
    th = np.deg2rad(heading_deg)

    def rot(a, b):
        return cx + a * np.cos(th) - b * np.sin(th), cy + a * np.sin(th) + b * np.cos(th)

    xc, yc = rot(uu, vv)
    xb, yb = rot(uu[..., None] + du, vv[..., None] + dv)
    lon, lat = xy_to_lonlat(xc, yc)
    lonb, latb = xy_to_lonlat(xb, yb)
    lon_c, _ = xy_to_lonlat(cx, cy)
    t0 = utc_of_local_solar_time(
        np.datetime64(str(date)), float(lon_c), overpass_local_h + rng.normal(0, 0.25)
    )
    seconds_along = (vv - v.min()) / 7000.0 * 1.08  # 1.08 s per 7 km scanline [R]
    time = t0.astype("datetime64[ms]") + (seconds_along * 1000.0).astype("int64").astype("timedelta64[ms]")
    pos = rng.uniform(-1.0, 1.0)  # the tile's across-track position in today's swath
    vza = np.clip(np.abs(pos * 66.0 + uu / 2600e3 * 66.0), 0.0, 70.0)
    sza = solar_zenith_deg(time, lon, lat)
    return {
        "lon": lon,
        "lat": lat,
        "lon_bounds": lonb,
        "lat_bounds": latb,
        "time": time,
        "sza": sza,
        "vza": vza,
    }


def trap_indices(geom: dict[str, np.ndarray], tile: Tile) -> np.ndarray:
    """Flat indices of the three soundings farthest from the tile centre (undeclared fill, cloud, SZA)."""
    lon_c, lat_c = xy_to_lonlat(*(np.add(tile.bounds[:2], tile.bounds[2:]) / 2.0))
    d = np.hypot(geom["lon"].ravel() - lon_c, (geom["lat"].ravel() - lat_c) * 2.0)
    return np.argsort(d)[-3:][::-1]


def l2b_filename(date, style: str = "sron") -> str:
    """``TROPOSIF_L2B_YYYY-MM-DD.nc`` (SRON v2.1) or the S5P-PAL item name (§1.1)."""
    d = np.datetime64(str(date), "D")
    if style == "sron":
        return f"TROPOSIF_L2B_{d}.nc"
    s = str(d).replace("-", "")
    nxt = str(d + 1).replace("-", "")
    return f"S5P_PAL__L2B_SIF____{s}T002000_{nxt}T000500_{nxt}T120000.nc"


def _algorithm_settings() -> dict:
    return {
        "Polynomial degree win-743 nm": np.array([2], np.int64),
        "Number SVs win-743 nm": np.array([5], np.int64),
        "Fitting window win-743 nm (nm)": np.array([743.0, 758.0]),
        "Polynomial degree win-735 nm": np.array([2], np.int64),
        "Number SVs win-735 nm": np.array([7], np.int64),
        "Fitting window win-735 nm (nm)": np.array([735.0, 758.0]),
        "Cloud fraction threshold": np.array([0.8]),
        "SZA threshold": np.array([70.0]),
        "VZA threshold": np.array([60.0]),
        "Quality level threshold": np.array([80], np.int64),
        "SIF reference wavelength (nm)": np.array([740.0]),
        "Masked-out spectral channels for SIF retrieval (#)": np.array([0], np.int64),
        "FWHM of macro-channels for TOA reflectance": np.array([1.0, 1.0, 1.0]),
    }


def write_troposif_l2b(
    path,
    date,
    geom: dict[str, np.ndarray],
    sif: np.ndarray,
    sif_sigma: np.ndarray,
    cloud_fraction: np.ndarray,
    lc_mask: np.ndarray,
    qa: np.ndarray | None = None,
    traps: np.ndarray | None = None,
) -> Path:
    """Write one L2B day: every array is flattened to ``n_elem`` (geometry from :func:`troposif_footprints`).

    ``traps``: three flat indices that receive the §1.6 traps (undeclared fill, cloud 0.9, SZA 75°).
    """
    card = load_card("troposif_l2b")
    day = np.datetime64(str(date), "D")
    flat = {
        k: np.asarray(a).reshape(-1, 4) if k.endswith("bounds") else np.asarray(a).ravel()
        for k, a in geom.items()
    }
    n = flat["lon"].size
    sif = np.asarray(sif, float).ravel().copy()
    sif_sigma = np.asarray(sif_sigma, float).ravel()
    cf = np.asarray(cloud_fraction, float).ravel().copy()
    sza = flat["sza"].copy()
    sif735 = (sif * 0.85).astype(np.float32)
    raw = {}
    if traps is not None:
        t_fill, t_cloud, t_sza = (int(i) for i in traps)
        sif735[t_fill] = NC_DEFAULT_FILL
        cf[t_cloud] = 0.9
        sza[t_sza] = 75.0
        sif743_raw = sif.astype(np.float32)
        sif743_raw[~np.isfinite(sif743_raw)] = np.float32(card.var("sif").fill)
        sif743_raw[t_fill] = NC_DEFAULT_FILL
        raw["sif"] = sif743_raw
    raw["sif_735"] = np.where(np.isfinite(sif735), sif735, np.float32(NC_DEFAULT_FILL)).astype(np.float32)
    t_ref = (day.astype("datetime64[s]") - _EPOCH_2010).astype(float)
    delta_ms = (flat["time"].astype("datetime64[ms]") - day.astype("datetime64[ms]")).astype(np.int64)
    data = {
        "sif": sif,
        "sif_sigma": sif_sigma,
        "sif_corr": sif * 1.6,
        "latitude": flat["lat"],
        "longitude": flat["lon"],
        "time": np.array([t_ref]),
        "delta_time": delta_ms.astype(np.int32),
        "latitude_bounds": flat["lat_bounds"],
        "longitude_bounds": flat["lon_bounds"],
        "sza": sza,
        "vza": flat["vza"],
        "cloud_fraction": cf,
        "lc_mask": np.asarray(lc_mask, np.uint8).ravel(),
        "qa_value": np.ones(n) if qa is None else np.asarray(qa, float).ravel(),
        "daylength_fac": np.full(n, 1.6),
    }
    data = {k: v for k, v in data.items() if k not in raw}
    nxt = day + 1
    return write_netcdf(
        path,
        card,
        data,
        dim_sizes={"time": 1, "n_elem": n, "corner": 4},
        dim_groups={"time": "PRODUCT", "n_elem": "PRODUCT", "corner": "PRODUCT"},
        global_attrs={
            "Conventions": "CF-1.7",
            "institution": "synthetic (tccas); layout of SRON/S5P-PAL TROPOSIF L2B",
            "source": "tccas.io.synthetic.troposif",
            "time_coverage_start": f"{day}T00:20:00Z",
            "time_coverage_end": f"{nxt}T00:05:00Z",
            "processor_version": "2.1.0",
        },
        group_attrs={"METADATA/ALGORITHM_SETTINGS": _algorithm_settings()},
        raw=raw,
        var_attrs={"delta_time": {"units": f"milliseconds since {day}T00:00:00 UTC"}},
    )


def l2_filename(
    start: np.datetime64, end: np.datetime64, orbit: int, production: str = "20240101T000000"
) -> str:
    """83-character S5P logical file name of a per-orbit L2 SIF product (§1.1)."""

    def stamp(t):
        return str(np.datetime64(t, "s")).replace("-", "").replace(":", "")

    return f"S5P_PAL__L2__SIF____{stamp(start)}_{stamp(end)}_{orbit:05d}_01_020100_{production}.nc"


def write_troposif_l2(
    path,
    orbit: int,
    geom: dict[str, np.ndarray],
    sif: np.ndarray,
    sif_sigma: np.ndarray,
    cloud_fraction: np.ndarray,
    lc_mask: np.ndarray,
    qa: np.ndarray | None = None,
) -> Path:
    """Write a per-orbit L2 file: geometry arrays shaped (scanline, ground_pixel[, 4]) gain ``time=1``."""
    card = load_card("troposif_l2")
    n_scan, n_pix = np.shape(geom["lon"])
    t_first = np.asarray(geom["time"]).min().astype("datetime64[s]")
    t_ref = (t_first - _EPOCH_2010).astype(np.int64)
    scan_time = np.asarray(geom["time"])[:, 0].astype("datetime64[ms]")
    delta_ms = (scan_time - t_first.astype("datetime64[ms]")).astype(np.int64).astype(np.int32)

    def e(a):
        return np.asarray(a)[None]

    data = {
        "sif": e(sif),
        "sif_sigma": e(sif_sigma),
        "sif_735": e(np.asarray(sif) * 0.85),
        "latitude": e(geom["lat"]),
        "longitude": e(geom["lon"]),
        "time": np.array([t_ref], np.int32),
        "delta_time": e(delta_ms),
        "latitude_bounds": e(geom["lat_bounds"]),
        "longitude_bounds": e(geom["lon_bounds"]),
        "sza": e(geom["sza"]),
        "vza": e(geom["vza"]),
        "cloud_fraction": e(cloud_fraction),
        "lc_mask": e(np.asarray(lc_mask, np.uint8)),
        "qa_value": e(np.ones((n_scan, n_pix)) if qa is None else qa),
    }
    start, end = np.asarray(geom["time"]).min(), np.asarray(geom["time"]).max()
    name = l2_filename(start, end, orbit)
    return write_netcdf(
        path,
        card,
        data,
        dim_sizes={"time": 1, "scanline": n_scan, "ground_pixel": n_pix, "corner": 4},
        dim_groups={d: "PRODUCT" for d in ("time", "scanline", "ground_pixel", "corner")},
        global_attrs={
            "Conventions": "CF-1.7",
            "institution": "synthetic (tccas)",
            "source": "tccas.io.synthetic.troposif",
            "id": name[:-3],
            "time_reference": f"{np.datetime64(start, 'D')}T00:00:00Z",
            "time_coverage_start": str(np.datetime64(start, "s")) + "Z",
            "time_coverage_end": str(np.datetime64(end, "s")) + "Z",
            "orbit": np.array([orbit], np.int32),
            "processor_version": "02.01.00",
            "collection_identifier": "01",
        },
        group_attrs={"METADATA/ALGORITHM_SETTINGS": _algorithm_settings()},
        var_attrs={"delta_time": {"units": "milliseconds"}},
    )
