"""The regrid step on a small synthetic world (files written in real layouts with known values)."""

from __future__ import annotations

import shutil

import netCDF4
import numpy as np
import pytest

from tccas.cli import main
from tccas.config import validate_config
from tccas.grid import tile_containing, xy_to_lonlat
from tccas.io import regrid as rg
from tccas.io.errors import CorruptFileError, DataGapError, MissingFieldError
from tccas.io.synthetic.world import fapar_value, sif_value, sm_value, vod_value, write_world
from tccas.io.tilestore import read_tile_store
from tccas.io.troposif import read_troposif_l2b
from tccas.pipeline.regrid import load_manifest, product_files, run_regrid

REGION = "netherlands"
TILE = tile_containing(5.74, 52.17, 1)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    write_world(root / "resources" / REGION, REGION, TILE, "2018-06-01", 3, seed=3)
    config = validate_config(
        {
            "period": {"start": "2018-06-01", "end": "2018-06-03", "spinup_years": 0},
            "regions": {REGION: {"tile_km": 1, "points": [[5.74, 52.17]]}},
            "data": {"source": "synthetic", "root": str(root / "resources"), "seed": 3},
            "outputs": {"root": str(root / "results")},
        }
    )
    stores = {
        p: run_regrid(config, REGION, TILE.name, p) for p in ("forcing", "landcover", "sif", "smos", "fapar")
    }
    return root, config, stores


def test_store_paths_and_products(world):
    root, _, stores = world
    for product, path in stores.items():
        assert path == root / "results" / "regrid" / REGION / TILE.name / f"{product}.zarr"
        read_tile_store(path, product)


def test_sif_values_and_footprints_recovered(world):
    root, _, stores = world
    ds = read_tile_store(stores["sif"], "sif")
    assert ds.sizes["obs"] > 0
    np.testing.assert_allclose(ds.value.values, sif_value(ds.obs_key.values), rtol=1e-6)
    # membership of each sounding = cells whose centre is inside its corner polygon, recomputed from files
    day = str(ds.time.values[0])[:10]
    native = read_troposif_l2b(root / "resources" / REGION / "troposif" / f"TROPOSIF_L2B_{day}.nc")
    k = int(ds.obs_key.values[0])
    i = int(np.nonzero(native.obs_key.values == k)[0][0])
    m, n_total = rg.quad_membership(
        np.array([k]), native.lon_bounds.values[i : i + 1], native.lat_bounds.values[i : i + 1], tile=TILE
    )
    sel = ds.fp_key_m.values == k
    assert set(zip(ds.ix.values[sel].tolist(), ds.iy.values[sel].tolist(), strict=True)) == set(
        zip(m.ix.values.tolist(), m.iy.values.tolist(), strict=True)
    )
    j = int(np.nonzero(ds.obs_key.values == k)[0][0])
    assert np.isclose(ds.coverage.values[j], sel.sum() / n_total[0])
    # the traps never survive
    assert (
        ds.attrs["qc_counts"]["fill"] >= 3
        and ds.attrs["qc_counts"]["sza"] + ds.attrs["qc_counts"]["cloud"] >= 6
    )


def test_smos_and_fapar_values_by_cell(world):
    _, _, stores = world
    sm = read_tile_store(stores["smos"], "smos")
    assert set(np.unique(sm.fp_key_m.values)) == set(np.unique(sm.fp_key.values))
    np.testing.assert_allclose(sm.sm.values, sm_value(sm.fp_key.values), rtol=1e-6)
    np.testing.assert_allclose(sm.vod.values, vod_value(sm.fp_key.values), rtol=1e-6)
    assert sm.sizes["obs"] == 3 * 2 * np.unique(sm.fp_key.values).size  # 3 days × 2 passes
    fa = read_tile_store(stores["fapar"], "fapar")
    np.testing.assert_allclose(fa.value.values, fapar_value(fa.fp_key.values), rtol=1e-6)
    # each 100 m cell sits in exactly one 0.01° cell; the table covers the tile once
    assert fa.sizes["member"] == TILE.nx * TILE.ny
    lon, lat = xy_to_lonlat((fa.ix.values + 0.5) * 100, (fa.iy.values + 0.5) * 100)
    r, c = np.divmod(fa.fp_key_m.values, 36000)
    assert np.all((lat <= 90 - r * 0.01) & (lat > 90 - (r + 1) * 0.01))
    assert np.all((lon >= -180 + c * 0.01) & (lon < -180 + (c + 1) * 0.01))


def test_forcing_and_landcover_stores(world):
    _, _, stores = world
    fo = read_tile_store(stores["forcing"], "forcing")
    assert fo.sizes["time"] == 72 and fo.weight.shape == (10, 10, 4)
    np.testing.assert_allclose(fo.weight.sum("corner4"), 1.0)
    lc = read_tile_store(stores["landcover"], "landcover")
    assert lc.land.values.all()
    assert np.all(lc.fraction.sum("slot") + lc.bare_fraction <= 1.0 + 1e-12)
    assert lc.rio.crs.to_epsg() == 3035
    np.testing.assert_allclose(fo.elevation.values, lc.elevation.values)


def test_cli_regrid_and_user_errors(world, tmp_path, capsys):
    root, _, _ = world
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"period: {{start: '2018-06-01', end: '2018-06-03', spinup_years: 0}}\n"
        f"regions: {{{REGION}: {{tile_km: 1, points: [[5.74, 52.17]]}}}}\n"
        f"data: {{source: synthetic, root: {root / 'resources'}, seed: 3}}\n"
    )
    out = tmp_path / "fapar.zarr"
    assert (
        main(
            [
                "regrid",
                "--config",
                str(cfg),
                "--region",
                REGION,
                "--tile",
                TILE.name,
                "--product",
                "fapar",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert read_tile_store(out, "fapar").sizes["member"] == 100
    assert (
        main(
            [
                "regrid",
                "--config",
                str(cfg),
                "--region",
                "atlantis",
                "--tile",
                TILE.name,
                "--product",
                "fapar",
            ]
        )
        == 2
    )
    assert "not configured" in capsys.readouterr().err
    far = "1kmE2650N1440"  # a tile the native files do not cover
    assert (
        main(
            [
                "regrid",
                "--config",
                str(cfg),
                "--region",
                REGION,
                "--tile",
                far,
                "--product",
                "fapar",
                "--out",
                str(tmp_path / "x.zarr"),
            ]
        )
        == 2
    )
    assert "outside the product's coverage" in capsys.readouterr().err
    assert not (tmp_path / "x.zarr").exists()


@pytest.fixture
def world_copy(world, tmp_path):
    """A private copy of the world's native files (the tests below damage them) and its config."""
    root, config, _ = world
    shutil.copytree(root / "resources", tmp_path / "resources")
    return tmp_path / "resources", {**config, "data": {**config["data"], "root": str(tmp_path / "resources")}}


def test_forcing_gap_is_refused_with_file_variable_and_hours(world_copy, tmp_path):
    """Issue #29 (b): t2m = NaN (the card's fill) for 24 hours is refused, not passed on as NaN forcing."""
    resources, config = world_copy
    era5 = next((resources / REGION / "era5").glob("*.nc"))
    with netCDF4.Dataset(era5, "a") as nc:
        nc["t2m"][24:48] = np.nan
    with pytest.raises(
        DataGapError,
        match=r"\[t2m\]: gap in the data: 24 hours without a value at the nodes the tile interpolates from "
        r"\(2018-06-02T00:00:00.* \.\. 2018-06-02T23:00:00.*forcing gaps are not filled",
    ) as err:
        run_regrid(config, REGION, TILE.name, "forcing", tmp_path / "forcing.zarr")
    assert err.value.path == era5
    assert not (tmp_path / "forcing.zarr").exists()


def test_product_files_follow_the_manifest(world_copy):
    resources, _ = world_copy
    manifest = load_manifest(resources, REGION)
    base = resources / REGION
    files = product_files(manifest, base, "forcing")
    assert set(files) == {"forcing", "dem"} and all(f.is_file() for f in files["forcing"] + files["dem"])
    assert set(product_files(manifest, base, "landcover")) == {"corine", "dem"}  # worldcover is optional
    assert product_files(manifest, base, "smos")["smos"] == [
        base / f for f in manifest["products"]["smos"]["files"]
    ]
    del manifest["products"]["dem"]
    with pytest.raises(MissingFieldError, match=r"m\.yaml \[products\.dem\.files\]: .*needed for forcing"):
        product_files(manifest, base, "forcing", "m.yaml")


def test_malformed_manifest_names_the_file(world_copy):
    resources, _ = world_copy
    path = resources / REGION / "manifest.yaml"
    path.write_text("products: [unclosed\n")
    with pytest.raises(CorruptFileError, match=r"manifest\.yaml: corrupt or truncated file: not valid YAML"):
        load_manifest(resources, REGION)
    path.write_text("region: netherlands\n")
    with pytest.raises(MissingFieldError, match=r"manifest\.yaml \[products\]"):
        load_manifest(resources, REGION)
