"""Forcing and static-site types, and a synthetic hourly forcing generator (model_spec §2.3, §2.4).

``Forcing`` holds hourly arrays of shape (n_days, 24), hour 0 = 00:00-01:00 UTC, and ``day_number``
(days since 2015-01-01, the TCCAS calendar of model_spec §2.2). :func:`synthetic_forcing` produces
physically consistent NumPy forcing for any place and period: solar geometry, seasonal and diurnal
temperature cycles with synoptic (AR(1)) weather, cloudiness that modulates SW↓ and LW↓, rain events
of a few hours from a two-state Markov chain whose annual total comes from a latitude table and whose
seasonality, wet-day frequency and dry-season cloud, temperature range and humidity come from the climate
class of the place (:data:`CLIMATES`, chosen by :func:`climate_class` or passed explicitly), humidity from
the daily minimum temperature, barometric pressure, wind with a diurnal cycle, and CO2 with a trend
(405 ppm in 2018) and a hemispheric seasonal cycle. It is deterministic for a seed.
Climatologies are [D] estimates tuned to the demo regions (Lapland, Iberia, the Netherlands).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from tccas.model import constants as c
from tccas.model.met import cos_zenith, inverse_distance_sq, year_angle

EPOCH = np.datetime64("2015-01-01", "D")


class Forcing(NamedTuple):
    """Hourly meteorological forcing of one pixel (model_spec §2.3); arrays (n_days, 24) float64."""

    sw_down: object  # W m-2
    lw_down: object  # W m-2
    t_air: object  # degC
    precip: object  # mm h-1
    vapour_pressure: object  # Pa
    pressure: object  # Pa
    wind: object  # m s-1
    co2: object  # mol mol-1
    day_number: object  # (n_days,) days since 2015-01-01


class Site(NamedTuple):
    """Static inputs of one pixel (model_spec §2.4, §4.4); float64 scalars.

    ``w_max`` is the plant-available water capacity of the pixel [mm]; each tile uses
    ``w_max × wmax_scale`` (TileParams), which is how a PFT-specific rooting depth enters [D].
    """

    lat: object
    lon: object
    elevation: object  # m
    w_max: object  # mm
    soil_albedo_wet: object
    soil_albedo_dry: object
    theta_sat: object  # m3 m-3
    z_surface: object  # m


def default_site(lat: float, lon: float, elevation: float = 0.0) -> Site:
    """Site with the model_spec §4.4 defaults: loam, 1.5 m rooting (W_max = 225 mm), albedo 0.15/0.30,
    θ_sat = 0.45, z_s = 0.05 m."""
    f = np.float64
    return Site(f(lat), f(lon), f(elevation), f(225.0), f(0.15), f(0.30), f(0.45), f(0.05))


def day_numbers(start: str, n_days: int) -> np.ndarray:
    """Days since 2015-01-01 of ``n_days`` consecutive days from ISO date ``start`` (float64)."""
    try:
        d0 = np.datetime64(start, "D")
    except ValueError as exc:
        raise ValueError(f"start must be an ISO date 'YYYY-MM-DD', got {start!r}") from exc
    return ((d0 - EPOCH).astype(np.int64) + np.arange(n_days)).astype(np.float64)


# [D] climatology tables over |latitude| (deg): annual mean T [degC], seasonal amplitude [K], annual
# precipitation [mm yr-1]
_LAT = np.array([0, 20, 35, 40, 52, 60, 67, 75, 90], dtype=np.float64)
_T_MEAN = np.array([26.5, 25.0, 17.0, 15.5, 10.0, 4.0, 0.0, -12.0, -25.0])
_T_AMP = np.array([1.0, 4.0, 8.0, 9.0, 7.5, 11.0, 13.5, 15.0, 18.0])
_P_ANN = np.array([2500.0, 900.0, 500.0, 550.0, 800.0, 650.0, 500.0, 300.0, 200.0])
_DAYS_PER_YEAR = 365.25


class ClimateRegime(NamedTuple):
    """Seasonal regime of precipitation, cloud, temperature range and humidity of one climate class [D].

    The relative precipitation rate r(t) (annual mean 1; the day's share of the annual total is
    r(t) / 365.25) is

        r(t) = max((1 + A_s s(t) − D g(t)) / (1 − D ḡ), 0.05),
        s(t) = −cos(φ − 2π·20/365.25)  (the temperature cycle, −1 on ~20 January in the north),
        g(t) = 1 / (1 + exp((|Δ(t)| − L) / τ)),   ḡ = 2τ ln(1 + e^{L/τ}) / 365.25,

    with φ the seasonal phase (0 on 1 January in the north, shifted by half a year in the south) and Δ(t)
    the signed distance [d] from day ``dry_centre`` (wrapped to ±182.6 d): ``g`` is a dry season of
    half-length L with logistic onset and end of e-folding τ, 1 at its centre; ḡ is its annual mean (the
    integral of the logistic, exact up to its tail beyond ±half a year, < e^{−(182.6 − L)/τ}), so r has
    mean 1 (up to the 0.05 floor) whatever the period generated. The Markov chain's wet-day probability is
    ``p_wet`` · r(t). The dry season also clears the sky, widens the diurnal temperature range and dries
    the air, in proportion to g(t): mean cloud fraction 0.55 − C g, diurnal range + ΔT_dry g [K], dew point
    (T_min − 1 − 2 (1 − cloud) − ΔT_d g) [degC] on dry days. The shape of g and all values are [D]; the
    Mediterranean ones are calibrated to station climatology (:data:`CLIMATES`) and checked against the
    FR-Pue and US-Var towers (tests/model/test_synthetic_climate.py).
    """

    p_wet: float  # wet-day probability of the chain at r = 1 [-]
    summer_amp: float  # A_s, amplitude of the precipitation cycle in phase with temperature [-]
    dry_depth: float = 0.0  # D, share of the wet-season rate missing at the dry season's centre [-]
    dry_centre: float = 210.0  # days after 1 January of the dry season's centre (north; south + ½ yr) [d]
    dry_half_length: float = 50.0  # L, half-length of the dry season [d]
    dry_edge: float = 8.0  # τ, e-folding of its onset and end [d]
    dry_cloud: float = 0.0  # C, reduction of the mean cloud fraction at the centre [-]
    dry_dtr: float = 0.0  # ΔT_dry, extra diurnal temperature range at the centre [K]
    dry_dewpoint: float = 0.0  # ΔT_d, extra depression of the dew point below T_min at the centre [K]


CLIMATES = {
    # Outside the Mediterranean-climate domains: precipitation peaking with temperature (the summer
    # maximum of the mid- and high-latitude continental climates, e.g. Sodankylä; cycle amplitude 0.5),
    # the chain's wet-day probability 0.35 at r = 1, no dry season [D].
    "zonal": ClimateRegime(p_wet=0.35, summer_amp=0.5),
    # Köppen–Geiger Csa, hot-summer Mediterranean (Kottek et al. 2006; Beck et al. 2018), tuned to the
    # interior of SW Iberia (Badajoz, Cáceres, Majadas de Tiétar; AEMET normals 1981–2010): 450–550 mm
    # yr-1 in ≈ 60 days with ≥ 1 mm, a flat October–May wet season and a summer drought from mid-June to
    # mid-September (June ≈ 20 mm, July ≈ 2–5 mm, August ≈ 4–7 mm, September ≈ 25–30 mm): D = 0.96,
    # centre 210 d after 1 January (30 July), L = 50 d, τ = 8 d give June 23, July 4, August 4,
    # September 29 mm of 545 mm; p_wet = 0.22 gives ≈ 60 days with ≥ 1 mm. Summer skies are clear
    # (≈ 12 h of sunshine a day in July, about 80 % of the possible: mean cloud 0.55 → 0.15), the diurnal
    # range reaches 15–17 K (July mean maximum ≈ 33–34 °C, minimum ≈ 17–19 °C: + 6 K over the
    # cloud-driven range, as dry soil and air widen it, Dai et al. 1999, J. Climate 12, 2451) and the dew
    # point falls well below T_min in the arid season (Kimball et al. 1997, Agric. For. Meteorol. 85, 87;
    # Allen et al. 1998, FAO-56 ch. 3: T_dew ≈ T_min − 2…3 °C in arid and semi-arid climates; July
    # relative humidity ≈ 40 % in Extremadura: + 6 K).
    "Csa": ClimateRegime(
        p_wet=0.22,
        summer_amp=0.0,
        dry_depth=0.96,
        dry_centre=210.0,
        dry_half_length=50.0,
        dry_edge=8.0,
        dry_cloud=0.4,
        dry_dtr=6.0,
        dry_dewpoint=6.0,
    ),
    # Köppen–Geiger Csb, warm-summer Mediterranean (coastal and upland fringes of the Csa areas, e.g.
    # NW Iberia, coastal California and central Chile): a shorter, less complete summer drought and a
    # more humid, cloudier summer than Csa [D], still meeting Köppen's "s" criterion (driest summer month
    # < 40 mm and < 1/3 of the wettest winter month, Kottek et al. 2006).
    "Csb": ClimateRegime(
        p_wet=0.28,
        summer_amp=0.0,
        dry_depth=0.85,
        dry_centre=210.0,
        dry_half_length=40.0,
        dry_edge=10.0,
        dry_cloud=0.25,
        dry_dtr=3.0,
        dry_dewpoint=3.0,
    ),
}

# Mediterranean-climate (Köppen–Geiger Cs) domains as coarse (lat_min, lat_max, lon_min, lon_max) boxes
# [deg] around the Cs areas of the world maps of Kottek et al. (2006, Meteorol. Z. 15, 259, Fig. 1) and
# Beck et al. (2018, Sci. Data 5, 180214) [D]: they include some mountain, steppe and coastal Cf cells
# and miss small Cs patches (pass ``climate=`` there).
_CS_DOMAINS = (
    (34.0, 42.5, -10.0, 3.5),  # Iberia south of the Cantabrian-Pyrenean Cf belt, the Maghreb coast
    (36.0, 44.5, 3.5, 28.0),  # Mediterranean France, Italy, the Adriatic and Aegean coasts, Greece
    (31.0, 41.5, 28.0, 37.0),  # western and southern Anatolia, the Levant
    (32.0, 42.0, -124.5, -118.0),  # California
    (-38.0, -30.0, -74.0, -70.0),  # central Chile
    (-35.0, -31.5, 17.5, 22.0),  # Western Cape
    (-35.5, -30.0, 114.5, 119.0),  # south-western Australia
    (-38.5, -33.0, 134.0, 144.0),  # South Australia, western Victoria
)


def climate_class(lat: float, lon: float) -> str:
    """Climate class of :data:`CLIMATES` for a place [D]: ``"Csa"``/``"Csb"`` inside the Mediterranean
    domains (``_CS_DOMAINS``), ``"zonal"`` elsewhere.

    The Köppen–Geiger a/b split is the hottest-month mean temperature ≥ 22 °C (Kottek et al. 2006),
    taken from the zonal temperature tables at sea level (T_mean + T_amp at |lat|), so all nodes of a
    tile share one class whatever their elevation (the demo's spatially coherent weather).
    """
    lon = (float(lon) + 180.0) % 360.0 - 180.0
    for la0, la1, lo0, lo1 in _CS_DOMAINS:
        if la0 <= lat <= la1 and lo0 <= lon <= lo1:
            alat = abs(float(lat))
            t_hot = np.interp(alat, _LAT, _T_MEAN) + np.interp(alat, _LAT, _T_AMP)
            return "Csa" if t_hot >= 22.0 else "Csb"
    return "zonal"


def _ar1(rng, n, rho, sigma):
    x = np.empty(n)
    x[0] = rng.normal(0.0, sigma)
    innov = rng.normal(0.0, sigma * np.sqrt(1.0 - rho**2), n)
    for i in range(1, n):
        x[i] = rho * x[i - 1] + innov[i]
    return x


def _es(t):
    a = np.where(t >= 0.0, 17.269, 22.33)
    b = np.where(t >= 0.0, 237.3, 271.15)
    return 610.78 * np.exp(a * t / (b + t))


def synthetic_forcing(
    lat: float,
    lon: float,
    start: str,
    n_days: int,
    seed: int = 0,
    elevation: float = 0.0,
    climate: str | None = None,
) -> Forcing:
    """Physically consistent synthetic hourly forcing (NumPy float64) for a place and period [D].

    See the module docstring. ``elevation`` [m] lowers the temperature by 6.5 K km-1 and sets the
    barometric pressure; ``climate`` is a key of :data:`CLIMATES` (``"zonal"``, ``"Csa"``, ``"Csb"``),
    by default :func:`climate_class` of the place. Wet days follow a first-order two-state Markov chain
    with gamma-distributed amounts (the WGEN scheme of Richardson 1981, Water Resour. Res. 17, 182) whose
    wet-day probability and mean amount follow the regime's r(t) (:class:`ClimateRegime`). Snow falls
    wherever the daily mean temperature is below ~3 °C on wet days (e.g. every Lapland winter);
    LW↓ = ε_a σ T⁴ with Brutsaert clear-sky emissivity and a cloud term, so it is consistent with
    temperature and humidity.
    """
    if n_days < 1:
        raise ValueError(f"n_days must be >= 1, got {n_days}")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"lat must be in [-90, 90], got {lat}")
    climate = climate_class(lat, lon) if climate is None else climate
    if climate not in CLIMATES:
        raise ValueError(f"climate must be one of {sorted(CLIMATES)}, got {climate!r}")
    reg = CLIMATES[climate]
    rng = np.random.default_rng(seed)
    dn = day_numbers(start, n_days)
    alat = abs(float(lat))
    south = lat < 0
    gam = year_angle(dn, np)
    phase = gam + (np.pi if south else 0.0)  # seasonal phase, 0 at 1 January (NH)
    hours = np.arange(24, dtype=np.float64) + 0.5
    # dry season g(t) of the climate regime (ClimateRegime): 1 at its centre, 0 in the wet season
    half = 0.5 * _DAYS_PER_YEAR
    dist = (phase * _DAYS_PER_YEAR / (2.0 * np.pi) - reg.dry_centre + half) % _DAYS_PER_YEAR - half
    dry = 1.0 / (1.0 + np.exp((np.abs(dist) - reg.dry_half_length) / reg.dry_edge))
    dry_mean = 2.0 * reg.dry_edge * np.log1p(np.exp(reg.dry_half_length / reg.dry_edge)) / _DAYS_PER_YEAR

    # --- radiation --------------------------------------------------------------------------------
    mu = cos_zenith(dn[:, None], hours[None, :], lat, lon, np)
    mu_pos = np.maximum(mu, 0.0)
    sw_toa = c.SOLAR_CONSTANT * inverse_distance_sq(gam, np)[:, None] * mu_pos
    cloud = np.clip(0.55 - reg.dry_cloud * dry + _ar1(rng, n_days, 0.6, 0.3), 0.0, 1.0)
    t_clear = 0.75 * np.exp(-0.05 / np.maximum(mu_pos, 0.05))
    sw = sw_toa * t_clear * (1.0 - 0.72 * cloud[:, None] ** 1.5)
    sw = np.where(mu > 0.0, sw, 0.0)

    # --- temperature -------------------------------------------------------------------------------
    t_mean = np.interp(alat, _LAT, _T_MEAN) - 0.0065 * elevation
    t_amp = np.interp(alat, _LAT, _T_AMP)
    season = -np.cos(phase - 2.0 * np.pi * 20.0 / 365.25)  # minimum ~20 January (NH)
    t_day = t_mean + t_amp * season + _ar1(rng, n_days, 0.8, 0.8 + 2.0 * min(alat / 50.0, 1.0))
    dtr = (4.0 + 9.0 * (1.0 - cloud)) * (
        0.4 + 0.6 * np.clip(sw.sum(1) / np.maximum(sw_toa.sum(1), 1e-9), 0, 1)
    ) + reg.dry_dtr * dry
    local_solar = (hours[None, :] + lon / 15.0) % 24.0
    t_air = t_day[:, None] + 0.5 * dtr[:, None] * np.cos(2.0 * np.pi * (local_solar - 15.0) / 24.0)
    t_min = t_day - 0.5 * dtr

    # --- precipitation: wet/dry Markov chain, events of a few hours ---------------------------------
    p_ann = np.interp(alat, _LAT, _P_ANN)
    seas = (1.0 + reg.summer_amp * season - reg.dry_depth * dry) / (1.0 - reg.dry_depth * dry_mean)
    seas = np.maximum(seas, 0.05)  # r(t) of ClimateRegime
    p_wet = np.clip(reg.p_wet * seas, 0.02, 0.8)
    wet = np.zeros(n_days, dtype=bool)
    u = rng.random(n_days)
    for i in range(n_days):
        p = p_wet[i] * (1.6 if i and wet[i - 1] else 0.8)
        wet[i] = u[i] < min(p, 0.95)
    # expected wet-day amount: the day's share of p_ann divided by the chain's stationary wet-day
    # probability π = P(w|d) / (1 − P(w|w) + P(w|d)) (P(w|w) = min(1.6 p, 0.95), P(w|d) = 0.8 p), not by p
    # itself: persistence makes wet days more frequent than p, which biased the annual totals 20–30 % high
    p_ww, p_wd = np.minimum(1.6 * p_wet, 0.95), 0.8 * p_wet
    mean_amount = p_ann / 365.25 * seas * (1.0 - p_ww + p_wd) / p_wd
    amount = np.where(wet, rng.gamma(0.8, 1.0, n_days) / 0.8 * mean_amount, 0.0)
    start_h = rng.integers(0, 24, n_days)
    dur = rng.integers(2, 9, n_days)
    idx = (np.arange(24)[None, :] - start_h[:, None]) % 24
    mask = idx < dur[:, None]
    precip = np.where(mask, amount[:, None] / dur[:, None], 0.0)
    cloud = np.where(wet, np.maximum(cloud, 0.8), cloud)
    sw = np.where(wet[:, None], np.minimum(sw, sw_toa * 0.35), sw)

    # --- humidity, longwave, pressure, wind, CO2 -----------------------------------------------------
    dew_dep = 1.0 + 2.0 * (1.0 - cloud) + reg.dry_dewpoint * dry
    dew_dep = np.where(wet, 0.5, dew_dep)
    e_a = np.minimum(_es(t_min - dew_dep)[:, None] * np.ones((1, 24)), 0.98 * _es(t_air))
    tk = t_air + c.T_MELT
    eps_clear = 1.24 * (e_a / 100.0 / tk) ** (1.0 / 7.0)
    eps_a = eps_clear + (1.0 - eps_clear) * 0.8 * cloud[:, None] ** 2
    lw = eps_a * c.SIGMA_SB * tk**4
    p_surf = c.P0 * (1.0 - 2.25577e-5 * elevation) ** 5.25588
    pressure = p_surf + 600.0 * _ar1(rng, n_days, 0.7, 1.0)[:, None] * np.ones((1, 24))
    wind_day = np.exp(np.log(3.0) + _ar1(rng, n_days, 0.5, 0.35))
    wind = wind_day[:, None] * (1.0 + 0.3 * np.cos(2.0 * np.pi * (local_solar - 14.0) / 24.0))
    years = 2018.0 + (dn - 1095.0) / 365.25
    co2_ppm = (
        405.0 + 2.4 * (years - 2018.0) + (-1.0 if south else 1.0) * 3.0 * np.cos(phase - 2.0 * np.pi * 0.3)
    )
    co2 = np.repeat(co2_ppm[:, None] * 1e-6, 24, axis=1)

    f = np.float64
    return Forcing(
        sw_down=sw.astype(f),
        lw_down=lw.astype(f),
        t_air=t_air.astype(f),
        precip=precip.astype(f),
        vapour_pressure=e_a.astype(f),
        pressure=pressure.astype(f),
        wind=wind.astype(f),
        co2=co2.astype(f),
        day_number=dn,
    )
