"""CARDAMOM / DifferLand v1.0 daily site driver NetCDF reader (``<SITE>.nc``, card ``cardamom_drivers``).

The files (DifferLand v1.0 drivers, J. Fang, repository JianingFang/DifferLand_v1.0; CARDAMOM layout of
Bloom et al. 2016, PNAS 113, 1285) hold daily forcing and tower targets on ``time`` = consecutive day
numbers since 2001-01-01 (the variable has no units attribute; the epoch is the card's).
Conversions to the canonical variables:

- ``T2M_MIN``/``T2M_MAX`` [degC, daily extremes] → ``t_min``/``t_max``; ``t_mean`` = (t_min + t_max) / 2
  (the usual daily-mean estimate from extremes, e.g. Allen et al. 1998, FAO-56 eq. 9);
- ``SSRD`` [MJ m-2 d-1] × 1e6 / 86400 → ``sw_down`` [W m-2, daily-mean flux];
- ``VPD`` [hPa] × 100 → ``vpd`` [Pa]; ``PA`` [kPa] × 1000 → ``pressure`` [Pa];
- ``TOTAL_PREC`` → ``precip`` [mm d-1]; ``CO2`` → ``co2_local`` [ppm] (a local tower series: use the TRENDY
  series of :func:`tccas.io.flux.co2_daily` as the model's CO2); ``DOY`` is checked against the dates;
- targets ``GPP``, ``RECO``, ``NBE`` (= tower NEE, positive = source), ``ET``, ``LAI`` and their ``*unc``
  → ``gpp``, ``reco``, ``nee``, ``et``, ``lai`` and ``*_unc``; ``SWC`` [%] / 100 → ``swc`` [m3 m-3]
  (the -9999 fill and anything outside 0..100 % is missing).

Fills in the forcing (data README): ``PA`` = 101.325 kPa exactly is a fill (the standard atmosphere; three
days in the seven files), and ``SSRD`` ≤ 0 is impossible for a daily total at these latitudes (< 62° N;
NL-Loo 2004-12-08/09). Both are replaced by linear interpolation in time between the nearest valid days,
and the companions ``pressure_qc`` / ``sw_down_qc`` are 1 on measured and 0 on filled days. Forcing values
outside the card's ``plausible_range`` (wrong units) refuse the file
(:class:`~tccas.io.errors.ImplausibleValueError`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tccas.io.cards import decode, load_card, open_netcdf, validate
from tccas.io.errors import SchemaMismatchError
from tccas.io.flux._common import build_dataset, convert, fill_flagged
from tccas.io.flux.sites import site_attrs

_TARGETS = ("gpp", "gpp_unc", "reco", "reco_unc", "nee", "nee_unc", "et", "et_unc", "lai", "lai_unc")


def read_cardamom_drivers(path):
    """Read a CARDAMOM/DifferLand ``<SITE>.nc`` into a canonical daily dataset (module docstring)."""
    path = Path(path)
    card = load_card("cardamom_drivers")
    rules = card.extra["extra_rules"]
    nc = open_netcdf(path, card)
    try:
        handles = validate(nc, card, path)
        raw_time = np.asarray(handles["time"][:], dtype=np.int64)
        raw = {k: decode(v, card.var(k), path) for k, v in handles.items() if k != "time"}
    finally:
        nc.close()
    if raw_time.size > 1 and np.any(np.diff(raw_time) <= 0):
        raise SchemaMismatchError(path, "time", "day numbers are not increasing")
    days = np.datetime64(rules["epoch"], "D") + raw_time.astype("timedelta64[D]")
    doy = (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1
    if np.any(raw["doy"] != doy):
        k = int(np.argmax(raw["doy"] != doy))
        raise SchemaMismatchError(
            path,
            "DOY",
            f"DOY {raw['doy'][k]:g} on {days[k]} (time = days since {rules['epoch']}) should be {doy[k]}",
        )

    site = (card.match_name(path.name) or {}).get("site")
    attrs = site_attrs(site)
    if "lat" in raw and attrs["lat"] is not None:
        lat = float(raw["lat"])
        if abs(lat - attrs["lat"]) > rules["lat_tolerance_deg"]:
            raise SchemaMismatchError(
                path, "LAT", f"latitude {lat} does not match site {site} ({attrs['lat']}); wrong file name?"
            )

    data = {"t_min": raw["t_min"], "t_max": raw["t_max"]}
    if np.any(data["t_min"] > data["t_max"]):
        k = int(np.argmax(data["t_min"] > data["t_max"]))
        raise SchemaMismatchError(path, "T2M_MIN", f"daily minimum above maximum on {days[k]}")
    data["t_mean"] = 0.5 * (data["t_min"] + data["t_max"])
    sw = convert(raw["ssrd"], "MJ m-2 d-1", "W m-2")
    data["sw_down"], data["sw_down_qc"] = fill_flagged(sw, sw <= 0.0)
    data["vpd"] = convert(raw["vpd"], "hPa", "Pa")
    pa = convert(raw["pa"], "kPa", "Pa")
    data["pressure"], data["pressure_qc"] = fill_flagged(
        pa, np.isclose(raw["pa"], rules["pressure_fill_kpa"], rtol=0.0, atol=5e-4)
    )
    data["precip"] = raw["precip"]
    data["co2_local"] = raw["co2_local"]
    for name in _TARGETS:
        if name in raw:
            data[name] = raw[name]
    if "swc" in raw:
        data["swc"] = convert(raw["swc"], "%", "m3 m-3")

    notes = {
        "t_mean": "(T2M_MIN + T2M_MAX) / 2",
        "sw_down": "SSRD x 1e6 / 86400; SSRD <= 0 filled by linear interpolation in time (sw_down_qc = 0)",
        "pressure": "PA x 1000; the 101.325 kPa fill is replaced by linear interpolation (pressure_qc = 0)",
        "sw_down_qc": "1 = file value, 0 = SSRD <= 0 replaced by linear interpolation in time",
        "pressure_qc": "1 = file value, 0 = 101.325 kPa fill replaced by linear interpolation in time",
        "co2_local": "local tower CO2 series of the driver file, not the global background",
    }
    attrs.update(resolution="DD", source=str(path), reader="tccas.io.flux.read_cardamom_drivers")
    return build_dataset(days, data, daily=True, attrs=attrs, notes=notes)
