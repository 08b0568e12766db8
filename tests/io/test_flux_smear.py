from __future__ import annotations

import numpy as np
import pytest

from tccas.io.errors import CorruptFileError, ImplausibleValueError, SchemaMismatchError
from tccas.io.flux import read_cardamom_drivers, read_smear_daily

HYDE = "HydeDaily2000-2010.txt"


@pytest.fixture(scope="module")
def hyde(real_data_dir):
    return read_smear_daily(real_data_dir / HYDE)


def test_real_hyde_daily(hyde):
    ds = hyde
    assert ds.sizes["time"] == 4018 and ds.attrs["site"] == "FI-Hyy" and ds.attrs["resolution"] == "DD"
    assert ds.time.values[0] == np.datetime64("2000-01-01") and ds.time.values[-1] == np.datetime64(
        "2010-12-31"
    )
    for name, var in ds.data_vars.items():
        assert var.attrs["units"] and var.attrs["long_name"], name
    first = ds.isel(time=0)
    # first row of the file: NEE 0.792, TER 0.754, Tair -9.328, VPD 0.010 kPa, pressure 999.387 hPa
    assert float(first.nee) == 0.792 and float(first.reco) == 0.754 and float(first.t_mean) == -9.328
    assert float(first.vpd) == pytest.approx(10.0) and float(first.pressure) == pytest.approx(99938.7)
    assert float(first.nee_qc) == pytest.approx(1 - 0.878) and float(first.par) == 4.573
    assert 95000 < float(ds.pressure.mean()) < 100500  # column 21 is hPa, not kPa
    # boreal Scots pine: annual GPP ~1000 gC m-2 yr-1, a net sink (NEE positive = source)
    annual_gpp = float(ds.gpp.mean()) * 365.25
    assert 900 < annual_gpp < 1200 and float(ds.nee.mean()) < 0
    assert float(ds.nee_qc.min()) >= 0 and float(ds.nee_qc.max()) <= 1  # flags > 1 in 2007 are clipped
    # precipitation: SMEAR II gauge, its 76 missing days from the FMI station
    assert int(np.isfinite(ds.precip).sum()) == 4018 and int((ds.precip_qc == 0).sum()) == 76
    assert 600 < float(ds.precip.mean()) * 365.25 < 800
    assert float(ds.sw_down[0]) == pytest.approx(4.573 / 2.04)


def test_sw_from_par_matches_the_differland_radiation(hyde, real_data_dir):
    """PAR/2.04 against the independent SSRD of the DifferLand FI-Hyy drivers over their common 2006-2010."""
    dl = read_cardamom_drivers(real_data_dir / "differland" / "FI-Hyy.nc").sel(time=slice("2006", "2010"))
    sm = hyde.sel(time=slice("2006", "2010"))
    assert np.array_equal(dl.time.values, sm.time.values)
    ratio = float(sm.sw_down.mean() / dl.sw_down.mean())
    assert 0.93 < ratio < 1.0  # PAR/SW at Hyytiälä is 1.96 umol J-1: the 2.04 estimate is ~4 % low
    assert np.corrcoef(sm.sw_down, dl.sw_down)[0, 1] > 0.97


def test_bad_hyde_files(tmp_path, real_data_dir):
    lines = (real_data_dir / HYDE).read_text().splitlines()[:60]
    assert lines[0] == ""  # the file starts with a blank line: data start at line 2
    bad = tmp_path / HYDE
    bad.write_text("\n".join([*lines[:40], lines[40][:100]]))
    with pytest.raises(CorruptFileError, match=r"HydeDaily2000-2010.txt.*line 41 has"):
        read_smear_daily(bad)
    rows = [r.split() for r in lines]
    rows[9][14] = "warm"
    bad.write_text("\n".join(" ".join(r) for r in rows))
    with pytest.raises(SchemaMismatchError, match=r"\[Tair\].*'warm' at line 10"):
        read_smear_daily(bad)
    rows = [r.split() for r in lines]
    for r in rows[1:]:
        r[20] = str(float(r[20]) / 10.0)  # pressure in kPa, as the readme claims
    bad.write_text("\n".join(" ".join(r) for r in rows))
    with pytest.raises(ImplausibleValueError, match=r"\[Pressure\].*wrong units"):
        read_smear_daily(bad)
    rows = [r.split() for r in lines]
    rows[5][3] = "7.00000"
    bad.write_text("\n".join(" ".join(r) for r in rows))
    with pytest.raises(SchemaMismatchError, match=r"\[doy\].*line 6"):
        read_smear_daily(bad)
    bad.write_bytes(b"\x00\x01\x02garbage")
    with pytest.raises(CorruptFileError, match="not a text file"):
        read_smear_daily(bad)
