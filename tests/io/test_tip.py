from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from tccas.io.errors import CoverageError, SchemaMismatchError
from tccas.io.synthetic.tip import latlon_axes_for_tile, tip_filename, write_jrc_tip
from tccas.io.tip import read_cgls_fapar, read_jrc_tip

CGLS = "c_gls_FAPAR_200907100000_GLOBE_VGT_V2.0.1.nc"


def test_jrc_tip_values_sigma_and_flags(tmp_path, tile_nl, rng):
    lat, lon = latlon_axes_for_tile(tile_nl)
    shape = (lat.size, lon.size)
    fapar = rng.uniform(0.2, 0.8, shape)
    flag = np.zeros(shape, np.uint8)
    flag[0, 1] = 2
    fapar[1, 0] = np.nan
    p = write_jrc_tip(
        tmp_path / tip_filename("2018-07-04"), "2018-07-04", lat, lon, fapar, np.full(shape, 0.07), flag
    )
    ds = read_jrc_tip(p)
    assert ds.attrs["qc_counts"] == {"cells": fapar.size, "valid": fapar.size - 1, "kept": fapar.size - 2}
    ok = ds.qc_ok.values
    np.testing.assert_allclose(
        np.sort(ds.value.values[ok]),
        np.sort(np.delete(fapar.ravel(), [1, lon.size])).astype(np.float32),
        rtol=1e-6,
    )
    # keys: global 0.01° lattice, row 0 at 90 N
    r, c = np.divmod(ds.fp_key.values, 36000)
    np.testing.assert_allclose(90 - (r + 0.5) * 0.01, ds.lat.values, atol=1e-9)
    np.testing.assert_allclose(-180 + (c + 0.5) * 0.01, ds.lon.values, atol=1e-9)
    assert str(ds.time.values[0])[:10] == "2018-07-04"


def test_jrc_tip_out_of_coverage(tmp_path, tile_nl, tile_lap, rng):
    lat, lon = latlon_axes_for_tile(tile_nl)
    shape = (lat.size, lon.size)
    p = write_jrc_tip(
        tmp_path / tip_filename("2018-07-04"),
        "2018-07-04",
        lat,
        lon,
        np.full(shape, 0.5),
        np.full(shape, 0.1),
        np.zeros(shape, np.uint8),
    )
    with pytest.raises(CoverageError, match=r"JRC-TIP_FAPAR_0p01deg_20180704.nc \[lat/lon\]"):
        read_jrc_tip(p, bbox=(26.6, 67.3, 26.7, 67.4))


def test_real_cgls_file_unsigned_bytes_scaled_by_card(real_data_dir):
    ds = read_cgls_fapar(real_data_dir / CGLS)
    with netCDF4.Dataset(real_data_dir / CGLS) as nc:
        v = nc["FAPAR"]
        assert v.dtype == np.int8 and "scale_factor" not in v.ncattrs()
        v.set_auto_maskandscale(False)
        raw = np.asarray(v[0]).view(np.uint8)
    valid = raw <= 250
    assert ds.sizes["obs"] == int(valid.sum())
    assert np.isclose(ds.value.max(), raw[valid].max() / 250.0)  # DN 235 → 0.94
    assert np.isclose(ds.value.min(), raw[valid].min() / 250.0)
    assert float(ds.value.max()) <= 0.94 + 1e-12
    assert str(ds.time.values[0])[:10] == "2009-07-10"
    # the lattice is lon = k/112: centre of global column k
    _, c = np.divmod(ds.fp_key.values, 40320)
    np.testing.assert_allclose(-180 + c / 112, ds.lon.values, atol=1e-7)


def test_real_cgls_bbox_and_coverage(real_data_dir, tile_nl):
    sub = read_cgls_fapar(real_data_dir / CGLS, bbox=(5.0, 51.0, 5.2, 51.1))
    assert 0 < sub.sizes["obs"] < 1000
    with pytest.raises(CoverageError, match=CGLS):
        read_cgls_fapar(real_data_dir / CGLS, bbox=(5.7, 52.1, 5.8, 52.2))  # Loobos lies north of the cut-out


def test_cgls_with_wrong_card_scale_is_rejected(tmp_path, real_data_dir):
    import shutil

    p = tmp_path / CGLS
    shutil.copy(real_data_dir / CGLS, p)
    p.chmod(0o644)
    with netCDF4.Dataset(p, "a") as nc:
        nc["FAPAR"].setncattr("scale_factor", 0.01)
    with pytest.raises(SchemaMismatchError, match=r"scale_factor is 0.01, card says 0.004"):
        read_cgls_fapar(p)
