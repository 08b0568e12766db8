"""Solar geometry for placing synthetic overpasses (Spencer 1971 declination and equation of time).

Only used to give synthetic soundings realistic solar zenith angles and local overpass times; the model
computes its own radiation geometry (model_spec §3); the declination and equation-of-time series are the
model's (``tccas.model.met.declination``, ``tccas.model.met.equation_of_time``), evaluated here on the
calendar day angle of the product time stamps.
"""

from __future__ import annotations

import numpy as np

from tccas.model.met import declination, equation_of_time


def solar_zenith_deg(time_utc: np.ndarray, lon, lat) -> np.ndarray:
    """Solar zenith angle [deg] at UTC instants ``time_utc`` (datetime64) for points lon/lat [deg].

    Spencer (1971): declination δ and equation of time from the day angle Γ = 2π(doy − 1)/365; hour angle
    from local apparent solar time.
    """
    t = np.asarray(time_utc, dtype="datetime64[s]")
    doy = (t.astype("datetime64[D]") - t.astype("datetime64[Y]").astype("datetime64[D]")).astype(int) + 1
    hour = (t - t.astype("datetime64[D]")).astype(float) / 3600.0
    g = 2.0 * np.pi * (doy - 1) / 365.0
    decl = declination(g, xp=np)
    solar_time = hour + np.asarray(lon) / 15.0 + equation_of_time(g, xp=np)
    h = np.deg2rad(15.0 * (solar_time - 12.0))
    phi = np.deg2rad(np.asarray(lat))
    cos_z = np.sin(phi) * np.sin(decl) + np.cos(phi) * np.cos(decl) * np.cos(h)
    return np.rad2deg(np.arccos(np.clip(cos_z, -1.0, 1.0)))


def utc_of_local_solar_time(date: np.datetime64, lon: float, local_hour: float) -> np.datetime64:
    """UTC instant of mean local solar time ``local_hour`` on ``date`` at longitude ``lon``."""
    seconds = round((local_hour - lon / 15.0) * 3600.0)
    return np.datetime64(date, "D").astype("datetime64[s]") + np.timedelta64(seconds, "s")
