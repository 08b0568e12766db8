from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from tccas.io.errors import CorruptFileError, CoverageError, ProductCRSError, SchemaMismatchError
from tccas.io.smos import ease2_axes, ease2_rowcol, read_catds_l3sm, read_smos_ic
from tccas.io.synthetic.smos import (
    catds_filename,
    ease2_window,
    smos_ic_filename,
    smos_time_fields,
    write_catds_l3sm,
    write_smos_ic,
)

DATE = "2018-07-01"


def test_ease2_grid_matches_spec_example():
    # data_formats.md §2.1: Sodankylä (26.63 E, 67.36 N) → col 796, row 21
    row, col = ease2_rowcol(26.63, 67.36)
    assert (int(row), int(col)) == (21, 796)
    lat, lon = ease2_axes()
    assert lat.shape == (584,) and lon.shape == (1388,)
    assert lat[0] > lat[-1] and abs(lon[0] + lon[-1]) < 1e-6
    # TUW-GEO/smos test value: lat[425] = -27.17044, lon[1237] = 140.9654
    assert abs(lat[425] + 27.17044) < 1e-4 and abs(lon[1237] - 140.9654) < 1e-4


def _fields(shape, lon, pass_="A"):
    days, secs = smos_time_fields(DATE, lon[None, :], pass_, shape)
    f = dict(
        sm=np.full(shape, 0.25),
        sm_sigma=np.full(shape, 0.04),
        vod=np.full(shape, 0.4),
        vod_sigma=np.full(shape, 0.1),
        rmse=np.full(shape, 3.0),
        scene_flags=np.zeros(shape, np.int16),
        quality_flag=np.zeros(shape, np.int16),
        days=days,
        utc_seconds=secs,
    )
    return f


def test_smos_ic_qc_counts(tmp_path, tile_lap):
    w = ease2_window(tile_lap)
    _lat, lon = ease2_axes()
    shape = (w[0].stop - w[0].start, w[1].stop - w[1].start)
    f = _fields(shape, lon[w[1]])
    f["sm"][0, 0] = np.nan  # fill
    f["days"][0, 0] = -999
    f["vod"][0, 0] = np.nan
    f["rmse"][1, 1] = 7.0  # SM ok (≤ 8 K), VOD rejected (> 6 K)
    f["scene_flags"][2, 2] = 2  # both rejected
    f["sm"][0, 2] = 1.3  # outside [0, 1]
    p = write_smos_ic(tmp_path / smos_ic_filename(DATE, "A"), DATE, "A", f, w)
    ds = read_smos_ic(p)
    assert ds.attrs["qc_counts"] == {"cells": 9, "valid": 8, "sm_kept": 6, "vod_kept": 6}
    assert ds.attrs["pass"] == "ascending"
    # global indices and keys; Sodankylä's cell is present
    assert 21 * 1388 + 796 in ds.fp_key.values
    k = int(np.nonzero(ds.fp_key.values == 21 * 1388 + 796)[0][0])
    assert ds.obs_key.values[k] == 20180701 * 10_000_000 + 21 * 1388 + 796
    # 06:00 local solar time at ~26.6 E = ~04:14 UTC
    t = ds.time.values[k]
    assert np.datetime64(f"{DATE}T04:00") < t < np.datetime64(f"{DATE}T04:30")


def test_smos_ic_global_file_with_bbox_and_coverage(tmp_path):
    _lat, lon = ease2_axes()
    shape = (584, 1388)
    f = {
        k: np.full(shape, np.nan if v.dtype.kind == "f" else -999, v.dtype)
        for k, v in _fields((1, 1), lon[:1]).items()
    }
    f["sm"][21, 796], f["sm_sigma"][21, 796], f["rmse"][21, 796] = 0.3, 0.04, 2.0
    f["scene_flags"][21, 796] = f["quality_flag"][21, 796] = 0
    f["days"][21, 796], f["utc_seconds"][21, 796] = 6756, 15000
    p = write_smos_ic(tmp_path / smos_ic_filename(DATE, "D"), DATE, "D", f)
    ds = read_smos_ic(p, bbox=(26.5, 67.3, 26.8, 67.4))
    assert ds.sizes["obs"] == 1 and ds.attrs["pass"] == "descending"
    assert ds.qc_sm.values.all() and not ds.qc_vod.values.any()
    assert ds.obs_key.values[0] == 20180701 * 10_000_000 + 1_000_000 + 21 * 1388 + 796


def test_smos_cutout_coverage_and_crs_errors(tmp_path, tile_lap, truncate):
    w = ease2_window(tile_lap)
    _lat, lon = ease2_axes()
    shape = (w[0].stop - w[0].start, w[1].stop - w[1].start)
    p = write_smos_ic(tmp_path / smos_ic_filename(DATE, "A"), DATE, "A", _fields(shape, lon[w[1]]), w)
    with pytest.raises(CoverageError, match="not inside"):
        read_smos_ic(p, bbox=(-5.8, 39.9, -5.7, 40.0))
    with netCDF4.Dataset(p, "a") as nc:
        nc["crs"].setncattr("crs_wkt", "EPSG:4326")
    with pytest.raises(ProductCRSError, match=r"crs@crs_wkt.*expected EPSG:6933"):
        read_smos_ic(p)
    with netCDF4.Dataset(p, "a") as nc:
        nc["crs"].delncattr("crs_wkt")
    with pytest.raises(ProductCRSError, match="no CRS declaration"):
        read_smos_ic(p)
    with pytest.raises(CorruptFileError):
        read_smos_ic(truncate(p, 0.3))


def test_smos_off_grid_coordinates_and_bad_name(tmp_path, tile_lap):
    w = ease2_window(tile_lap)
    _lat, lon = ease2_axes()
    shape = (w[0].stop - w[0].start, w[1].stop - w[1].start)
    p = write_smos_ic(tmp_path / smos_ic_filename(DATE, "A"), DATE, "A", _fields(shape, lon[w[1]]), w)
    with netCDF4.Dataset(p, "a") as nc:
        nc["lat"][:] = nc["lat"][:] + 0.05
    with pytest.raises(SchemaMismatchError, match=r"not EASE-Grid 2.0"):
        read_smos_ic(p)
    other = p.rename(tmp_path / "soil_moisture.nc")
    with pytest.raises(SchemaMismatchError, match="file name"):
        read_smos_ic(other)


def test_catds_science_flags_and_rfi(tmp_path, tile_lap):
    w = ease2_window(tile_lap)
    _lat, lon = ease2_axes()
    shape = (w[0].stop - w[0].start, w[1].stop - w[1].start)
    days, secs = smos_time_fields(DATE, lon[w[1]][None, :], "D", shape)
    flags = np.zeros(shape, np.int32)
    flags[0, 0] = 1 << 24
    rfi = np.zeros(shape)
    rfi[1, 1] = 0.5
    f = dict(
        sm=np.full(shape, 0.2),
        sm_sigma=np.full(shape, 0.04),
        vod=np.full(shape, 0.3),
        chi2=np.ones(shape),
        ratio_rfi=rfi,
        science_flags=flags,
        days=days,
        utc_seconds=secs,
    )
    p = write_catds_l3sm(tmp_path / catds_filename(DATE, "D"), DATE, "D", f, w)
    ds = read_catds_l3sm(p)
    assert ds.attrs["qc_counts"]["sm_kept"] == 7
