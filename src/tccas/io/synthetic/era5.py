"""Synthetic ERA5 / ERA5-Land hourly files in both NetCDF flavours (data_formats.md §4.1–§4.2).

Input: model-unit hourly fields on ``(hour, lat, lon)`` where hour ``t`` is the interval ``[t, t+1)``
(``tccas.model.Forcing`` convention) for whole days. Output: valid times ``t_0 … t_N`` (one more than the
hours, so accumulations ending at the last hour are present), accumulations per the product (ERA5:
per hour ending at the valid time; ERA5-Land: running from 00 UTC), latitude descending, geopotential
``z``; legacy = int16 packed NETCDF3 with ``hours since 1900``, new = float32 NETCDF4 with
``valid_time`` seconds since 1970 and ``GRIB_*`` attributes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tccas.io.cards import load_card
from tccas.io.era5 import G0, dewpoint_from_vapour_pressure
from tccas.io.synthetic._netcdf import write_netcdf


def era5_filename(product: str, start, end, flavour: str) -> str:
    tag = "era5-land" if product == "era5_land" else "era5"
    return f"{tag}_{np.datetime64(str(start), 'D')}_{np.datetime64(str(end), 'D')}_{flavour.split('_')[1]}.nc"


def _accumulate(flux_hour: np.ndarray, valid: np.ndarray, product: str) -> np.ndarray:
    """Per-hour totals of hours ``[t, t+1)`` → the product's accumulation at valid times ``t_0 … t_N``."""
    per_valid = np.concatenate([np.zeros_like(flux_hour[:1]), flux_hour], axis=0)  # total ending at t_k
    if product == "era5":
        return per_valid
    hours = ((valid - valid.astype("datetime64[D]")).astype("timedelta64[h]")).astype(int)
    out = np.empty_like(per_valid)
    run = np.zeros_like(per_valid[0])
    for k in range(per_valid.shape[0]):
        run = per_valid[k] if hours[k] == 1 else run + per_valid[k]
        out[k] = run
    return out


def write_era5(
    path,
    start,
    fields: dict[str, np.ndarray],
    lat: np.ndarray,
    lon: np.ndarray,
    orography: np.ndarray,
    product: str = "era5_land",
    flavour: str = "era5_new",
    wind_dir_deg: float = 225.0,
) -> Path:
    """Write hourly fields (keys ``t_air, vapour_pressure, pressure, wind, sw_down, lw_down, precip``,
    each ``(n_hours, nlat, nlon)``, lat descending) starting at ``start`` 00 UTC."""
    card = load_card(flavour)
    n_h = fields["t_air"].shape[0]
    valid = np.datetime64(str(start), "D").astype("datetime64[s]") + np.arange(n_h + 1) * np.timedelta64(
        3600, "s"
    )

    def inst(a):  # instantaneous at valid t_k = value of hour k (the last one repeats)
        return np.concatenate([a, a[-1:]], axis=0)

    wd = np.deg2rad(wind_dir_deg)
    data = {
        "t2m": inst(fields["t_air"] + 273.15),
        "d2m": inst(dewpoint_from_vapour_pressure(fields["vapour_pressure"])),
        "sp": inst(fields["pressure"]),
        "u10": inst(-fields["wind"] * np.sin(wd)),
        "v10": inst(-fields["wind"] * np.cos(wd)),
        "ssrd": _accumulate(fields["sw_down"] * 3600.0, valid, product),
        "strd": _accumulate(fields["lw_down"] * 3600.0, valid, product),
        "tp": _accumulate(fields["precip"] / 1000.0, valid, product),
        "z": np.broadcast_to(orography * G0, (n_h + 1, *orography.shape)),
        "latitude": lat,
        "longitude": lon,
    }
    if flavour == "era5_legacy":
        data["time"] = ((valid - np.datetime64("1900-01-01T00:00:00", "s")).astype(np.int64) // 3600).astype(
            np.int32
        )
        tdim = "time"
    else:
        data["time"] = (valid - np.datetime64("1970-01-01T00:00:00", "s")).astype(np.int64)
        tdim = "valid_time"
    return write_netcdf(
        path,
        card,
        data,
        dim_sizes={tdim: n_h + 1, "latitude": lat.size, "longitude": lon.size},
        global_attrs={
            "Conventions": "CF-1.6" if flavour == "era5_legacy" else "CF-1.7",
            "history": "synthetic (tccas)",
            "institution": "European Centre for Medium-Range Weather "
            "Forecasts (layout); values synthetic (tccas)",
            "product": product,
        },
    )


def native_grid_for_point(lon: float, lat: float, res: float, n: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """``n`` × ``n`` node lattice of a ``res``-degree product around a point (lat descending, lon
    ascending)."""
    la0 = np.floor(lat / res) * res
    lo0 = np.floor(lon / res) * res
    k = np.arange(n) - (n // 2 - 1)
    return np.round(la0 + k[::-1] * res, 6), np.round(lo0 + k * res, 6)


def grid_forcing_fields(lat, lon, oro, start, n_days: int, seed: int) -> dict[str, np.ndarray]:
    """Hourly fields ``(n_hours, n_lat, n_lon)`` of :func:`tccas.model.synthetic_forcing` at every node of a
    lat/lon grid (same seed everywhere: spatially coherent weather; ``oro`` [m] sets each node's elevation),
    ready for :func:`write_era5`."""
    from tccas.model import synthetic_forcing

    nodes = [
        [
            synthetic_forcing(float(la), float(lo), str(start), n_days, seed=seed, elevation=float(oro[i, j]))
            for j, lo in enumerate(lon)
        ]
        for i, la in enumerate(lat)
    ]
    return {
        k: np.stack(
            [
                np.stack([getattr(nodes[i][j], k).reshape(-1) for j in range(len(lon))], -1)
                for i in range(len(lat))
            ],
            -2,
        )
        for k in ("t_air", "vapour_pressure", "pressure", "wind", "sw_down", "lw_down", "precip")
    }
