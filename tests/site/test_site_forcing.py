"""Site forcing: sub-daily tower records → hourly Forcing, and daily → hourly disaggregation."""

from __future__ import annotations

import jax
import numpy as np
import pytest
import xarray as xr

from tccas import model as M
from tccas.io.errors import MissingFieldError, SchemaMismatchError
from tccas.io.flux import aggregate_daily, read_co2_series, read_fluxnet
from tccas.model import met
from tccas.site.forcing import (
    disaggregate_daily,
    diurnal_range_from_clearness,
    hourly_forcing,
    local_day_hours,
    shortwave_shape,
    to_utc_days,
)

PUE = (43.7414, 3.5958, 270.0)  # FR-Pue lat, lon [deg], elevation [m]
PUE_FILE = "FR-Pue_2014_FLUXNET2015_FULLSET_HH_subset.csv"
ET_PARTS = ("transpiration", "evap_soil", "evap_interception", "sublimation")


def es_of(t):
    return met.sat_vapour_pressure(t, np)[0]


# ------------------------------------------------------------------------------------------------------
# sub-daily → hourly
# ------------------------------------------------------------------------------------------------------


def subdaily(start="2014-06-01T00:00", n=96, step_min=30, co2=True, source="tower_hh.csv"):
    """A smooth synthetic 30-min tower record (canonical names and units of tccas.io.flux)."""
    time = np.datetime64(start, "m") + np.arange(n) * np.timedelta64(step_min, "m")
    h = (time - time.astype("datetime64[D]")).astype(np.float64) / 60.0
    t_air = 15.0 + 6.0 * np.sin(2 * np.pi * (h - 9.0) / 24.0)
    data = {
        "t_air": t_air,
        "sw_down": np.maximum(800.0 * np.sin(np.pi * (h - 6.0) / 12.0), 0.0) - 1.0,
        "lw_down": 330.0 + 0.1 * h,
        "vpd": (0.3 + 0.01 * h) * es_of(t_air),
        "pressure": np.full(n, 98_000.0),
        "precip": np.where((h >= 14.0) & (h < 15.0), 3.0, 0.0),  # mm h-1 rate
        "wind": 2.0 + 0.05 * h,
    }
    if co2:
        data["co2"] = 400.0 + 0.5 * h
    ds = xr.Dataset({k: ("time", v) for k, v in data.items()}, coords={"time": time})
    ds.attrs.update(lat=PUE[0], lon=PUE[1], elevation=PUE[2], source=source)
    return ds


def test_hourly_means_units_and_calendar():
    ds = subdaily()
    f = hourly_forcing(ds)
    assert f.t_air.shape == (2, 24) and all(np.asarray(x).dtype == np.float64 for x in f)
    assert f.day_number.tolist() == [-214.0, -213.0]  # 2014-06-01 is 214 days before 2015-01-01
    raw = {k: ds[k].values.reshape(2, 24, 2) for k in ds.data_vars}
    np.testing.assert_allclose(f.t_air, raw["t_air"].mean(-1))
    np.testing.assert_allclose(f.precip.sum(1), 3.0)  # 3 mm h-1 for one hour = 3 mm per day
    np.testing.assert_allclose(f.co2, raw["co2"].mean(-1) * 1e-6)
    np.testing.assert_allclose(f.wind, raw["wind"].mean(-1))
    assert f.sw_down.min() == 0.0  # the −1 W m-2 night offset is clipped
    es = es_of(f.t_air)
    np.testing.assert_allclose(f.vapour_pressure, es - raw["vpd"].mean(-1))
    # the VPD the model recomputes from the forcing is the tower VPD
    _, _, vpd, *_ = met.air_terms(f.t_air, f.vapour_pressure, f.pressure)
    np.testing.assert_allclose(np.asarray(vpd), raw["vpd"].mean(-1), rtol=1e-12)
    g = hourly_forcing(ds, co2_ppm=397.34, wind=3.5)
    np.testing.assert_allclose(g.co2, 397.34e-6, rtol=1e-15)
    assert np.all(g.wind == 3.5)
    y = hourly_forcing(ds, co2_ppm={2014: 397.34})
    np.testing.assert_array_equal(y.co2, g.co2)
    assert np.all(hourly_forcing(ds.drop_vars("wind")).wind == 3.0)  # GlobalParams.wind default


def test_hourly_vapour_pressure_bounds():
    ds = subdaily()
    ds["vpd"] = ds["vpd"] * 0.0 - 50.0  # supersaturated records → saturation
    f = hourly_forcing(ds)
    np.testing.assert_allclose(f.vapour_pressure, es_of(f.t_air))
    ds["vpd"] = ds["vpd"] * 0.0 + 1e5  # VPD above e_s → the RH floor
    f = hourly_forcing(ds)
    assert np.all(f.vapour_pressure > 0) and np.allclose(f.vapour_pressure, 0.01 * es_of(f.t_air))


def test_hourly_partial_days_and_gaps():
    # FR-Pue-like start at 23:30 UTC the day before: that 30-min head is dropped; the last half-hour
    # (23:30 UTC, 2 June) is missing and completed with the nearest record → whole days 1 and 2 June
    ds = subdaily("2014-05-31T23:30", n=96)
    f = hourly_forcing(ds)
    assert f.day_number.tolist() == [-214.0, -213.0]
    np.testing.assert_allclose(f.t_air[1, 23], ds["t_air"].values[-1])  # nearest value at the end
    # more than 2 h missing at the end → the last day is trimmed
    f = hourly_forcing(subdaily(n=96 - 5))
    assert f.day_number.tolist() == [-214.0]
    # a 1.5-h interior gap (3 absent records) is linearly interpolated
    ds = subdaily()
    hole = ds.drop_isel(time=[20, 21, 22])
    f = hourly_forcing(hole)
    lin = np.interp(np.arange(96), [19, 23], ds["lw_down"].values[[19, 23]])
    np.testing.assert_allclose(f.lw_down[0, 10], lin[20:22].mean())
    # NaN records count like absent ones; a 2.5-h gap is an error naming the variable and its start
    bad = ds.copy(deep=True)
    bad["t_air"][30:35] = np.nan
    with pytest.raises(SchemaMismatchError, match=r"tower_hh.csv \[t_air\].*2.5 h from 2014-06-01T15:00"):
        hourly_forcing(bad)


def test_hourly_bad_input():
    ds = subdaily()
    with pytest.raises(MissingFieldError, match=r"tower_hh.csv \[vpd\]"):
        hourly_forcing(ds.drop_vars("vpd"))
    with pytest.raises(MissingFieldError, match=r"\[co2\].*co2_ppm"):
        hourly_forcing(subdaily(co2=False))
    with pytest.raises(SchemaMismatchError, match=r"\[time\].*strictly increasing"):
        hourly_forcing(ds.isel(time=[0, 2, 1, *range(3, 96)]))
    with pytest.raises(SchemaMismatchError, match=r"\[time\].*regular grid"):
        hourly_forcing(ds.assign_coords(time=ds.time + np.timedelta64(7, "m")))
    with pytest.raises(SchemaMismatchError, match=r"\[time\].*no whole UTC day"):
        hourly_forcing(ds.isel(time=slice(0, 30)))
    neg = ds.copy(deep=True)
    neg["precip"][5] = -1.0
    with pytest.raises(SchemaMismatchError, match=r"\[precip\].*negative"):
        hourly_forcing(neg)
    with pytest.raises(ValueError, match="year"):
        hourly_forcing(ds, co2_ppm={2013: 395.4})


# ------------------------------------------------------------------------------------------------------
# daily → hourly
# ------------------------------------------------------------------------------------------------------


def daily(start="2014-03-18", n=8, lat=PUE[0], lon=PUE[1], t_minmax=True, t_mean=True, lw=True):
    """Synthetic daily tower drivers (canonical daily names and units)."""
    time = np.datetime64(start, "D") + np.arange(n)
    k = np.arange(n, dtype=np.float64)
    data = {
        "sw_down": 120.0 + 15.0 * k,
        "vpd": np.where(k % 3 == 0, 60.0, 700.0 + 50.0 * k),  # every third day nearly saturated
        "precip": np.where(k % 2 == 0, 0.0, 7.0 + 20 * k),
        "pressure": 98_000.0 + 10.0 * k,
        "wind": 2.0 + 0.1 * k,
        "co2": 398.0 + 0.1 * k,
    }
    if t_minmax:
        data["t_min"], data["t_max"] = 3.0 + 0.5 * k, 14.0 + k
    if t_mean:
        data["t_mean"] = 8.0 + 0.8 * k
    if lw:
        data["lw_down"] = 300.0 + 2.0 * k
    ds = xr.Dataset({key: ("time", v) for key, v in data.items()}, coords={"time": time})
    ds.attrs.update(lat=lat, lon=lon, elevation=270.0, source="tower_dd.nc")
    return ds


def potential_mean(ds, f):
    """Daily mean clear-sky potential SW↓ [W m-2] at FR-Pue for the days of ``f``."""
    return shortwave_shape(f.day_number, PUE[0], PUE[1], ds["pressure"].values).mean(1)


def check_conservation(ds, f):
    np.testing.assert_allclose(f.sw_down.mean(1), ds["sw_down"].values, rtol=1e-12)
    np.testing.assert_allclose(f.precip.sum(1), ds["precip"].values, rtol=1e-12, atol=1e-12)
    if "t_mean" in ds:
        np.testing.assert_allclose(f.t_air.mean(1), ds["t_mean"].values, rtol=1e-12)
    if "lw_down" in ds:
        np.testing.assert_allclose(f.lw_down.mean(1), ds["lw_down"].values, rtol=1e-12)
    es = es_of(f.t_air)
    assert np.all(f.vapour_pressure <= es * (1 + 1e-12)) and np.all(f.vapour_pressure > 0)
    # daily mean of the hourly VPD the model recomputes = the daily VPD
    _, _, vpd, *_ = met.air_terms(f.t_air, f.vapour_pressure, f.pressure)
    np.testing.assert_allclose(np.asarray(vpd).mean(1), ds["vpd"].values, rtol=1e-9)
    for name in ("pressure", "wind", "co2"):
        assert np.all(np.ptp(getattr(f, name), axis=1) == 0)
    if "co2" in ds:
        np.testing.assert_allclose(f.co2[:, 0], ds["co2"].values * 1e-6)


@pytest.mark.parametrize("shape", ["uniform", "event"])
def test_disaggregate_conserves_daily_values(shape):
    ds = daily()
    f = disaggregate_daily(ds, precip_shape=shape)
    assert f.t_air.shape == (8, 24) and all(np.asarray(x).dtype == np.float64 for x in f)
    assert f.day_number[0] == (np.datetime64("2014-03-18") - np.datetime64("2015-01-01")).astype(int)
    check_conservation(ds, f)
    wet = ds["precip"].values > 0
    if shape == "uniform":
        assert np.all(np.ptp(f.precip, axis=1) == 0)
    else:  # one block of ⌈P/2⌉ h around 15 h local solar time (14 UTC at 3.6 E)
        n_wet = (f.precip > 0).sum(1)
        np.testing.assert_array_equal(n_wet[wet], np.minimum(np.ceil(ds["precip"].values[wet] / 2.0), 24))
        assert np.all(f.precip[wet & (n_wet < 12), 14] > 0)


def test_disaggregate_diurnal_shapes():
    ds = daily()
    f = disaggregate_daily(ds)
    # night: no shortwave in any hour whose sub-steps all have the sun below the horizon
    sub = np.arange(24)[:, None] + (np.arange(12) + 0.5)[None, :] / 12
    mu = met.cos_zenith(f.day_number[:, None, None], sub[None], PUE[0], PUE[1], np)
    night = mu.max(-1) <= 0.0
    assert night.sum() > 8 * 9 and np.all(f.sw_down[night] == 0.0)
    assert np.all(f.sw_down >= 0.0) and np.all(np.argmax(f.sw_down, 1) == 11)  # solar noon ≈ 11:45 UTC
    # temperature: minimum near sunrise, maximum ~1.5-2 h after solar noon, daily range from t_min/t_max
    g = disaggregate_daily(ds.drop_vars("t_mean"))
    assert np.all(np.isin(np.argmax(g.t_air, 1), [12, 13])) and np.all(
        np.isin(np.argmin(g.t_air, 1), [4, 5, 6])
    )
    assert np.all(g.t_air.max(1) <= ds["t_max"].values) and np.all(g.t_air.min(1) >= ds["t_min"].values - 0.2)
    assert np.all(g.t_air.max(1) - g.t_air.min(1) > 0.9 * (ds["t_max"] - ds["t_min"]).values)
    # longwave from Brutsaert + cloud correction (no lw_down in the dataset): emissivity 0.6-1
    h = disaggregate_daily(ds.drop_vars("lw_down"))
    emis = h.lw_down / (5.6697e-8 * (h.t_air + 273.16) ** 4)
    assert np.all((emis > 0.6) & (emis <= 1.0))
    eps_clear = 1.24 * (h.vapour_pressure / 100.0 / (h.t_air + 273.16)) ** (1 / 7)  # Brutsaert 1975
    cloud = (emis - eps_clear) / (1.0 - eps_clear)  # Crawford & Duchon 1999: ε = f + (1 − f) ε_clear
    clear = ds["sw_down"].values / shortwave_shape(h.day_number, PUE[0], PUE[1], ds["pressure"].values).mean(
        1
    )
    np.testing.assert_allclose(cloud, np.repeat(1.0 - clear[:, None], 24, 1), rtol=1e-10)
    assert np.all((clear > 0.3) & (clear < 0.9))


def test_disaggregate_t_mean_only_and_defaults():
    ds = daily(t_minmax=False, lw=False).drop_vars(["wind", "co2"])
    f = disaggregate_daily(ds, co2_ppm=397.34)
    check_conservation(ds, f)
    assert np.all(f.wind == 3.0)
    np.testing.assert_allclose(f.co2, 397.34e-6, rtol=1e-15)
    clear = ds["sw_down"].values / shortwave_shape(f.day_number, PUE[0], PUE[1], ds["pressure"].values).mean(
        1
    )
    dtr = diurnal_range_from_clearness(clear)
    assert np.all(np.diff(dtr) > 0) and np.all((dtr > 2.0) & (dtr < 13.3))
    np.testing.assert_allclose(f.t_air.max(1) - f.t_air.min(1), dtr, rtol=0.1)
    assert diurnal_range_from_clearness(0.0) == 0.0 and diurnal_range_from_clearness(2.0) < 13.3


@pytest.mark.parametrize(
    ("lat", "lon", "start"), [(67.37, 26.63, "2014-12-17"), (-33.9, 151.2, "2014-06-18")]
)
def test_disaggregate_polar_night_and_far_east(lat, lon, start):
    ds = daily(start=start, lat=lat, lon=lon)
    if lat > 60:  # Sodankylä polar night: nothing to shape the (twilight) daily SW → 0
        ds["sw_down"] = ds["sw_down"] * 0.0 + 2.0
    f = disaggregate_daily(ds)
    assert all(np.all(np.isfinite(x)) for x in f)
    if lat > 60:
        assert np.all(f.sw_down == 0.0)
    else:
        check_conservation(ds, f)
        noon_utc = (12.0 - lon / 15.0) % 24.0  # local solar noon ≈ 01:55 UTC at Sydney
        assert np.all(np.abs(np.argmax(f.sw_down, 1) - noon_utc) <= 1)


def test_disaggregate_bad_input():
    ds = daily()
    with pytest.raises(MissingFieldError, match=r"tower_dd.nc \[vpd\]"):
        disaggregate_daily(ds.drop_vars("vpd"))
    with pytest.raises(MissingFieldError, match=r"\[t_mean\].*t_min and t_max"):
        disaggregate_daily(ds.drop_vars(["t_mean", "t_max"]))
    nan = ds.copy(deep=True)
    nan["sw_down"][3] = np.nan
    with pytest.raises(
        SchemaMismatchError, match=r"\[sw_down\].*1 missing \(NaN\) day\(s\), first 2014-03-21"
    ):
        disaggregate_daily(nan)
    with pytest.raises(SchemaMismatchError, match=r"\[time\].*not consecutive at 2014-03-22"):
        disaggregate_daily(ds.drop_isel(time=3))
    swap = ds.assign(t_min=ds["t_max"], t_max=ds["t_min"])
    with pytest.raises(SchemaMismatchError, match=r"\[t_max\].*t_max < t_min on 2014-03-18"):
        disaggregate_daily(swap)
    no_lat = ds.copy()
    del no_lat.attrs["lat"]
    with pytest.raises(MissingFieldError, match=r"\[lat\].*global attribute"):
        disaggregate_daily(no_lat)
    with pytest.raises(MissingFieldError, match=r"\[co2\]"):
        disaggregate_daily(ds.drop_vars("co2"))
    with pytest.raises(ValueError, match="precip_shape"):
        disaggregate_daily(ds, precip_shape="storm")
    with pytest.raises(ValueError, match="wind"):
        disaggregate_daily(ds, wind=-1.0)


# ------------------------------------------------------------------------------------------------------
# real data: FR-Pue 2014 half-hours → hourly forcing vs daily aggregate → disaggregated forcing
# ------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pue(real_data_dir):
    """FR-Pue 2014: the tower's hourly forcing and the forcing disaggregated from its daily aggregate,
    both with the TRENDY global CO2 (the tower's co2_local has a diurnal cycle a daily file cannot hold)."""
    ds = read_fluxnet(real_data_dir / PUE_FILE)
    co2 = read_co2_series(real_data_dir / "callmip" / "CO2_1700_2024_TRENDYv2025.txt")
    dd = aggregate_daily(ds)
    return ds, dd, hourly_forcing(ds, co2_ppm=co2), disaggregate_daily(dd, co2_ppm=co2)


def test_pue_hourly_forcing(pue):
    ds, _, hh, _ = pue
    # UTC+1 file without its first half-hour: 2013-12-31T23:30 … 2014-12-31T22:30 UTC → the 365 days of 2014
    assert hh.t_air.shape == (365, 24) and hh.day_number[0] == -365.0 and hh.day_number[-1] == -1.0
    rec = ds.sel(time=slice("2014-01-01T00:00", "2014-01-01T00:30"))
    assert hh.t_air[0, 0] == pytest.approx(rec["t_air"].values.mean())
    assert hh.precip.sum() == pytest.approx(1264.1, abs=0.1)  # the README's 1264 mm wet year
    assert hh.sw_down[:, [20, 21, 22, 23, 0, 1, 2, 3]].max() < 5.0  # night (UTC) at 3.6 E
    np.testing.assert_allclose(hh.co2, 397.34e-6)  # TRENDY v2025, 2014
    assert np.all(hh.vapour_pressure <= es_of(hh.t_air)) and np.all(hh.vapour_pressure > 0)


def test_pue_disaggregation_matches_tower_hours(pue):
    _, dd, hh, fd = pue
    assert fd.t_air.shape == hh.t_air.shape
    np.testing.assert_array_equal(fd.day_number, hh.day_number)
    r = {k: np.corrcoef(getattr(hh, k).ravel(), getattr(fd, k).ravel())[0, 1] for k in ("sw_down", "t_air")}
    print(f"FR-Pue 2014 hourly r (tower vs disaggregated daily): SW {r['sw_down']:.4f}, T {r['t_air']:.4f}")
    assert r["sw_down"] >= 0.95 and r["t_air"] >= 0.95

    # daily means preserved on the LOCAL (UTC+1) days of the aggregate: local day k = UTC hours
    # 24k − 1 … 24k + 22; local day 0 starts in 2013, so compare days 1..364
    def local(x):
        return np.asarray(x).ravel()[23:-1].reshape(364, 24)

    for name, var, stat in (
        ("sw_down", "sw_down", np.mean),
        ("lw_down", "lw_down", np.mean),
        ("t_air", "t_mean", np.mean),
        ("precip", "precip", np.sum),
    ):
        np.testing.assert_allclose(stat(local(getattr(fd, name)), axis=1), dd[var].values[1:], rtol=1e-10)
    _, _, vpd, *_ = met.air_terms(fd.t_air, fd.vapour_pressure, fd.pressure)
    np.testing.assert_allclose(local(vpd).mean(1), dd["vpd"].values[1:], rtol=1e-9, atol=1e-9)
    # t_mean only (as SMEAR II): the clearness-based diurnal range still tracks the tower hours
    fm = disaggregate_daily(dd.drop_vars(["t_min", "t_max"]), co2_ppm=397.34)
    r_t = np.corrcoef(hh.t_air.ravel(), fm.t_air.ravel())[0, 1]
    print(f"FR-Pue 2014 hourly r of T from t_mean only: {r_t:.4f}")
    assert r_t >= 0.95


def test_pue_model_year_gpp_et(pue):
    """One TmEv tile, fraction 1, no spin-up: annual GPP and ET within 10 % with either forcing."""
    _, _, hh, fd = pue
    pft = M.PFT_NAMES.index("TmEv")
    tp = M.stack_tiles([M.default_tile_params(pft)])
    pools = M.stack_tiles([M.default_pools(pft)])
    site, gp = M.default_site(*PUE), M.default_global_params()
    run = jax.jit(M.run_pixel, static_argnames="options")  # one compile: both forcings are (365, 24)
    totals = {}
    for name, f in (("tower", hh), ("disaggregated", fd)):
        daily_out = run(tp, gp, pools, np.array([1.0]), f, site, pfts=np.array([pft])).daily
        gpp = float(np.sum(daily_out["gpp"]))
        et = float(sum(np.sum(daily_out[k]) for k in ET_PARTS))
        totals[name] = (gpp, et)
    (g0, e0), (g1, e1) = totals["tower"], totals["disaggregated"]
    print(
        f"FR-Pue 2014 annual GPP {g0:.1f} vs {g1:.1f} gC m-2 ({100 * (g1 / g0 - 1):+.2f} %), "
        f"ET {e0:.1f} vs {e1:.1f} mm ({100 * (e1 / e0 - 1):+.2f} %)"
    )
    assert 300.0 < g0 < 2000.0 and 200.0 < e0 < 1200.0  # a productive Mediterranean forest, not a zero run
    assert abs(g1 / g0 - 1.0) < 0.10 and abs(e1 / e0 - 1.0) < 0.10


def test_disaggregate_local_days_west_of_greenwich():
    """US-Var-like (38.4 N 120.95 W, UTC−8): each local day's values are spread over its own UTC hours."""
    ds = daily(lat=38.41, lon=-120.95)
    ds.attrs["utc_offset_h"] = -8.0
    f = disaggregate_daily(ds, precip_shape="event")
    flat = {k: getattr(f, k).ravel() for k in ("sw_down", "t_air", "precip", "lw_down")}
    hours = local_day_hours(8, -8.0)
    assert hours[0, 0] == 8  # local day 0 = 08 UTC … 07 UTC next day
    for k in range(7):  # the last local day ends 8 h after the last UTC day
        sl = slice(24 * k + 8, 24 * k + 32)
        assert flat["sw_down"][sl].mean() == pytest.approx(ds["sw_down"].values[k], rel=1e-12)
        assert flat["t_air"][sl].mean() == pytest.approx(ds["t_mean"].values[k], rel=1e-12)
        assert flat["lw_down"][sl].mean() == pytest.approx(ds["lw_down"].values[k], rel=1e-12)
        assert flat["precip"][sl].sum() == pytest.approx(ds["precip"].values[k], rel=1e-12, abs=1e-12)
    # solar noon ≈ 20:04 UTC; the event rain is centred on 15 h local solar time ≈ 23 UTC
    assert np.all(np.isin(np.argmax(f.sw_down, 1), [19, 20]))
    wet = np.flatnonzero(ds["precip"].values[:7] > 0)
    assert np.all(flat["precip"][24 * wet + 23] > 0)
    with pytest.raises(SchemaMismatchError, match=r"\[utc_offset_h\]"):
        disaggregate_daily(ds.assign_attrs(utc_offset_h=np.nan))
    # UTC+1: 00 UTC is local hour 1; the last UTC hour (local 00 of the next day) repeats the last day's
    np.testing.assert_array_equal(
        to_utc_days(np.arange(48.0).reshape(2, 24), 1.0).ravel()[[0, 46, 47]], [1, 47, 24]
    )
