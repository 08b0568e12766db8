"""ERA5 and ERA5-Land hourly forcing readers, both NetCDF flavours (data_formats.md §4.1–§4.2).

:func:`read_era5` normalises either flavour (legacy CDS: ``time`` int32 hours since 1900, int16 packed
with per-file ``scale_factor``/``add_offset``, fill −32767, usually NETCDF3; new CDS: ``valid_time`` int64
seconds since 1970, float32 with NaN fill) to one ``xarray.Dataset`` on ``(time, lat, lon)`` with latitude
ascending, longitude in −180..180 and the model's forcing units (``tccas.model.Forcing``):

=================  ====================  =================================================================
variable           units                 from
=================  ====================  =================================================================
``t_air``          °C                    t2m − 273.15
``vapour_pressure`` Pa                   e_a = 611.2·exp(17.67 (Td − 273.15)/(Td − 29.65)), Td = d2m (§4.1)
``pressure``       Pa                    sp
``wind``           m s-1                 |(u10, v10)|
``sw_down``        W m-2                 de-accumulated ssrd / 3600
``lw_down``        W m-2                 de-accumulated strd / 3600
``precip``         mm h-1                de-accumulated tp × 1000
``orography``      m (static)            z / 9.80665 (only if ``z`` is in the file)
=================  ====================  =================================================================

Time axis: output step ``t`` is the model hour ``[t, t+1)``. Instantaneous fields take the value at valid
time ``t``; accumulated fields take the accumulation whose period *ends* at ``t+1`` (§4.1: shift by one
hour). ERA5 accumulations are per hour; ERA5-Land accumulations run from 00 UTC and are de-accumulated as
``h(01) = A(01)``, ``h(t) = A(t) − A(t−1)`` otherwise, negatives clipped to 0 (packing noise) [D]. A file
with valid times ``t_0 … t_N`` therefore yields ``N`` model hours ``t_0 … t_{N−1}``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from tccas.io._util import to_datetime
from tccas.io.cards import decode, load_card, open_netcdf, validate
from tccas.io.errors import CoverageError, SchemaMismatchError

G0 = 9.80665  # m s-2, standard gravity (ECMWF geopotential → height)
ACCUMULATED = ("ssrd", "strd", "tp")
PRODUCTS = ("era5", "era5_land")
# NOAA GML global annual mean CO2 [ppm] (marine surface sites) [R]; used when no CO2 record is configured.
GLOBAL_CO2_PPM = {
    2014: 397.1,
    2015: 399.4,
    2016: 402.9,
    2017: 405.0,
    2018: 407.6,
    2019: 410.1,
    2020: 412.4,
    2021: 414.7,
    2022: 417.1,
    2023: 419.3,
}


def vapour_pressure_from_dewpoint(td_k):
    """Actual vapour pressure [Pa] from dewpoint [K] (data_formats.md §4.1, Magnus form over water)."""
    td_k = np.asarray(td_k, float)
    return 611.2 * np.exp(17.67 * (td_k - 273.15) / (td_k - 29.65))


def dewpoint_from_vapour_pressure(e_pa):
    """Inverse of :func:`vapour_pressure_from_dewpoint` [K]."""
    x = np.log(np.asarray(e_pa, float) / 611.2) / 17.67
    return (273.15 - 29.65 * x) / (1.0 - x)


def co2_mole_fraction(years) -> np.ndarray:
    """Global annual-mean CO2 [mol mol-1] for calendar years (table :data:`GLOBAL_CO2_PPM`, linear beyond)."""
    ys = np.array(sorted(GLOBAL_CO2_PPM))
    ppm = np.array([GLOBAL_CO2_PPM[y] for y in ys])
    years = np.asarray(years, float)
    slope = (ppm[-1] - ppm[0]) / (ys[-1] - ys[0])
    out = np.interp(years, ys, ppm)
    out = np.where(years > ys[-1], ppm[-1] + slope * (years - ys[-1]), out)
    out = np.where(years < ys[0], ppm[0] + slope * (years - ys[0]), out)
    return out * 1e-6


def detect_flavour(path) -> str:
    """``"era5_new"`` if the file has a ``valid_time`` variable, else ``"era5_legacy"``."""
    import netCDF4

    path = Path(path)
    try:
        with netCDF4.Dataset(path) as ds:
            return "era5_new" if "valid_time" in ds.variables else "era5_legacy"
    except OSError as err:
        from tccas.io.errors import CorruptFileError

        raise CorruptFileError(path, "", f"cannot be opened as NetCDF ({err})") from err


def _deaccumulate(acc: np.ndarray, hours: np.ndarray, product: str) -> np.ndarray:
    """Per-hour totals at each valid time (index-aligned with ``acc``; the first is NaN when unknown)."""
    if product == "era5":
        return acc.copy()
    out = np.full_like(acc, np.nan)
    out[1:] = acc[1:] - acc[:-1]
    first = hours == 1
    out[first] = acc[first]
    return np.maximum(out, 0.0, where=np.isfinite(out), out=out)


def read_era5(path, product: str = "era5_land", bbox=None) -> xr.Dataset:
    """Read one hourly ERA5/ERA5-Land NetCDF file (either flavour) → normalised model-unit Dataset.

    ``bbox`` (w, s, e, n) degrees: keep the grid nodes needed for bilinear interpolation inside it (one
    node margin); a bbox outside the file's grid raises :class:`CoverageError`.
    """
    if product not in PRODUCTS:
        raise ValueError(f"product must be one of {PRODUCTS}, got {product!r}")
    path = Path(path)
    flavour = detect_flavour(path)
    card = load_card(flavour)
    ds = open_netcdf(path, card)
    try:
        h = validate(ds, card, path)
        v = card.variables
        lat = decode(h["latitude"], v["latitude"], path)
        lon = decode(h["longitude"], v["longitude"], path)
        lon = np.where(lon > 180.0, lon - 360.0, lon)
        time = to_datetime(decode(h["time"], v["time"], path), h["time"].units, path, v["time"].path)
        r_idx, c_idx = _bbox_index(lat, lon, bbox, path)
        raw = {
            k: decode(h[k], v[k], path, (slice(None), r_idx, c_idx))
            for k in ("t2m", "d2m", "sp", "u10", "v10", *ACCUMULATED)
        }
        z = decode(h["z"], v["z"], path, (0, r_idx, c_idx)) if "z" in h else None
    finally:
        ds.close()
    step = np.diff(time).astype("timedelta64[s]").astype(int)
    if time.size < 2 or np.any(step != 3600):
        raise SchemaMismatchError(path, v["time"].path, "time steps are not contiguous hours")
    hours = ((time - time.astype("datetime64[D]")).astype("timedelta64[h]")).astype(int)
    acc = {k: _deaccumulate(raw[k], hours, product) for k in ACCUMULATED}
    lat_s, lon_s = lat[r_idx], lon[c_idx]
    order_r, order_c = np.argsort(lat_s), np.argsort(lon_s)

    def arr(a):
        return a[..., order_r, :][..., order_c]

    coords = {"time": time[:-1], "lat": lat_s[order_r], "lon": lon_s[order_c]}
    dims = ("time", "lat", "lon")
    data = {
        "t_air": (dims, arr(raw["t2m"][:-1] - 273.15), {"units": "degC"}),
        "vapour_pressure": (dims, arr(vapour_pressure_from_dewpoint(raw["d2m"][:-1])), {"units": "Pa"}),
        "pressure": (dims, arr(raw["sp"][:-1]), {"units": "Pa"}),
        "wind": (dims, arr(np.hypot(raw["u10"][:-1], raw["v10"][:-1])), {"units": "m s-1"}),
        "sw_down": (dims, arr(acc["ssrd"][1:] / 3600.0), {"units": "W m-2"}),
        "lw_down": (dims, arr(acc["strd"][1:] / 3600.0), {"units": "W m-2"}),
        "precip": (dims, arr(acc["tp"][1:] * 1000.0), {"units": "mm h-1"}),
    }
    if z is not None:
        data["orography"] = (("lat", "lon"), arr(z / G0), {"units": "m"})
    return xr.Dataset(
        data, coords=coords, attrs={"source": str(path), "flavour": flavour, "product": product}
    )


def _bbox_index(lat, lon, bbox, path):
    if bbox is None:
        return np.arange(lat.size), np.arange(lon.size)
    w, s, e, n = bbox
    if not (lat.min() <= s and n <= lat.max() and lon.min() <= w and e <= lon.max()):
        raise CoverageError(
            path,
            "latitude/longitude",
            f"bbox {tuple(round(b, 3) for b in bbox)} not inside the grid "
            f"lon {lon.min():.2f}..{lon.max():.2f}, "
            f"lat {lat.min():.2f}..{lat.max():.2f}",
        )
    rows = np.nonzero((lat >= s) & (lat <= n))[0]
    cols = np.nonzero((lon >= w) & (lon <= e))[0]
    below, above = np.nonzero(lat < s)[0], np.nonzero(lat > n)[0]
    west, east = np.nonzero(lon < w)[0], np.nonzero(lon > e)[0]
    extra_r = [below[np.argmax(lat[below])]] if below.size else []
    extra_r += [above[np.argmin(lat[above])]] if above.size else []
    extra_c = [west[np.argmax(lon[west])]] if west.size else []
    extra_c += [east[np.argmin(lon[east])]] if east.size else []
    return np.unique(np.r_[rows, extra_r]).astype(int), np.unique(np.r_[cols, extra_c]).astype(int)


def series_to_forcing(ds: xr.Dataset, co2: float | np.ndarray | None = None):
    """Hourly point series (Dataset on ``time`` with the model-unit variables) → ``tccas.model.Forcing``.

    The series must start at 00 UTC and cover whole days. ``co2`` [mol mol-1]: scalar, hourly array, or
    None for the global annual means of :func:`co2_mole_fraction`. ``day_number`` counts days since
    2015-01-01 (model_spec §2.2).
    """
    from tccas.model import Forcing

    time = ds["time"].values
    n = time.size
    if n % 24 or (time[0] - time[0].astype("datetime64[D]")) != np.timedelta64(0):
        raise ValueError("forcing series must start at 00 UTC and cover whole days")
    days = time[::24].astype("datetime64[D]")
    shape = (n // 24, 24)
    if co2 is None:
        years = days.astype("datetime64[Y]").astype(int) + 1970
        co2 = np.repeat(co2_mole_fraction(years), 24)
    fields = {
        k: np.asarray(ds[k].values, np.float64).reshape(shape)
        for k in ("sw_down", "lw_down", "t_air", "precip", "vapour_pressure", "pressure", "wind")
    }
    return Forcing(
        **fields,
        co2=np.broadcast_to(np.asarray(co2, np.float64), (n,)).reshape(shape).copy(),
        day_number=(days - np.datetime64("2015-01-01", "D")).astype(np.float64),
    )
