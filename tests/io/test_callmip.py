"""CalLMIP Phase 1b writer: file name, layout, CMIP names/units, unit conversions, attributes, atomicity."""

from __future__ import annotations

import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import tccas
from tccas.io import callmip
from tccas.io.errors import CorruptFileError, MissingFieldError

# run value per variable [tccas units] → expected CalLMIP variable value [protocol units]
_RUN = {
    "gpp": 8.64,  # gC m-2 d-1 → 1e-7 kgC m-2 s-1
    "nee": 1.728,
    "reco": 6.912,
    "ra": 4.32,
    "rh": 2.592,
    "le": 55.0,
    "h": 33.0,
    "transpiration": 0.864,  # mm d-1 → 1e-5 kg m-2 s-1
    "evap_soil": 0.432,
    "sublimation": 0.0864,
    "evap_interception": 0.1728,
    "et": 1.5552,
    "lai": 2.5,
    "c_lab": 100.0,
    "c_fol": 200.0,
    "c_roo": 300.0,
    "c_woo": 5000.0,
    "c_lit": 400.0,
    "c_som": 9000.0,
    "w_root": 150.0,
    "w_surface": 12.0,
}
_EXPECTED = {
    "nep": -2e-8,
    "gpp": 1e-7,
    "reco": 8e-8,
    "ra": 5e-8,
    "rh": 3e-8,
    "hfls": 55.0,
    "hfss": 33.0,
    "tran": 1e-5,
    "evspsblsoi": 6e-6,
    "evspsblveg": 2e-6,
    "evspsbl": 1.8e-5,
    "lai": 2.5,
    "cVeg": 5.6,
    "cLiveBioAbove": 0.2 + 5.0 / 1.26,
    "cLitter": 0.4,
    "cSoil": 9.0,
    "mrso": 162.0,
    "mrsos": 12.0,
}
# protocol Table 3: units written exactly as shown
_TABLE3_UNITS = {
    "nep": "kgC m-2 s-1",
    "hfls": "W m-2",
    "hfss": "W m-2",
    "gpp": "kgC m-2 s-1",
    "reco": "kgC m-2 s-1",
    "tran": "kg m-2 s-1",
    "evspsblsoi": "kg m-2 s-1",
    "lai": "1",
    "cLiveBioAbove": "kg m-2",
    "cSoil": "kg m-2",
    "mrso": "kg m-2",
    "mrsos": "kg m-2",
}


def _run(time, run="posterior", sigma=True) -> xr.Dataset:
    ramp = 1.0 + np.arange(time.size) / 1000.0  # day-dependent, to catch misordered days
    data = {k: ("time", v * ramp, {"units": callmip.RUN_UNITS[k]}) for k, v in _RUN.items()}
    ds = xr.Dataset(
        data,
        coords={"time": time},
        attrs={"site": "FR-Pue", "lat": 43.7414, "lon": 3.5958, "elevation": 270.0, "pft": "EBF", "run": run},
    )
    if sigma:
        for k, s in (("nee", 0.864), ("le", 7.0), ("c_woo", 50.0), ("evap_soil", 0.0864)):
            ds[f"{k}_sigma"] = ("time", np.full(time.size, s), {"units": callmip.RUN_UNITS[k]})
    return ds


@pytest.fixture
def time():
    return pd.date_range("2004-01-01", "2005-12-31", freq="D")  # 731 days with 2004-02-29


def test_file_name_and_version_token():
    assert callmip.version_token("0.1.0") == "v0-1-0"
    assert callmip.version_token("v2") == "v2"
    name = callmip.callmip_filename("CLASSIC", "v2", 1, "DK-Sor", "Cal", "Prior")
    assert name == "CLASSIC.v2_Phase1b_Scen1_DK-Sor_Cal_Prior.nc"  # the protocol's template file name
    for bad in (
        dict(model="tc.cas"),
        dict(site="FR_Pue"),
        dict(period="Calibration"),
        dict(kind="prior"),
        dict(scenario=0),
        dict(version="1.0 beta"),
    ):
        args = dict(model="tccas", version="0.1.0", scenario=1, site="FR-Pue", period="Val", kind="Posterior")
        args.update(bad)
        with pytest.raises(ValueError):
            callmip.callmip_filename(**args)


def test_written_file_layout_units_values_and_attributes(tmp_path, time):
    path = callmip.write_callmip(
        tmp_path, _run(time), scenario=2, site="FR-Pue", period="Val", kind="Posterior"
    )
    assert path.name == f"tccas.v{tccas.__version__.replace('.', '-')}_Phase1b_Scen2_FR-Pue_Val_Posterior.nc"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left
    with netCDF4.Dataset(path) as nc:
        assert nc.file_format == "NETCDF3_CLASSIC"
        assert {k: len(d) for k, d in nc.dimensions.items()} == {"time": 731, "lat": 1, "lon": 1, "bnds": 2}
        # protocol §6.2: lat/lon scalar variables, data (time, lat, lon)
        assert nc["lat"].dimensions == () and float(nc["lat"][...]) == pytest.approx(43.7414)
        assert nc["lon"].dimensions == () and float(nc["lon"][...]) == pytest.approx(3.5958)
        assert nc["lat"].units == "degrees_north" and nc["lon"].units == "degrees_east"
        assert nc["latitude"].dimensions == ("lat",) and nc["longitude"].dimensions == ("lon",)
        t = nc["time"]
        assert t.units == "days since 2004-01-01 00:00:00" and t.calendar == "standard"
        np.testing.assert_array_equal(t[:], np.arange(731) + 0.5)
        np.testing.assert_array_equal(nc["time_bnds"][-1], [730.0, 731.0])
        ramp = 1.0 + np.arange(731) / 1000.0
        for name, value in _EXPECTED.items():
            var = nc[name]
            assert var.dimensions == ("time", "lat", "lon"), name
            assert var.dtype == np.float64
            assert var.coordinates == "latitude longitude"
            np.testing.assert_allclose(var[:, 0, 0], value * ramp, rtol=1e-12, err_msg=name)
        for name, units in _TABLE3_UNITS.items():
            assert nc[name].units == units, name
        assert nc["nep"].standard_name.startswith("surface_net_downward_mass_flux_of_carbon_dioxide")
        assert nc["cLiveBioAbove"].comment.startswith("cLeaf + cStem = C_fol + 0.7937 C_woo")
        # posterior σ of the single-variable maps only, converted like the values
        np.testing.assert_allclose(nc["nep_post_unc"][:, 0, 0], 1e-8, rtol=1e-12)
        np.testing.assert_allclose(nc["hfls_post_unc"][:, 0, 0], 7.0)
        assert nc["nep_post_unc"].units == "kgC m-2 s-1"
        post = sorted(v for v in nc.variables if v.endswith("_post_unc"))
        assert post == ["hfls_post_unc", "nep_post_unc"]  # c_woo, evap_soil only enter sums
        a = {k: nc.getncattr(k) for k in nc.ncattrs()}
    assert a["Model"] == f"tccas.v{tccas.__version__.replace('.', '-')}"
    assert a["CalLMIP_Phase"] == "Phase1b"
    assert a["Calibration_Scenario"] == "Scen2"
    assert a["Calibration_stage"] == "Posterior"
    assert a["Cal_Val"] == "Validation"
    assert a["site"] == "FR-Pue" and a["pft"] == "EBF" and a["tccas_version"] == tccas.__version__
    assert a["period"] == "2004-01-01 to 2005-12-31" and a["experiment"] == "CalLMIP Phase1b Validation"
    for key in ("contact", "institution", "creation_date", "history", "Conventions", "source"):
        assert a[key], key
    assert "write_callmip" in a["history"]


def test_read_back_with_xarray_and_fill_values(tmp_path, time):
    run = _run(time, run="prior", sigma=False).assign_attrs(pft=["EBF", "C3 grass"])
    run["gpp"][10] = np.nan
    path = callmip.write_callmip(tmp_path, run, scenario=1, site="FR-Pue", period="Cal", kind="Prior")
    ds = callmip.read_callmip(path)
    assert pd.Timestamp(ds.time.values[59]) == pd.Timestamp("2004-02-29T12:00")
    assert ds["gpp"].dims == ("time", "lat", "lon")
    assert np.isnan(ds["gpp"].values[10, 0, 0]) and ds["gpp"].values[11, 0, 0] > 0
    assert float(ds["latitude"][0]) == pytest.approx(43.7414)
    assert ds.attrs["pft"] == "EBF, C3 grass"
    assert not [v for v in ds.data_vars if v.endswith("_post_unc")]
    with netCDF4.Dataset(path) as nc:
        assert nc["gpp"]._FillValue == 1e20 and np.ma.is_masked(nc["gpp"][10, 0, 0])


def test_bad_runs_are_rejected_and_leave_nothing(tmp_path, time):
    kw = dict(scenario=1, site="FR-Pue", period="Cal", kind="Posterior")
    gap = _run(time).drop_sel(time=[pd.Timestamp("2004-02-29")])
    with pytest.raises(ValueError, match="every day"):
        callmip.write_callmip(tmp_path, gap, **kw)
    wrong = _run(time)
    wrong["gpp"].attrs["units"] = "kgC m-2 s-1"
    with pytest.raises(ValueError, match="'gpp' has units"):
        callmip.write_callmip(tmp_path, wrong, **kw)
    with pytest.raises(ValueError, match=r"lacks the variables \['w_surface'\]"):
        callmip.write_callmip(tmp_path, _run(time).drop_vars("w_surface"), **kw)
    with pytest.raises(ValueError, match="cannot hold the 'prior' run"):
        callmip.write_callmip(tmp_path, _run(time, run="prior"), **kw)
    with pytest.raises(ValueError, match="differs from the run's site"):
        callmip.write_callmip(tmp_path, _run(time), **{**kw, "site": "NL-Loo"})
    no_lat = _run(time)
    del no_lat.attrs["lat"]
    with pytest.raises(ValueError, match="'lat' attribute"):
        callmip.write_callmip(tmp_path, no_lat, **kw)
    with pytest.raises(ValueError, match="'lon' attribute"):
        callmip.write_callmip(tmp_path, _run(time).assign_attrs(lon=None), **kw)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_is_atomic(tmp_path, time, monkeypatch):
    kw = dict(scenario=1, site="FR-Pue", period="Cal", kind="Posterior")
    good = callmip.write_callmip(tmp_path, _run(time), **kw)
    before = good.read_bytes()

    def broken(nc, fields):
        nc.createVariable("nep", "f8", ("time", "lat", "lon"))
        raise OSError("disk full")

    monkeypatch.setattr(callmip, "_write_variables", broken)
    with pytest.raises(OSError, match="disk full"):
        callmip.write_callmip(tmp_path, _run(time), **kw)
    assert [p.name for p in tmp_path.iterdir()] == [good.name]  # old file kept, no partial sibling
    assert good.read_bytes() == before
    with pytest.raises(OSError, match="disk full"):
        callmip.write_callmip(tmp_path / "new", _run(time), **kw)
    assert list((tmp_path / "new").iterdir()) == []


def test_read_callmip_errors(tmp_path, time, truncate):
    with pytest.raises(CorruptFileError, match="does not exist"):
        callmip.read_callmip(tmp_path / "absent.nc")
    path = callmip.write_callmip(
        tmp_path, _run(time), scenario=1, site="FR-Pue", period="Cal", kind="Posterior"
    )
    with netCDF4.Dataset(path, "a") as nc:
        nc.delncattr("Cal_Val")
    with pytest.raises(MissingFieldError, match="Cal_Val"):
        callmip.read_callmip(path)
    for keep in (0.02, 0.3, 0.9, 0.999):  # netCDF-C would read zeros past the end of a cut classic file
        fresh = callmip.write_callmip(
            tmp_path / f"cut{keep}", _run(time), scenario=1, site="FR-Pue", period="Cal", kind="Posterior"
        )
        with pytest.raises(CorruptFileError, match="not a readable NetCDF file"):
            callmip.read_callmip(truncate(fresh, keep))


def test_time_axis_matches_the_callmip_observation_file(tmp_path, real_data_dir):
    """Protocol §6.2: the output has as many days as the site's Phase 1b flux file, leap days included."""
    obs_file = real_data_dir / "callmip" / "NL-Loo_daily_aggregated_1997-2013_FLUXNET2015_Flux.nc"
    with xr.open_dataset(obs_file) as obs:
        days = pd.DatetimeIndex(obs.time.values).normalize()
    run = _run(days, sigma=False).assign_attrs(site="NL-Loo")
    path = callmip.write_callmip(tmp_path, run, scenario=1, site="NL-Loo", period="Cal", kind="Posterior")
    ds = callmip.read_callmip(path)
    assert ds.time.size == days.size == 6209
    np.testing.assert_array_equal(pd.DatetimeIndex(ds.time.values).normalize(), days)
