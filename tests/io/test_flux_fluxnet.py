from __future__ import annotations

import numpy as np
import pytest

from tccas.io.errors import (
    CorruptFileError,
    ImplausibleValueError,
    MissingFieldError,
    ProductError,
    SchemaMismatchError,
)
from tccas.io.flux import aggregate_daily, read_fluxnet
from tccas.io.flux._common import UMOL_CO2_TO_GC_PER_DAY, latent_heat

FR_PUE = "FR-Pue_2014_FLUXNET2015_FULLSET_HH_subset.csv"
FORCING = ("TA_F", "SW_IN_F", "LW_IN_F", "VPD_F", "PA_F", "P_F", "WS_F")


def _write_csv(path, columns: dict[str, list]):
    names = list(columns)
    n = len(columns[names[0]])
    rows = [",".join(str(columns[c][k]) for c in names) for k in range(n)]
    path.write_text("\n".join([",".join(names), *rows]) + "\n")
    return path


def _stamps(start: np.datetime64, n: int, step_min: int, fmt_len: int = 12) -> list[str]:
    t = start + np.arange(n) * np.timedelta64(step_min, "m")
    return [str(x).replace("-", "").replace("T", "").replace(":", "")[:fmt_len] for x in t]


@pytest.fixture(scope="module")
def fr_pue(real_data_dir):
    return read_fluxnet(real_data_dir / FR_PUE)


def test_real_fr_pue_half_hours(fr_pue, real_data_dir):
    ds = fr_pue
    assert ds.sizes["time"] == 17519
    assert ds.attrs["resolution"] == "HH" and ds.attrs["site"] == "FR-Pue"
    assert ds.attrs["utc_offset_h"] == 1.0 and ds.attrs["elevation"] == 270.0
    assert ds.attrs["source"].endswith(FR_PUE) and ds.attrs["reader"] == "tccas.io.flux.read_fluxnet"
    # first record 2014-01-01 00:30 local standard time (UTC+1) → 2013-12-31 23:30 UTC
    assert ds.time.values[0] == np.datetime64("2013-12-31T23:30")
    assert np.all(np.diff(ds.time.values) == np.timedelta64(30, "m"))
    for name, var in ds.data_vars.items():
        assert var.attrs["units"] and var.attrs["long_name"], name
        assert var.dtype == np.float64
    assert ds.pressure.attrs["units"] == "Pa" and ds.precip.attrs["units"] == "mm h-1"
    assert ds.nee.attrs["units"] == "gC m-2 d-1" and ds.et.attrs["units"] == "mm d-1"
    first = ds.isel(time=0)
    assert float(first.t_air) == 5.62 and float(first.pressure) == pytest.approx(98400.0)
    assert float(first.nee) == pytest.approx(0.347845 * 1.0377504, rel=1e-12)
    assert float(first.lw_down) == 323.645 and float(first.nee_qc) == 1.0
    assert float(ds.vpd.isel(time=-1)) == pytest.approx(209.8)  # 2.098 hPa
    # README: 2014 GPP ≈ 654 gC m-2 yr-1 and 1264 mm of rain; rates × record length [d] / [h]
    assert float(ds.gpp.sum()) / 48 == pytest.approx(654.9, abs=0.5)
    assert float(ds.precip.sum()) * 0.5 == pytest.approx(1264.1, abs=0.1)
    assert np.all(np.isnan(ds.swc)) and int(np.isnan(ds.par).sum()) == 95  # as in the file
    le, t = ds.le.values, ds.t_air.values
    assert np.allclose(ds.et.values, le / (2.501e6 - 2361.0 * t) * 86400.0, equal_nan=True)
    assert set(np.unique(ds.le_qc)) <= {0.0, 1.0, 2.0, 3.0}
    assert {"le_corr", "h_corr", "gpp_dt", "nee_unc", "le_unc", "h_unc", "co2_local"} <= set(ds.data_vars)


def test_aggregate_daily_real_year_is_exact(fr_pue):
    dd = aggregate_daily(fr_pue)
    assert dd.attrs["resolution"] == "DD" and dd.sizes["time"] == 365
    assert dd.time.values[0] == np.datetime64("2014-01-01") and dd.time.values[-1] == np.datetime64(
        "2014-12-31"
    )
    assert dd.precip.attrs["units"] == "mm d-1" and dd.t_min.attrs["units"] == "degC"
    # local day 1 = UTC records 0..46 (the 00:00 local half-hour is absent); day 2 = records 47..94
    t = fr_pue.t_air.values
    assert float(dd.t_mean[0]) == pytest.approx(np.mean(t[:47]), rel=1e-13)
    assert float(dd.t_min[0]) == t[:47].min()
    assert float(dd.t_max[1]) == t[47:95].max()
    p = fr_pue.precip.values
    assert float(dd.precip[1]) == pytest.approx(np.sum(p[47:95] * 0.5), rel=1e-12)
    unc = fr_pue.nee_unc.values[47:95]
    n = int(np.isfinite(unc).sum())
    assert 43 <= n < 48  # day 2 has missing joint uncertainties in the file
    assert float(dd.nee_unc[1]) == pytest.approx(np.sqrt(np.nansum(unc**2)) / n, rel=1e-12)
    assert float(dd.nee_qc[1]) == np.sum(fr_pue.nee_qc.values[47:95] == 0) / 48
    assert float(dd.gpp.sum()) == pytest.approx(654.9, abs=0.5)
    assert float(dd.precip.sum()) == pytest.approx(1264.1, abs=0.2)
    strict = aggregate_daily(fr_pue, min_fraction=1.0)
    assert np.isnan(strict.t_mean[0]) and np.isfinite(strict.t_mean[1])
    with pytest.raises(ValueError, match="HH or HR"):
        aggregate_daily(dd)


def test_synthetic_hourly_file_us_var(tmp_path):
    n = 48  # two local days of hours
    hour = np.arange(n) % 24
    cols = {
        "TIMESTAMP_START": _stamps(np.datetime64("2005-06-01T00:00"), n, 60),
        "TIMESTAMP_END": _stamps(np.datetime64("2005-06-01T01:00"), n, 60),
        "TA_F": (10.0 + hour).tolist(),
        "SW_IN_F": [max(0.0, 800.0 * np.sin(np.pi * (h - 6) / 12)) for h in hour],
        "LW_IN_F": [300.0] * n,
        "VPD_F": [12.5] * n,
        "PA_F": [99.5] * n,
        "P_F": (0.1 * hour).tolist(),
        "WS_F": [2.0] * n,
        "NEE_VUT_MEAN": [2.0] * n,
        "NEE_VUT_MEAN_QC": [0 if h < 18 else 2 for h in hour],
        "NEE_VUT_USTAR50_JOINTUNC": [1.5] * n,
        "LE_F_MDS": [100.0] * (n - 1) + [-9999],
    }
    path = _write_csv(tmp_path / "FLX_US-Var_FLUXNET2015_FULLSET_HR_2005-2005_1-3.csv", cols)
    ds = read_fluxnet(path)
    assert ds.attrs["resolution"] == "HR" and ds.attrs["utc_offset_h"] == -8.0
    assert ds.time.values[0] == np.datetime64("2005-06-01T08:00")  # local midnight at UTC−8
    assert float(ds.vpd[0]) == 1250.0 and float(ds.pressure[0]) == 99500.0
    assert np.allclose(ds.precip.values, 0.1 * hour)  # mm per hour record → mm h-1
    assert np.allclose(ds.nee.values, 2.0 * UMOL_CO2_TO_GC_PER_DAY)
    assert np.isnan(ds.le[-1]) and np.isnan(ds.et[-1])
    assert float(ds.et[0]) == pytest.approx(100.0 / latent_heat(10.0) * 86400.0)
    assert "gpp" not in ds and "par" not in ds  # optional columns absent → variables absent
    dd = aggregate_daily(ds)
    assert dd.sizes["time"] == 2 and dd.time.values[0] == np.datetime64("2005-06-01")
    assert np.allclose(dd.precip.values, 0.1 * np.arange(24).sum())  # the daily sum [mm d-1]
    assert np.allclose(dd.t_mean.values, 21.5) and np.allclose(dd.t_max.values, 33.0)
    assert np.allclose(dd.nee_unc.values, 1.5 * UMOL_CO2_TO_GC_PER_DAY / np.sqrt(24))
    assert np.allclose(dd.nee_qc.values, 18 / 24)
    assert np.isfinite(dd.le[1]) and float(dd.le[1]) == 100.0  # 23 of 24 hours ≥ 0.9
    assert np.isnan(aggregate_daily(ds, min_fraction=1.0).le[1])
    # the same table under a free file name: resolution from the stamps, offset given by the caller
    other = read_fluxnet(_write_csv(tmp_path / "tower.csv", cols), site="US-Var", utc_offset_h=-8)
    assert other.attrs["resolution"] == "HR" and np.array_equal(other.time.values, ds.time.values)
    with pytest.raises(MissingFieldError, match="utc_offset_h"):
        read_fluxnet(tmp_path / "tower.csv")


def test_synthetic_daily_file(tmp_path):
    n = 5
    cols = {
        "TIMESTAMP": _stamps(np.datetime64("2005-12-30T00:00"), n, 1440, fmt_len=8),
        "TA_F": [1.0, 2.0, 3.0, 4.0, -9999],
        "SW_IN_F": [50.0] * n,
        "LW_IN_F": [280.0] * n,
        "VPD_F": [3.0] * n,
        "PA_F": [95.0] * n,
        "P_F": [0.0, 12.0, 0.4, 0.0, 1.0],
        "WS_F": [3.0] * n,
        "NEE_VUT_MEAN": [1.2, -0.5, 0.3, 0.0, 2.0],
        "NEE_VUT_MEAN_QC": [1.0, 0.5, 0.25, 0.0, 1.0],
        "GPP_NT_VUT_MEAN": [0.5, 2.0, 1.0, 1.5, 0.0],
        "LE_F_MDS": [20.0] * n,
        "LE_F_MDS_QC": [0.9] * n,
    }
    path = _write_csv(tmp_path / "FLX_XX-Abc_FLUXNET2015_FULLSET_DD_2005-2006_1-4.csv", cols)
    ds = read_fluxnet(path)
    assert ds.attrs["resolution"] == "DD" and ds.attrs["site"] == "XX-Abc" and np.isnan(ds.attrs["lat"])
    assert list(ds.time.values.astype("datetime64[D]").astype(str)) == [
        "2005-12-30",
        "2005-12-31",
        "2006-01-01",
        "2006-01-02",
        "2006-01-03",
    ]
    assert "t_mean" in ds and "t_air" not in ds and np.isnan(ds.t_mean[-1])
    assert ds.precip.attrs["units"] == "mm d-1" and float(ds.precip[1]) == 12.0  # stored as mm d-1
    assert np.array_equal(ds.nee.values, [1.2, -0.5, 0.3, 0.0, 2.0])  # already gC m-2 d-1
    assert np.array_equal(ds.nee_qc.values, [1.0, 0.5, 0.25, 0.0, 1.0])
    assert float(ds.vpd[0]) == 300.0 and float(ds.pressure[0]) == 95000.0
    assert "fraction" in ds.nee_qc.attrs["long_name"]
    assert float(ds.et[0]) == pytest.approx(20.0 / latent_heat(1.0) * 86400.0)


def test_bad_fluxnet_files(tmp_path, real_data_dir):
    lines = (real_data_dir / FR_PUE).read_text().splitlines()[:101]
    header = lines[0].split(",")

    def write(name, rows):
        p = tmp_path / name
        p.write_text("\n".join(rows) + "\n")
        return p

    short = write(FR_PUE, [*lines[:50], lines[50][: len(lines[50]) // 2]])
    with pytest.raises(CorruptFileError, match=r"FR-Pue_2014.*line 51 has"):
        read_fluxnet(short)
    k = header.index("PA_F")
    dropped = write(FR_PUE, [",".join(r.split(",")[:k] + r.split(",")[k + 1 :]) for r in lines])
    with pytest.raises(MissingFieldError, match=r"\[PA_F\].*required forcing column") as err:
        read_fluxnet(dropped)
    assert err.value.path.name == FR_PUE and err.value.field == "PA_F"
    cells = [r.split(",") for r in lines]
    cells[10][header.index("TA_F")] = "abc"
    garbled = write(FR_PUE, [",".join(c) for c in cells])
    with pytest.raises(SchemaMismatchError, match=r"\[TA_F\].*'abc' at line 11"):
        read_fluxnet(garbled)
    cells = [r.split(",") for r in lines]
    for c in cells[1:]:
        c[k] = str(float(c[k]) * 1000.0)  # Pa instead of kPa
    in_pa = write(FR_PUE, [",".join(c) for c in cells])
    with pytest.raises(ImplausibleValueError, match=r"\[PA_F\].*wrong units"):
        read_fluxnet(in_pa)
    k_end = header.index("TIMESTAMP_END")
    no_end = write(FR_PUE, [",".join(r.split(",")[:k_end] + r.split(",")[k_end + 1 :]) for r in lines])
    with pytest.raises(MissingFieldError, match=r"\[TIMESTAMP_END\]"):
        read_fluxnet(no_end)
    misnamed = write("FLX_FR-Pue_FLUXNET2015_FULLSET_HR_2014-2014_1-3.csv", lines)
    with pytest.raises(SchemaMismatchError, match="file name says HR"):
        read_fluxnet(misnamed)
    junk = tmp_path / "junk.csv"
    junk.write_bytes(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptFileError, match=r"junk\.csv"):
        read_fluxnet(junk)
    before = sorted(p.name for p in tmp_path.iterdir())
    for bad in (tmp_path / "missing.csv", junk):
        with pytest.raises(ProductError):
            read_fluxnet(bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # readers never write
