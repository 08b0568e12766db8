"""make-demo-data for several tiles: one set of native files serves every planned tile, edges consistent."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
import yaml

from tccas.config import planned_tiles, validate_config
from tccas.grid import tile_containing
from tccas.io.landcover import read_corine, read_dem
from tccas.io.tilestore import read_tile_store
from tccas.pipeline import demo_data
from tccas.pipeline.regrid import run_regrid

REGION = "iberia"
# Majadas de Tietar (ES-LM1), the 1 km tile east of it and one 2 km north: three tiles, one shared edge
POINTS = [[-5.776, 39.943], [-5.7645, 39.9448], [-5.7804, 39.9606]]


def _config(root):
    return validate_config(
        {
            "period": {"start": "2018-06-01", "end": "2018-06-03", "spinup_years": 0},
            "regions": {REGION: {"tile_km": 1, "points": POINTS}},
            "data": {"source": "synthetic", "root": str(root / "resources"), "seed": 5},
            "outputs": {"root": str(root / "results")},
            "assimilation": {"max_tiles": 2},
        }
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo_tiles")
    config = _config(root)
    return root, config, demo_data.make_demo_data(config, REGION)


def test_every_planned_tile_has_inputs(demo):
    _root, config, manifest = demo
    tiles = planned_tiles(config, REGION)
    assert len(tiles) == 3
    man = yaml.safe_load(manifest.read_text())
    assert man["tiles"] == [t.name for t in tiles]
    base = manifest.parent
    for tile in tiles:  # the static rasters cover every tile (read_* check coverage and the grid)
        assert read_corine(base / man["products"]["corine"]["files"][0], tile).shape == tile.shape
        assert np.isfinite(read_dem(base / man["products"]["dem"]["files"][0], tile)).all()
        for product in ("forcing", "landcover", "sif", "smos", "fapar"):
            store = read_tile_store(run_regrid(config, REGION, tile.name, product), product)
            if product in ("sif", "fapar"):
                assert store.sizes["obs"] > 0, (tile.name, product)
    truth = xr.open_zarr(base / "truth.zarr", consolidated=False)
    assert list(truth.tile.values) == [t.name for t in tiles]
    per_tile = np.bincount(truth.tile_index.values, minlength=3)
    assert (per_tile > 0).all()
    assert np.isfinite(truth.map_gpp_mean.values).sum() == truth.sizes["pixel"]


def test_observations_over_a_tile_edge_are_shared_with_one_truth(demo):
    """A footprint covering both adjacent tiles is one observation in both tiles' stores, and its truth is
    the mean over its modelled cells of both tiles."""
    _root, config, manifest = demo
    west, east = tile_containing(*POINTS[0], 1), tile_containing(*POINTS[1], 1)
    assert east.x0 == west.x0 + west.size_m and east.y0 == west.y0  # the shared edge
    truth = xr.open_zarr(manifest.parent / "truth.zarr", consolidated=False).load()
    for product, prefix, var in (
        ("sif", "sif", "value"),
        ("fapar", "fapar", "value"),
        ("smos", "smos", "sm"),
    ):
        stores = [read_tile_store(run_regrid(config, REGION, t.name, product), product) for t in (west, east)]
        shared = np.intersect1d(stores[0].obs_key.values, stores[1].obs_key.values)
        if product != "fapar":  # 0.01° JRC-TIP cells are ≈ 1 km: the QC keeps few over the edge
            assert shared.size > 0, product
        pos = {int(k): i for i, k in enumerate(truth[f"{prefix}_obs_key"].values)}
        written = truth["sm_value" if product == "smos" else f"{prefix}_value"].values
        for store in stores:
            idx = np.array([pos[int(k)] for k in store.obs_key.values])
            np.testing.assert_allclose(store[var].values, written[idx], rtol=1e-5, atol=1e-6)


def test_demo_area_is_bounded(tmp_path):
    config = _config(tmp_path)
    config["regions"][REGION]["points"] = [[-5.77, 39.94], [-3.0, 41.5]]  # ≈ 100 km apart
    with pytest.raises(
        ValueError, match=r"regions\.iberia: the 2 planned tiles span .* at most 1000000"
    ):
        demo_data.make_demo_data(config, REGION)
