from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from tccas.io.errors import CorruptFileError, MissingFieldError, SchemaMismatchError
from tccas.io.synthetic.troposif import (
    l2b_filename,
    trap_indices,
    troposif_footprints,
    write_troposif_l2,
    write_troposif_l2b,
)
from tccas.io.troposif import read_troposif_l2, read_troposif_l2b

DATE = "2018-07-01"


def _day(tmp_path, tile, rng, traps=True, **over):
    geom = troposif_footprints(tile, DATE, rng)
    geom["vza"][:] = 20.0  # keep the VZA rule out of the way unless a test sets it
    shape = geom["lon"].shape
    n = geom["lon"].size
    sif = rng.uniform(0.2, 1.5, shape)
    args = dict(
        sif=sif,
        sif_sigma=np.full(shape, 0.35),
        cloud_fraction=np.full(shape, 0.05),
        lc_mask=np.full(shape, 1, np.uint8),
    )
    args.update(over)
    tr = trap_indices(geom, tile) if traps else None
    path = write_troposif_l2b(tmp_path / l2b_filename(DATE), DATE, geom, traps=tr, **args)
    return path, geom, sif, tr, n


def test_l2b_qc_counts_and_traps(tmp_path, tile_nl, rng):
    geom = troposif_footprints(tile_nl, DATE, np.random.default_rng(1))
    lc = np.full(geom["lon"].shape, 1, np.uint8)
    free = [i for i in range(lc.size) if i not in trap_indices(geom, tile_nl)]
    lc.ravel()[free[0]] = 17  # one water sounding
    cf = np.full(geom["lon"].shape, 0.05)
    cf.ravel()[free[1]] = 0.3  # above the 0.2 pipeline threshold, below the 0.8 upstream one
    path, geom, sif, tr, n = _day(tmp_path, tile_nl, np.random.default_rng(1), lc_mask=lc, cloud_fraction=cf)
    ds = read_troposif_l2b(path)
    c = ds.attrs["qc_counts"]
    assert c["total"] == n
    assert c["fill"] == 1 and c["sza"] == 1 and c["water"] == 1
    assert c["cloud"] == 2  # the 0.9 trap and the 0.3 sounding
    assert c["kept"] == n - 5 == ds.sizes["obs"]
    # kept values are the written ones, keys encode date and n_elem index
    idx = ds.obs_key.values - 20180701 * 10_000_000
    np.testing.assert_allclose(ds.value.values, sif.ravel()[idx].astype(np.float32), rtol=1e-6)
    assert not np.isin(idx, tr).any()
    # times: overpass around 13:30 local solar time ≈ 13:07 UTC at 5.7°E; file spans midnight via delta_time
    hours = (ds.time.values - np.datetime64(DATE)).astype("timedelta64[m]").astype(float) / 60
    assert np.all((hours > 12.0) & (hours < 14.5))


def test_undeclared_fill_is_masked_without_attribute(tmp_path, tile_nl, rng):
    path, _geom, _sif, tr, _n = _day(tmp_path, tile_nl, rng)
    with netCDF4.Dataset(path) as nc:
        v = nc["PRODUCT/SIF_735"]
        assert "_FillValue" not in v.ncattrs()
        v.set_auto_maskandscale(False)
        assert v[int(tr[0])] > 1e36
    ds = read_troposif_l2b(path, apply_qc=False)
    assert np.isnan(ds.value.values[int(tr[0])])
    assert not ds.qc_ok.values[int(tr[0])]


def test_qc_thresholds_are_overridable(tmp_path, tile_nl, rng):
    path, *_ = _day(tmp_path, tile_nl, rng)
    strict = read_troposif_l2b(path, qc={"sza_max": 10.0})
    assert strict.sizes["obs"] == 0
    assert strict.attrs["qc_counts"]["sza"] > 0


def test_l2_per_orbit_keys_and_time(tmp_path, tile_nl, rng):
    geom = troposif_footprints(tile_nl, DATE, rng)
    geom["vza"][:] = 10.0
    shape = geom["lon"].shape
    sif = rng.uniform(0.2, 1.5, shape)
    cf = np.full(shape, 0.1)
    cf[0, 0] = 0.5
    path = write_troposif_l2(
        tmp_path / "orbit.nc", 4123, geom, sif, np.full(shape, 0.3), cf, np.ones(shape, np.uint8)
    )
    path = path.rename(tmp_path / path.name)  # any name works for the reader; keys come from the orbit attr
    ds = read_troposif_l2(path)
    assert ds.attrs["qc_counts"]["cloud"] == 1
    assert ds.sizes["obs"] == sif.size - 1
    key = ds.obs_key.values
    scan, pix = (key >> 9) & 8191, key & 511
    assert np.all(key >> 22 == 4123)
    np.testing.assert_allclose(ds.value.values, sif[scan, pix].astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(ds.time.values.astype("datetime64[ms]"), geom["time"][scan, pix])


def test_l2b_failure_modes(tmp_path, tile_nl, rng, truncate):
    path, *_ = _day(tmp_path, tile_nl, rng)
    with netCDF4.Dataset(path, "a") as nc:
        nc["PRODUCT"].renameVariable("SIF_ERROR_743", "SIF_ERR")
    with pytest.raises(MissingFieldError, match=r"PRODUCT/SIF_ERROR_743.*variable not found"):
        read_troposif_l2b(path)
    path2, *_ = _day(tmp_path / "b", tile_nl, rng)
    with pytest.raises(CorruptFileError, match=r"TROPOSIF_L2B_2018-07-01.nc"):
        read_troposif_l2b(truncate(path2))


def test_l2b_wrong_dtype_is_reported(tmp_path, tile_nl, rng, monkeypatch):
    import dataclasses

    import tccas.io.synthetic.troposif as gen
    from tccas.io.cards import load_card

    card = load_card("troposif_l2b")
    bad = dataclasses.replace(
        card, variables={**card.variables, "sza": dataclasses.replace(card.var("sza"), dtype="float64")}
    )
    monkeypatch.setattr(gen, "load_card", lambda name: bad)
    path, *_ = _day(tmp_path, tile_nl, rng)
    with pytest.raises(SchemaMismatchError, match=r"solar_zenith_angle.*dtype is float64"):
        read_troposif_l2b(path)
