"""Known-answer tests of the site skill scores, the coverage-aware resampling and the skill table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tccas.site import metrics


def _daily(start: str, end: str, **variables) -> xr.Dataset:
    time = pd.date_range(start, end, freq="D")
    data = {}
    for name, (values, units) in variables.items():
        v = np.broadcast_to(np.asarray(values, dtype=np.float64), time.shape).copy()
        data[name] = ("time", v, {"units": units})
    return xr.Dataset(data, coords={"time": time}, attrs={"site": "XX-Syn", "run": "prior"})


def test_skill_known_answers():
    o = np.array([1.0, 2.0, 3.0, 4.0])
    s = metrics.skill(o + 1.0, o)
    # Σ(m−o)² = 4, Σ(o−ō)² = 5 → NSE = 1 − 4/5
    assert s == pytest.approx({"nse": 0.2, "r": 1.0, "rmse": 1.0, "bias": 1.0, "n": 4})
    assert metrics.skill(o, o) == pytest.approx({"nse": 1.0, "r": 1.0, "rmse": 0.0, "bias": 0.0, "n": 4})
    # the observed mean scores NSE = 0 exactly; a mirrored series r = −1
    assert metrics.skill(np.full(4, 2.5), o)["nse"] == 0.0
    m = np.array([4.0, 3.0, 2.0, 1.0])
    s = metrics.skill(m, o)
    assert s["r"] == pytest.approx(-1.0)
    assert s["nse"] == pytest.approx(1.0 - 20.0 / 5.0)  # Σ(m−o)² = 9+1+1+9
    assert s["rmse"] == pytest.approx(np.sqrt(5.0))


def test_skill_uses_jointly_finite_days_only():
    o = np.array([1.0, np.nan, 3.0, 4.0, 2.0])
    m = np.array([2.0, 100.0, 4.0, np.nan, 3.0])
    s = metrics.skill(m, o)  # days 0, 2, 4: o = 1, 3, 2, m = o + 1
    assert s["n"] == 3
    assert s["bias"] == pytest.approx(1.0)
    assert s["nse"] == pytest.approx(1.0 - 3.0 / 2.0)


def test_skill_undefined_scores_are_nan():
    s = metrics.skill([np.nan, 1.0], [1.0, np.nan])
    assert s["n"] == 0 and all(np.isnan(s[k]) for k in ("nse", "r", "rmse", "bias"))
    s = metrics.skill([1.0, 2.0], [3.0, 3.0])  # constant observation: no NSE, no r
    assert np.isnan(s["nse"]) and np.isnan(s["r"]) and s["bias"] == pytest.approx(-1.5)
    with pytest.raises(ValueError, match="shape"):
        metrics.skill([1.0, 2.0], [1.0])


def test_resample_monthly_means_and_coverage():
    ds = _daily("2001-01-01", "2001-12-31", gpp=(0.0, "gC m-2 d-1"))
    time = pd.DatetimeIndex(ds.time.values)
    ds["gpp"][:] = time.month.to_numpy(np.float64)
    ds["gpp"][time.month == 3] = np.where(time.day[time.month == 3] % 2 == 0, 7.0, 3.0)  # mean 3 + 15·4/31
    gaps = (time.month == 5) & (time.day > 15)  # 15 of 31 days valid < 50 %
    ds["gpp"][gaps] = np.nan
    ds["gpp"][(time.month == 6) & (time.day > 15)] = np.nan  # 15 of 30 days = 50 %: kept
    m = metrics.resample(ds, "monthly")
    assert m.time.size == 12
    assert m["gpp"].attrs["units"] == "gC m-2 d-1"
    expected = np.arange(1.0, 13.0)
    expected[2] = 3.0 + 4.0 * 15.0 / 31.0
    expected[4] = np.nan
    np.testing.assert_allclose(m["gpp"].values, expected)
    assert pd.Timestamp(m.time.values[5]) == pd.Timestamp("2001-06-01")
    # a stricter threshold drops June too
    assert np.isnan(metrics.resample(ds, "monthly", min_coverage=0.6)["gpp"].values[5])


def test_resample_annual_totals_and_means():
    ds = _daily("2003-01-01", "2005-12-31", gpp=(2.0, "gC m-2 d-1"), et=(1.5, "mm d-1"), le=(40.0, "W m-2"))
    rng = np.random.default_rng(5)
    time = pd.DatetimeIndex(ds.time.values)
    drop = rng.random(time.size) < 0.1  # ~10 % random gaps: the scaled total is unchanged
    ds["gpp"][drop] = np.nan
    ds["et"][(time.year == 2005) & (time.month <= 3)] = np.nan  # 90 of 365 days missing > 20 %
    a = metrics.resample(ds, "annual")
    np.testing.assert_allclose(a["gpp"].values, [730.0, 732.0, 730.0])  # 2004 is a leap year
    np.testing.assert_allclose(a["et"].values, [547.5, 549.0, np.nan])
    np.testing.assert_allclose(a["le"].values, [40.0, 40.0, 40.0])  # not a per-day rate: a mean
    assert a["gpp"].attrs["units"] == "gC m-2 yr-1"
    assert a["et"].attrs["units"] == "mm yr-1"
    assert a["le"].attrs["units"] == "W m-2"
    # a record starting mid-year: its first year lacks coverage
    part = metrics.resample(ds.sel(time=slice("2003-07-01", None)), "annual")
    assert np.isnan(part["gpp"].values[0]) and part["gpp"].values[1] == pytest.approx(732.0)


def test_resample_rejects_bad_input():
    ds = _daily("2001-01-01", "2001-01-10", gpp=(1.0, "gC m-2 d-1"))
    with pytest.raises(ValueError, match="scale"):
        metrics.resample(ds, "weekly")
    with pytest.raises(ValueError, match="min_coverage"):
        metrics.resample(ds, "monthly", min_coverage=0.0)
    shuffled = ds.isel(time=[1, 0, 2])
    with pytest.raises(ValueError, match="increasing"):
        metrics.resample(shuffled, "monthly")
    assert metrics.resample(ds, "daily") is ds


def _synthetic_pair():
    """Three years of daily GPP/LE: the tower a seasonal cycle, the model +1 in 2001 and exact after."""
    obs = _daily("2001-01-01", "2003-12-31", gpp=(0.0, "gC m-2 d-1"), le=(0.0, "W m-2"))
    time = pd.DatetimeIndex(obs.time.values)
    doy = time.day_of_year.to_numpy(np.float64)
    obs["gpp"][:] = 3.0 + 2.0 * np.sin(2.0 * np.pi * (doy - 80.0) / 365.0)
    obs["le"][:] = 50.0 + 30.0 * np.sin(2.0 * np.pi * (doy - 80.0) / 365.0)
    run = obs.copy(deep=True)
    run["gpp"][time.year == 2001] += 1.0
    run["le"][:] = obs["le"].values * 0.5 + 25.0
    return run, obs, time


def test_skill_table_known_answers():
    run, obs, time = _synthetic_pair()
    periods = {"calibration": ("2001-01-01", "2001-12-31"), "validation": ("2002-01-01", "2003-12-31")}
    t = metrics.skill_table(run, obs, periods=periods)
    assert list(t.columns) == list(metrics.COLUMNS)
    assert len(t) == 2 * 2 * 3  # variables × periods × scales
    assert set(t["site"]) == {"XX-Syn"} and set(t["run"]) == {"prior"}
    g = t.set_index(["variable", "period", "scale"])
    cal = g.loc[("gpp", "calibration", "daily")]
    assert cal["bias"] == pytest.approx(1.0) and cal["rmse"] == pytest.approx(1.0) and cal["n"] == 365
    o = obs["gpp"].values[time.year == 2001]
    assert cal["nse"] == pytest.approx(1.0 - 365.0 / np.sum((o - o.mean()) ** 2))
    assert cal["annual_obs"] == pytest.approx(np.sum(o))
    assert cal["annual_model"] == pytest.approx(np.sum(o) + 365.0)
    val = g.loc[("gpp", "validation", "monthly")]
    assert val["nse"] == pytest.approx(1.0) and val["bias"] == pytest.approx(0.0, abs=1e-12)
    assert val["n"] == 24
    assert g.loc[("gpp", "validation", "annual"), "n"] == 2
    le = g.loc[("le", "validation", "daily")]
    assert le["r"] == pytest.approx(1.0)
    assert le["annual_obs"] == pytest.approx(np.mean(obs["le"].values[time.year >= 2002]))


def test_skill_table_samples_the_model_like_the_tower():
    run, obs, time = _synthetic_pair()
    gaps = (time.day % 3 == 0) | (time.month == 7)
    obs["gpp"][gaps] = np.nan
    run["gpp"][gaps] = 1e6  # model values on days without a tower value never count
    t = metrics.skill_table(run, obs, periods={"validation": ("2002-01-01", "2003-12-31")}, variables=["gpp"])
    g = t.set_index("scale")
    assert g.loc["monthly", "nse"] == pytest.approx(1.0)
    assert g.loc["monthly", "n"] == 22  # July has no tower day
    assert g.loc["daily", "n"] == int((~gaps & (time.year >= 2002)).sum())
    # about two thirds of each year observed: below the 80 % needed for an annual value
    assert g.loc["annual", "n"] == 0 and np.isnan(g.loc["annual", "annual_obs"])
    loose = metrics.skill_table(
        run, obs, periods={"v": ("2002-01-01", "2003-12-31")}, variables=["gpp"], min_coverage={"annual": 0.5}
    )
    row = loose.set_index("scale").loc["annual"]
    assert row["n"] == 2 and row["annual_model"] == pytest.approx(row["annual_obs"])


def test_skill_table_defaults_and_errors():
    run, obs, _ = _synthetic_pair()
    obs = obs.drop_vars("le")
    t = metrics.skill_table(run, obs, site="FR-Pue", run_name="posterior", scales=("daily",))
    assert list(t["variable"]) == ["gpp"] and list(t["period"]) == ["all"]
    assert list(t["site"]) == ["FR-Pue"] and list(t["run"]) == ["posterior"]
    assert t["n"].iloc[0] == 3 * 365
    with pytest.raises(KeyError, match="le"):
        metrics.skill_table(run, obs, variables=["le"])
    with pytest.raises(ValueError, match="scale"):
        metrics.skill_table(run, obs, scales=("hourly",))
