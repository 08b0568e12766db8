"""make-demo-data: native files from a known truth, round trip through the readers and the regrid step."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
import yaml

from tccas.cli import main
from tccas.config import validate_config
from tccas.io.tilestore import read_tile_store
from tccas.pipeline import demo_data
from tccas.pipeline.regrid import run_regrid

REGION = "iberia"


def _config(root):
    return validate_config(
        {
            "period": {"start": "2018-05-01", "end": "2018-05-04", "spinup_years": 0},
            "regions": {REGION: {"tile_km": 1, "points": [[-5.77, 39.94]]}},
            "data": {"source": "synthetic", "root": str(root / "resources"), "seed": 11},
            "outputs": {"root": str(root / "results")},
            "assimilation": {"max_tiles": 2},
        }
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    config = _config(root)
    manifest = demo_data.make_demo_data(config, REGION)
    return root, config, manifest


def test_manifest_lists_existing_native_files(demo):
    root, _, manifest = demo
    assert manifest == root / "resources" / REGION / "manifest.yaml"
    man = yaml.safe_load(manifest.read_text())
    assert set(man["products"]) == {"forcing", "corine", "dem", "sif", "smos", "fapar"}
    assert len(man["products"]["sif"]["files"]) == 4
    assert 0 < len(man["products"]["smos"]["files"]) <= 8
    for entry in man["products"].values():
        for f in entry["files"]:
            assert (manifest.parent / f).is_file(), f
    assert not list((root / "resources").glob(".*tmp*"))


def test_truth_store(demo):
    root, _, manifest = demo
    t = xr.open_zarr(manifest.parent / "truth.zarr", consolidated=False)
    n_pix = t.sizes["pixel"]
    assert 0 < n_pix <= 100
    names = json.loads(t.attrs["control_names"])
    assert len(names) == n_pix and len(names[0]) == t.sizes["control"]
    assert np.all(np.isfinite(t.series_gpp.values)) and t.series_gpp.shape == (n_pix, 4)
    assert np.isfinite(t.map_gpp_mean.values).sum() == n_pix
    # the truth differs from the prior (perturbed controls) but stays within the bounds
    from tccas.da import controls
    from tccas.da.pixel import AssimilationSettings, layout_for

    settings = AssimilationSettings.from_config(_config(root))
    layout = layout_for(t.sizes["slot"], settings)
    pr = controls.prior(layout, t.pft.values[0])
    x = t.x_true.values[0]
    assert np.all(x >= np.asarray(pr.lower) - 1e-12) and np.all(x <= np.asarray(pr.upper) + 1e-12)
    assert np.mean(np.abs(x - np.asarray(pr.x0)) > 0) > 0.5


def test_round_trip_observations_recovered(demo):
    _root, config, manifest = demo
    t = xr.open_zarr(manifest.parent / "truth.zarr", consolidated=False).load()
    tile = yaml.safe_load(manifest.read_text())["tiles"][0]
    for product, prefix, var in (
        ("sif", "sif", "value"),
        ("fapar", "fapar", "value"),
        ("smos", "smos", "sm"),
    ):
        store = read_tile_store(run_regrid(config, REGION, tile, product), product)
        keys = t[f"{prefix}_obs_key"].values
        if store.sizes["obs"] == 0:
            continue
        pos = {int(k): i for i, k in enumerate(keys)}
        idx = np.array([pos[int(k)] for k in store.obs_key.values])
        written = t["sm_value" if product == "smos" else f"{prefix}_value"].values[idx]
        np.testing.assert_allclose(store[var].values, written, rtol=1e-5, atol=1e-6)
        # every stored observation has a footprint inside the tile
        assert set(np.unique(store.fp_key.values)) <= set(np.unique(store.fp_key_m.values))
    # noise is consistent with the stated σ (normalised residuals of all written obs)
    z = (t.fapar_value.values - t.fapar_truth.values) / (0.05 + 0.1 * t.fapar_truth.values)
    z = z[(t.fapar_value.values > 0) & (t.fapar_value.values < 1)]
    assert abs(z.mean()) < 0.5 and 0.5 < z.std() < 1.5
    zs = (t.sm_value.values - t.sm_truth.values) / 0.04
    assert abs(zs.mean()) < 0.5 and 0.5 < zs.std() < 1.5


def test_cli_and_nothing_partial_on_error(tmp_path, monkeypatch, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"regions: {{{REGION}: {{tile_km: 1, points: [[-5.77, 39.94]]}}}}\n"
        f"data: {{source: synthetic, root: {tmp_path / 'res'}, seed: 1}}\n"
    )
    assert main(["make-demo-data", "--config", str(cfg), "--region", "atlantis"]) == 2
    assert "not configured" in capsys.readouterr().err

    def boom(*a, **k):
        raise RuntimeError("model failure")

    monkeypatch.setattr(demo_data, "run_truth", boom)
    with pytest.raises(RuntimeError, match="model failure"):
        demo_data.make_demo_data(_config(tmp_path), REGION)
    assert not (tmp_path / "resources" / REGION).exists()
    assert list((tmp_path / "resources").iterdir()) == []
