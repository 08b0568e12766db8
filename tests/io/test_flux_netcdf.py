"""CalLMIP Phase 1b daily flux files and CARDAMOM/DifferLand driver files (both NetCDF)."""

from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from tccas.io.errors import (
    CorruptFileError,
    ImplausibleValueError,
    MissingFieldError,
    ProductError,
    SchemaMismatchError,
)
from tccas.io.flux import aggregate_daily, read_callmip_flux, read_cardamom_drivers, read_fluxnet

CALLMIP_PUE = "FR-Pue_daily_aggregated_2000-2014_FLUXNET2015_Flux.nc"
DIFFERLAND = ("DE-Hai", "FI-Hyy", "FR-Pue", "NL-Loo", "RU-Fyo", "US-SRG", "US-Var")


def _copy(src, dst, *, drop_var=None, drop_attr=None, scale=None):
    """Copy a NetCDF file, leaving out one variable and/or one global attribute; ``scale = (name, factor)``
    multiplies one variable (a unit mistake)."""
    dst.parent.mkdir(exist_ok=True)
    with netCDF4.Dataset(src) as a, netCDF4.Dataset(dst, "w", format=a.data_model) as b:
        b.setncatts({k: a.getncattr(k) for k in a.ncattrs() if k != drop_attr})
        for name, dim in a.dimensions.items():
            b.createDimension(name, len(dim))
        for name, var in a.variables.items():
            if name == drop_var:
                continue
            fill = var.getncattr("_FillValue") if "_FillValue" in var.ncattrs() else None
            out = b.createVariable(name, var.dtype, var.dimensions, fill_value=fill)
            out.setncatts({k: var.getncattr(k) for k in var.ncattrs() if k != "_FillValue"})
            var.set_auto_maskandscale(False)
            out.set_auto_maskandscale(False)
            data = var[...]
            if scale and scale[0] == name:
                data = np.where(data == fill, data, data * scale[1])
            out[...] = data
    return dst


def test_real_callmip_fr_pue(real_data_dir):
    ds = read_callmip_flux(real_data_dir / "callmip" / CALLMIP_PUE)
    assert ds.sizes["time"] == 5479 and ds.attrs["resolution"] == "DD"
    assert ds.time.values[0] == np.datetime64("2000-01-01") and ds.time.values[-1] == np.datetime64(
        "2014-12-31"
    )
    assert ds.attrs["site"] == "FR-Pue" and ds.attrs["lat"] == pytest.approx(43.74139)
    assert ds.attrs["elevation"] == 270.0 and ds.attrs["reader"] == "tccas.io.flux.read_callmip_flux"
    assert set(ds.data_vars) == {"nee", "nee_unc", "le", "le_unc", "h", "h_unc"}
    assert ds.nee.attrs["units"] == "gC m-2 d-1" and ds.le_unc.attrs["units"] == "W m-2"
    assert all(v.dtype == np.float64 for v in ds.data_vars.values())
    # days with > 25 % gap-filling are NaN (values counted on the file)
    assert int(np.isnan(ds.nee).sum()) == 4473 and int(np.isnan(ds.le).sum()) == 3274
    assert float(ds.nee.mean()) == pytest.approx(-0.902, abs=1e-3)  # a sink, NEE positive = source
    assert float(ds.le.mean()) == pytest.approx(28.92, abs=0.01)
    assert np.all(ds.nee_unc.values[np.isfinite(ds.nee.values)] > 0)


def test_callmip_agrees_with_the_aggregated_half_hours(real_data_dir):
    """Two readers, one tower-year: aggregate_daily(HH) reproduces the CalLMIP daily NEE of FR-Pue 2014."""
    hh = aggregate_daily(read_fluxnet(real_data_dir / "FR-Pue_2014_FLUXNET2015_FULLSET_HH_subset.csv"))
    cm = read_callmip_flux(real_data_dir / "callmip" / CALLMIP_PUE).sel(
        time=slice("2014-01-01", "2014-12-31")
    )
    assert np.array_equal(cm.time.values, hh.time.values)
    a, b = cm.nee.values, hh.nee.values
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() == 65
    assert np.corrcoef(a[ok], b[ok])[0, 1] > 0.999 and np.max(np.abs(a[ok] - b[ok])) < 0.15
    # root-sum-square of the half-hourly joint uncertainty = sqrt(Σσ²)/n of the rates
    ratio = cm.nee_unc.values[ok] / hh.nee_unc.values[ok]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.01)


def test_bad_callmip_files(tmp_path, real_data_dir, truncate):
    src = real_data_dir / "callmip" / CALLMIP_PUE
    cut = tmp_path / "cut" / CALLMIP_PUE
    cut.parent.mkdir()
    cut.write_bytes(src.read_bytes())
    with pytest.raises(ProductError, match=r"FR-Pue_daily.*truncated"):
        read_callmip_flux(truncate(cut))
    no_nee = _copy(src, tmp_path / CALLMIP_PUE, drop_var="NEE_daily")
    with pytest.raises(MissingFieldError, match=r"FR-Pue_daily.*\[NEE_daily\]") as err:
        read_callmip_flux(no_nee)
    assert err.value.field == "NEE_daily"
    renamed = tmp_path / "US-SRG_daily_aggregated_2009-2014_FLUXNET2015_Flux.nc"
    _copy(src, renamed, drop_attr="site_code")
    assert read_callmip_flux(renamed).attrs["site"] == "US-SRG"  # site id from the file name
    in_kj = _copy(src, tmp_path / "in_kj" / CALLMIP_PUE, scale=("Qle_daily", 86.4))  # kJ m-2 d-1
    with pytest.raises(ImplausibleValueError, match=r"\[Qle_daily\].*plausible range"):
        read_callmip_flux(in_kj)
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"CDF\x02" + bytes(range(256)) * 8)
    with pytest.raises(CorruptFileError, match=r"junk\.nc"):
        read_callmip_flux(junk)


def test_real_cardamom_nl_loo_and_its_fills(real_data_dir):
    ds = read_cardamom_drivers(real_data_dir / "differland" / "NL-Loo.nc")
    assert ds.sizes["time"] == 3287 and ds.attrs["site"] == "NL-Loo" and ds.attrs["resolution"] == "DD"
    assert ds.time.values[0] == np.datetime64("2002-01-01") and ds.time.values[-1] == np.datetime64(
        "2010-12-31"
    )
    for name, var in ds.data_vars.items():
        assert var.attrs["units"] and var.attrs["long_name"], name
    with netCDF4.Dataset(real_data_dir / "differland" / "NL-Loo.nc") as nc:
        tmin, tmax = nc["T2M_MIN"][:].data, nc["T2M_MAX"][:].data
        ssrd, pa = nc["SSRD"][:].data, nc["PA"][:].data
    assert np.array_equal(ds.t_mean.values, 0.5 * (tmin + tmax))
    assert float(ds.sw_down[0]) == pytest.approx(ssrd[0] * 1e6 / 86400)
    assert float(ds.pressure[0]) == pytest.approx(pa[0] * 1000) and ds.vpd.attrs["units"] == "Pa"
    # README quirks: PA = 101.325 kPa fill on 2003-02-06 and 2004-11-03, SSRD = 0 on 2004-12-08/09
    filled = ds.time.values[ds.pressure_qc.values == 0].astype("datetime64[D]")
    assert list(filled.astype(str)) == ["2003-02-06", "2004-11-03"]
    k = int(np.nonzero(ds.time.values == np.datetime64("2003-02-06"))[0][0])
    assert float(ds.pressure[k]) == pytest.approx(0.5 * (pa[k - 1] + pa[k + 1]) * 1000)
    dark = ds.time.values[ds.sw_down_qc.values == 0].astype("datetime64[D]")
    assert list(dark.astype(str)) == ["2004-12-08", "2004-12-09"]
    k = int(np.nonzero(ds.time.values == np.datetime64("2004-12-08"))[0][0])
    expect = (ssrd[k - 1] + (ssrd[k + 2] - ssrd[k - 1]) / 3) * 1e6 / 86400
    assert float(ds.sw_down[k]) == pytest.approx(expect) and float(ds.sw_down.min()) > 0
    assert float(ds.co2_local.max()) > 540  # the local tower series (README); kept under its own name
    assert ds.nee.attrs["units"] == "gC m-2 d-1" and ds.et.attrs["units"] == "mm d-1"
    assert 0.02 < float(ds.swc.min()) and float(ds.swc.max()) < 0.2  # % → m3 m-3 (sandy soil)


def test_all_differland_drivers_read(real_data_dir):
    for site in DIFFERLAND:
        ds = read_cardamom_drivers(real_data_dir / "differland" / f"{site}.nc")
        assert ds.attrs["site"] == site and ds.sizes["time"] in (3287, 3288)
        assert np.all(np.diff(ds.time.values) == np.timedelta64(1, "D"))
        assert np.all(np.isfinite(ds.pressure)) and np.all(ds.sw_down > 0)
        assert 40000 < float(ds.pressure.min()) and float(ds.pressure.max()) < 110000
        assert np.all(ds.t_min <= ds.t_max)
        if "swc" in ds:  # -9999 fills (RU-Fyo, US-SRG) are missing, never negative
            assert not np.any(ds.swc < 0)
    us_srg = read_cardamom_drivers(real_data_dir / "differland" / "US-SRG.nc")
    assert us_srg.time.values[0] == np.datetime64("2008-01-01")
    assert 85000 < float(us_srg.pressure.mean()) < 90000  # 1291 m a.s.l.


def test_bad_cardamom_files(tmp_path, real_data_dir, truncate):
    src = real_data_dir / "differland" / "NL-Loo.nc"
    cut = tmp_path / "cut" / "NL-Loo.nc"
    cut.parent.mkdir()
    cut.write_bytes(src.read_bytes())
    with pytest.raises(CorruptFileError, match=r"NL-Loo.nc.*cannot be opened"):
        read_cardamom_drivers(truncate(cut))
    no_tmin = _copy(src, tmp_path / "NL-Loo.nc", drop_var="T2M_MIN")
    with pytest.raises(MissingFieldError, match=r"NL-Loo.nc \[T2M_MIN\]"):
        read_cardamom_drivers(no_tmin)
    wrong_site = _copy(src, tmp_path / "FI-Hyy.nc")
    with pytest.raises(SchemaMismatchError, match=r"\[LAT\].*wrong file name"):
        read_cardamom_drivers(wrong_site)
    in_pa = _copy(src, tmp_path / "in_pa" / "NL-Loo.nc", scale=("PA", 1000.0))  # Pa under a kPa label
    with pytest.raises(ImplausibleValueError, match=r"NL-Loo.nc \[PA\].*plausible range"):
        read_cardamom_drivers(in_pa)
    junk = tmp_path / "DE-Hai.nc"
    junk.write_text("this is not a NetCDF file\n")
    with pytest.raises(CorruptFileError, match=r"DE-Hai\.nc"):
        read_cardamom_drivers(junk)
