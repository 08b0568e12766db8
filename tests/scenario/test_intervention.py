"""Pipeline step ``intervention`` (tccas.pipeline.intervention) and its CLI subcommand: the parts that do not
need a compiled scenario (reading per-tile posteriors, pixel lookup, settings, argument handling)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tccas.cli import build_parser, main
from tccas.config import validate_config
from tccas.grid import lonlat_to_cell, tile_containing
from tccas.pipeline import intervention
from tccas.scenario import tree_pft_from_config


def _result(ny=3, nx=4, n_c=3, seed=0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(ny, nx, n_c, n_c))
    cov = np.einsum("yxij,yxkj->yxik", a, a)
    return xr.Dataset(
        {
            "x_post": (("control", "y", "x"), rng.normal(size=(n_c, ny, nx))),
            "x_prior": (("control", "y", "x"), rng.normal(size=(n_c, ny, nx))),
            "x_sd_prior": (("control", "y", "x"), rng.uniform(1, 2, (n_c, ny, nx))),
            "x_sd_post": (("control", "y", "x"), rng.uniform(0, 1, (n_c, ny, nx))),
            "x_cov_post": (("y", "x", "control", "control_2"), cov),
            "status": (("y", "x"), rng.integers(0, 4, (ny, nx)).astype(np.int32)),
        }
    )


def test_tile_posterior_reads_full_covariance_at_pixels():
    ds = _result()
    rows, cols = np.array([0, 2, 1]), np.array([3, 0, 1])
    post = intervention.tile_posterior(ds, rows, cols, "r.zarr")
    assert post["covariance"] == "full"
    np.testing.assert_allclose(post["x_post"][1], ds["x_post"].values[:, 2, 0])
    np.testing.assert_allclose(post["x_cov_post"][2], ds["x_cov_post"].values[1, 1])
    np.testing.assert_array_equal(post["status"], ds["status"].values[rows, cols])


def test_tile_posterior_diagonal_fallback_and_missing_variable():
    ds = _result().drop_vars("x_cov_post")
    post = intervention.tile_posterior(ds, np.array([1]), np.array([2]), "r.zarr")
    assert post["covariance"] == "diagonal"
    np.testing.assert_allclose(np.diag(post["x_cov_post"][0]), ds["x_sd_post"].values[:, 1, 2] ** 2)
    assert post["x_cov_post"][0][0, 1] == 0.0
    with pytest.raises(KeyError, match=r"r\.zarr.*x_prior"):
        intervention.tile_posterior(ds.drop_vars("x_prior"), np.array([1]), np.array([2]), "r.zarr")


def test_usable_pixels_need_a_usable_status_and_a_finite_posterior():
    ds = _result()
    ds["status"][:] = np.array([[0, 1, 2, 3], [4, 0, 0, 0], [1, 1, 1, 1]], dtype=np.int32)
    x = ds["x_post"].values.copy()
    x[1, 1, 2] = np.nan
    ds["x_post"] = (("control", "y", "x"), x)
    rows, cols = np.divmod(np.arange(12), 4)
    usable = intervention.usable_pixels(ds, rows, cols, "r.zarr", chunk=5)  # three reads of <= 5 pixels
    expected = np.array([1, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1], dtype=bool)
    np.testing.assert_array_equal(usable, expected)


def test_point_pixel_lookup():
    lon, lat = -5.77, 39.94
    tile = tile_containing(lon, lat, 1)
    ix, iy = lonlat_to_cell(lon, lat)
    row, col = tile.iy0 + tile.ny - 1 - int(iy), int(ix) - tile.ix0

    class Problem:
        def __init__(self):
            self.tile = tile
            self.rows = np.array([0, row, 5])
            self.cols = np.array([0, col, 5])

    assert intervention._point_pixel(Problem(), (lon, lat)) == 1
    assert intervention._point_pixel(Problem(), (lon + 0.5, lat)) is None
    assert intervention._point_pixel(Problem(), None) is None


def test_settings_from_config():
    cfg = validate_config(
        {"regions": {"lapland": {"tile_km": 1, "whole_region": True}}, "scenario": {"horizon_years": 10}}
    )
    s = intervention.scenario_settings(cfg)
    assert (s.horizon_years, s.removed_biomass) == (10, "litter")
    assert tree_pft_from_config(cfg, "lapland") == 5
    assert cfg["scenario"]["pixels_per_batch"] == 4


def test_cli_parses_and_rejects_unknown_region(tmp_path, capsys):
    args = build_parser().parse_args(
        [
            "intervention-tile",
            "--config",
            "c.yaml",
            "--region",
            "iberia",
            "--tile",
            "1kmE3154N1951",
            "--output",
            "t.zarr",
            "--pixel",
            "-5.77",
            "39.94",
        ]
    )
    assert args.pixel == [-5.77, 39.94] and args.func.__module__ == "tccas.cli.scenario"
    args = build_parser().parse_args(
        [
            "intervention",
            "--config",
            "c.yaml",
            "--region",
            "iberia",
            "--out",
            "s.json",
            "--overviews",
            "o.zarr",
        ]
    )
    assert args.overviews == "o.zarr"
    config = tmp_path / "config.yaml"
    config.write_text("regions:\n  iberia: {tile_km: 1, whole_region: true}\n")
    code = main(
        ["intervention", "--config", str(config), "--region", "lapland", "--out", str(tmp_path / "s.json")]
    )
    assert code == 2
    assert "lapland" in capsys.readouterr().err
    code = main(
        [
            "intervention-tile",
            "--config",
            str(config),
            "--region",
            "lapland",
            "--tile",
            "1kmE3154N1951",
            "--output",
            str(tmp_path / "t.zarr"),
        ]
    )
    assert code == 2 and "lapland" in capsys.readouterr().err
    assert not (tmp_path / "t.zarr").exists()
