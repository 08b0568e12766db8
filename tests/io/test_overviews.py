"""Overview pyramid of a region store (tccas.io.overviews): values equal a NumPy block mean (the mode for
flag maps), GeoZarr multiscales metadata, windowed writes with a peak memory independent of the store's size,
the level a quick-look reads, and bad input named."""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import xarray as xr

from tccas.io import overviews as ov
from tccas.io.output_store import StoreGrid, geozarr_attrs

FLAGS = [0, 1, 2, 3, 4]


def write_region_store(path, ny, nx, tile_px=32, seed=0):
    """A small region store as tccas writes one: GeoZarr root attributes, ``y`` decreasing, a float map with
    NaN (water), a flag map (solver status) and a time series; returns (grid, dataset)."""
    grid = StoreGrid(4000000, 3000000, nx, ny, 100, tile_px)
    rng = np.random.default_rng(seed)
    mean = rng.normal(10.0, 3.0, (ny, nx)).astype(np.float32)
    mean[rng.random((ny, nx)) < 0.2] = np.nan
    mean[:5, :7] = np.nan  # a whole block of water
    status = rng.choice(FLAGS, (ny, nx)).astype(np.float32)
    status[np.isnan(mean)] = np.nan
    ds = xr.Dataset(
        {
            "nee_mean": (("y", "x"), mean, {"units": "g m-2 d-1", "long_name": "net ecosystem exchange"}),
            "status": (
                ("y", "x"),
                status,
                {
                    "long_name": "solver status",
                    "units": "1",
                    "flag_values": FLAGS,
                    "flag_meanings": "a b c d e",
                },
            ),
            "nee_series": (("time", "y", "x"), np.stack([mean, mean]), {"units": "g m-2 d-1"}),
        },
        coords={
            "y": ("y", grid.y, {"units": "m", "standard_name": "projection_y_coordinate"}),
            "x": ("x", grid.x, {"units": "m", "standard_name": "projection_x_coordinate"}),
            "time": ("time", np.array(["2018-01-01", "2018-02-01"], dtype="datetime64[ns]")),
        },
        attrs={**geozarr_attrs(grid), "tile_px": tile_px},
    )
    encoding = {name: {"chunks": (tile_px, tile_px)} for name in ("nee_mean", "status")}
    ds.to_zarr(path, zarr_format=3, consolidated=False, encoding=encoding)
    return grid, ds


def _mode(block):
    valid = block[np.isfinite(block)]
    if not valid.size:
        return np.nan
    counts = [(valid == f).sum() for f in FLAGS]
    return float(FLAGS[int(np.argmax(counts))])


@pytest.fixture
def pyramid(tmp_path):
    grid, ds = write_region_store(tmp_path / "r.zarr", 150, 170)
    levels = ov.write_overviews(
        tmp_path / "r.zarr", tmp_path / "r.overviews.zarr", max_pixels=50, min_window=16
    )
    return tmp_path / "r.overviews.zarr", grid, ds, levels


def test_levels_equal_numpy_block_means_and_modes(pyramid):
    out, _, ds, levels = pyramid
    assert levels == [
        "1",
        "2",
    ]  # 170 → 85 → 43 ≤ 50; windows of 64 cells: 3 × 3 windows, partial at the edges
    mean, status = ds["nee_mean"].values.astype(np.float64), ds["status"].values
    for level in levels:
        f = 2 ** int(level)
        got = xr.open_zarr(out / level, consolidated=False)
        ny, nx = -(-150 // f), -(-170 // f)
        assert got["nee_mean"].shape == (ny, nx) and got["nee_mean"].dtype == np.float32
        want = np.full((ny, nx), np.nan)
        want_mode = np.full((ny, nx), np.nan)
        for i in range(ny):
            for j in range(nx):
                block = mean[i * f : (i + 1) * f, j * f : (j + 1) * f]
                if np.isfinite(block).any():
                    want[i, j] = np.nanmean(block)
                want_mode[i, j] = _mode(status[i * f : (i + 1) * f, j * f : (j + 1) * f])
        np.testing.assert_allclose(got["nee_mean"].values, want, rtol=1e-6)
        np.testing.assert_array_equal(np.isnan(got["nee_mean"].values), np.isnan(want))
        np.testing.assert_array_equal(got["status"].values, want_mode)
        assert "nee_series" not in got  # only the 2-D maps
        np.testing.assert_allclose(got["x"].values, 4000000 + (np.arange(nx) + 0.5) * 100 * f)
        np.testing.assert_allclose(got["y"].values, 3015000 - (np.arange(ny) + 0.5) * 100 * f)
    # the quick-look helper's block mean is the same computation
    np.testing.assert_allclose(
        ov.block_mean(mean, 4), xr.open_zarr(out / "2", consolidated=False)["nee_mean"].values, rtol=1e-6
    )


def test_multiscales_metadata_follows_the_convention(pyramid):
    out, _, _, levels = pyramid
    root = json.loads((out / "zarr.json").read_text())["attributes"]
    names = [c["name"] for c in root["zarr_conventions"]]
    assert names == ["multiscales", "proj:", "spatial:"]
    assert root["zarr_conventions"][0]["uuid"] == "d35379db-88df-4056-af3a-620245f8e347"
    assert root["proj:code"] == "EPSG:3035" and root["source_store"] == "r.zarr"
    ms = root["multiscales"]
    assert ms["resampling_method"] == "average"
    assert [e["asset"] for e in ms["layout"]] == levels
    assert "derived_from" not in ms["layout"][0] and ms["layout"][1]["derived_from"] == "1"
    for entry in ms["layout"]:
        f = 2 ** int(entry["asset"])
        assert entry["transform"] == {"scale": [2.0, 2.0], "translation": [0.0, 0.0]}
        assert entry["spatial:transform"] == [100.0 * f, 0.0, 4000000.0, 0.0, -100.0 * f, 3015000.0]
        level = json.loads((out / entry["asset"] / "zarr.json").read_text())["attributes"]
        assert level["spatial:shape"] == entry["spatial:shape"] == [-(-150 // f), -(-170 // f)]
        assert level["proj:code"] == "EPSG:3035" and level["spatial:dimensions"] == ["y", "x"]
        var = xr.open_zarr(out / entry["asset"], consolidated=False)["status"]
        assert var.attrs["cell_methods"] == "area: mode" and var.attrs["flag_values"] == FLAGS
        assert (
            xr.open_zarr(out / entry["asset"], consolidated=False)["nee_mean"].attrs["cell_methods"]
            == "area: mean"
        )
    assert ov.level_for(out, 85) == out / "1" and ov.level_for(out, 60) == out / "2"
    assert ov.level_for(out, 10) == out / "2"  # none fits: the coarsest


def _peak_bytes(tmp_path, name, edge):
    write_region_store(tmp_path / f"{name}.zarr", edge, edge, tile_px=64)
    tracemalloc.start()
    ov.write_overviews(
        tmp_path / f"{name}.zarr", tmp_path / f"{name}.ov.zarr", max_pixels=edge // 2, min_window=64
    )
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_peak_memory_does_not_grow_with_the_store(tmp_path):
    _peak_bytes(tmp_path, "warm", 64)  # first-call allocations (imports, codec caches) are not the pass's
    small = _peak_bytes(tmp_path, "small", 512)
    large = _peak_bytes(tmp_path, "large", 2048)  # 16 × the cells, same 64-cell windows, one level
    # a peak that grew with the cells would differ by ≥ 15 × 1 MiB (one float32 map of the small store)
    assert large - small < 2**19 and large < 4 * 2**20, (small, large)


def test_bad_input_is_named(tmp_path):
    write_region_store(tmp_path / "r.zarr", 20, 20)
    with pytest.raises(ov.OverviewError, match=r"r\.zarr: no variable 'gpp_mean'"):
        ov.write_overviews(tmp_path / "r.zarr", tmp_path / "o.zarr", variables=["gpp_mean"])
    with pytest.raises(ov.OverviewError, match=r"r\.zarr: variable 'nee_series' has dims"):
        ov.write_overviews(tmp_path / "r.zarr", tmp_path / "o.zarr", variables=["nee_series"])
    with pytest.raises(ov.OverviewError, match="max_pixels"):
        ov.write_overviews(tmp_path / "r.zarr", tmp_path / "o.zarr", max_pixels=0)
    with pytest.raises(FileNotFoundError, match="not a Zarr v3 store"):
        ov.write_overviews(tmp_path / "missing.zarr", tmp_path / "o.zarr")
    xr.Dataset({"a": (("y", "x"), np.zeros((2, 2)))}).to_zarr(tmp_path / "plain.zarr", zarr_format=3)
    with pytest.raises(ov.OverviewError, match=r"plain\.zarr: no GeoZarr grid attribute"):
        ov.write_overviews(tmp_path / "plain.zarr", tmp_path / "o.zarr")
    with pytest.raises(ov.OverviewError, match=r"plain\.zarr: attribute multiscales\.layout"):
        ov.level_for(tmp_path / "plain.zarr", 100)
