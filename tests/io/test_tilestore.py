from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tccas.io.errors import CorruptFileError, MissingFieldError
from tccas.io.tilestore import read_tile_store, store_path, time_index_hours, write_tile_store


def _landcover():
    shape = (2, 3, 3)
    return xr.Dataset(
        {
            "pft": (("slot", "y", "x"), np.full(shape, 5, np.int16)),
            "fraction": (("slot", "y", "x"), np.full(shape, 0.5)),
            "bare_fraction": (("y", "x"), np.zeros((3, 3))),
            "land": (("y", "x"), np.ones((3, 3), bool)),
            "elevation": (("y", "x"), np.zeros((3, 3))),
            "w_max": (("y", "x"), np.full((3, 3), 100.0)),
        },
        attrs={"qc_counts": {"a": 1}},
    )


def test_round_trip_and_product_tag(tmp_path):
    p = store_path(tmp_path, "netherlands", "1kmE4041N3234", "landcover")
    assert p.as_posix().endswith("regrid/netherlands/1kmE4041N3234/landcover.zarr")
    write_tile_store(p, _landcover(), "landcover")
    ds = read_tile_store(p, "landcover")
    assert ds.pft.dtype == np.int16 and ds.attrs["qc_counts"] == {"a": 1}
    with pytest.raises(MissingFieldError, match="expected 'sif'"):
        read_tile_store(p, "sif")
    with pytest.raises(CorruptFileError, match="does not exist"):
        read_tile_store(tmp_path / "none.zarr")


def test_snakemake_directory_marker_is_read_quietly(tmp_path, recwarn):
    """Snakemake touches ``.snakemake_timestamp`` in directory outputs; reading the store must not warn."""
    p = store_path(tmp_path, "netherlands", "1kmE4041N3234", "landcover")
    write_tile_store(p, _landcover(), "landcover")
    (p / ".snakemake_timestamp").touch()
    read_tile_store(p, "landcover")
    assert not [w for w in recwarn if "snakemake_timestamp" in str(w.message)]


def test_failed_write_leaves_nothing_and_keeps_old_store(tmp_path):
    p = tmp_path / "landcover.zarr"
    with pytest.raises(ValueError, match="misses"):
        write_tile_store(p, _landcover().drop_vars("w_max"), "landcover")
    assert not p.exists()
    write_tile_store(p, _landcover(), "landcover")
    bad = _landcover()
    bad["oops"] = ("z", np.array([object()], dtype=object))  # not serialisable
    with pytest.raises(Exception):  # noqa: B017 - zarr raises various types; only the side effects matter
        write_tile_store(p, bad, "landcover")
    assert sorted(x.name for x in tmp_path.iterdir()) == ["landcover.zarr"]
    assert read_tile_store(p, "landcover").pft.shape == (2, 3, 3)


def test_time_index_hours():
    t = np.array(["2018-01-01T00:30", "2018-01-02T13:10"], "datetime64[m]")
    np.testing.assert_array_equal(time_index_hours(t, "2018-01-01"), [0, 37])
