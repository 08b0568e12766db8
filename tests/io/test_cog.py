"""COG export of region-store maps (tccas.io.cog via tccas.pipeline.overviews.export_cogs): the file opens in
rasterio with EPSG:3035, the store's transform, internal tiles, overviews, nodata and compression, has the
COG layout, round-trips the values, and bad input is named."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.enums import Resampling
from test_overviews import write_region_store

from tccas.io.cog import CogError
from tccas.pipeline.overviews import export_cogs


def test_cog_opens_with_crs_transform_overviews_and_round_trips(tmp_path):
    grid, ds = write_region_store(tmp_path / "r.zarr", 150, 170)
    paths = export_cogs(tmp_path / "r.zarr", tmp_path / "cog", variables=["nee_mean", "status"], blocksize=32)
    assert [p.name for p in paths] == ["nee_mean.tif", "status.tif"]
    assert sorted(p.name for p in (tmp_path / "cog").iterdir()) == ["nee_mean.tif", "status.tif"]  # no temps
    with rasterio.open(paths[0]) as src:
        assert src.crs.to_epsg() == 3035
        assert src.transform == grid.transform
        assert (src.height, src.width) == (150, 170)
        assert src.block_shapes == [(32, 32)]
        assert src.overviews(1) == [2, 4, 8]  # until the image fits one 32-cell tile
        assert np.isnan(src.nodata) and src.dtypes == ("float32",)
        assert src.compression.name == "deflate"
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.tags(1)["units"] == "g m-2 d-1" and src.descriptions == ("net ecosystem exchange",)
        np.testing.assert_array_equal(src.read(1), ds["nee_mean"].values)
        coarse = src.read(1, out_shape=(19, 22), resampling=Resampling.nearest)  # served by the ×8 overview
        assert np.isfinite(coarse).mean() > 0.9
    with rasterio.open(paths[1]) as src:
        values = src.read(1, out_shape=(38, 43))  # the ×4 overview: modes, so flags only
        assert set(np.unique(values[np.isfinite(values)])) <= {0.0, 1.0, 2.0, 3.0, 4.0}


def test_every_2d_map_by_default_and_bad_input_named(tmp_path):
    write_region_store(tmp_path / "r.zarr", 40, 40)
    paths = export_cogs(tmp_path / "r.zarr", tmp_path / "cog", blocksize=16)
    assert {p.stem for p in paths} == {"nee_mean", "status"}  # not the time series
    with pytest.raises(CogError, match=r"r\.zarr: no variable 'gpp_mean'"):
        export_cogs(tmp_path / "r.zarr", tmp_path / "cog", variables=["gpp_mean"])
    with pytest.raises(CogError, match=r"r\.zarr: variable 'nee_series' has dims \('time', 'y', 'x'\)"):
        export_cogs(tmp_path / "r.zarr", tmp_path / "cog", variables=["nee_series"])
    with pytest.raises(CogError, match="multiple of 16"):
        export_cogs(tmp_path / "r.zarr", tmp_path / "cog", variables=["nee_mean"], blocksize=20)
    with pytest.raises(FileNotFoundError, match="not a Zarr v3 store"):
        export_cogs(tmp_path / "none.zarr", tmp_path / "cog")
