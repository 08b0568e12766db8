"""``make-demo-data``: synthetic native-format inputs for a region, generated from a known truth.

For every planned tile of the region (config ``regions.<name>``) and the window ``period``:

1. Static rasters in their real layouts: CORINE CLC 2018 100 m GeoTIFF and an EPSG:3035 DEM over the tiles
   plus a 2 km margin (:func:`tccas.io.synthetic.rasters.demo_landscape`).
2. Forcing: ERA5-Land hourly NetCDF (one file per calendar year; legacy flavour for Lapland, new CDS flavour
   elsewhere, so both readers are exercised) on the 0.1° nodes around the tile, each node from
   ``tccas.model.synthetic_forcing`` with the same seed (spatially coherent weather) at its own orography.
3. Truth: the files are read back and regridded exactly as the workflow does (so the truth sees the DA's
   forcing), then ``tccas.model.run_pixel`` runs every land pixel with *known perturbed* controls
   ``x_true = clip(x_prior + 0.5 σ_prior z)``, one draw ``z`` per (control, PFT) shared by all pixels of the
   region [D], through the same control mapping and observation operators as the DA
   (``tccas.da.cost.run_model`` / ``equivalents``).
4. Observations at realistic times and densities (obs_da_spec §0 counts per year are the target): TROPOSIF L2B
   daily (~13:30 LST, 3.5 × 5.5 km footprints, clear/cloudy days per region (``P_CLEAR``), SZA/VZA from the
   geometry, σ ≈ 0.35 + 0.1·SIF, §1.6 traps), SMOS-IC daily ascending (06:00) and descending (18:00) files
   (region-dependent share of days without overpass, ``SMOS_GAP``; frozen-soil Scene_Flags when T < 0 °C;
   RMSE with a tail above the
   8 K / 6 K thresholds), JRC-TIP 8-day composites (σ = 0.05 + 0.1·FAPAR, snow/cloud flags).
   A footprint's truth is the mean of the pixel truths over its in-tile modelled cells; footprints (or parts)
   outside the demo tile are assumed to behave like the tile mean (the demo world outside the tile is
   unknown) — the same assumption the membership tables make in the DA.
5. ``truth.zarr`` (controls, per-pixel series and target maps, per-observation truth) and ``manifest.yaml``
   under ``{data.root}/{region}/``.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import zlib
from pathlib import Path

import numpy as np
import xarray as xr
import yaml

from tccas.config import planned_tiles
from tccas.grid import REGIONS, Tile, xy_to_lonlat
from tccas.io import regrid as rg
from tccas.io._util import atomic_path
from tccas.io.smos import ease2_axes
from tccas.io.synthetic import era5 as s_era5
from tccas.io.synthetic import rasters as s_rast
from tccas.io.synthetic import smos as s_smos
from tccas.io.synthetic import tip as s_tip
from tccas.io.synthetic import troposif as s_sif
from tccas.io.tilestore import time_index_hours
from tccas.pipeline.problem import assemble_tile_problem
from tccas.pipeline.regrid import regrid_forcing, regrid_landcover

log = logging.getLogger(__name__)

TRUTH_PERTURBATION = 0.5  # x_true = x_prior + 0.5 σ_prior z [D]
# Probability of a clear overpass day (cloud fraction ≤ 0.15; otherwise 0.3–1), tuned so QC-passed TROPOSIF
# counts per year approach the obs_da_spec §0 site counts (FI-Sod ≈ 127/yr, ES-LM1 ≈ 207/yr) [D].
P_CLEAR = {"lapland": 0.6, "iberia": 0.65, "netherlands": 0.3}
FLAVOUR = {"lapland": "era5_legacy"}  # others: era5_new
# Probability that a pass misses the cell on a day (SMOS revisit: ~daily at 67° N, 2–3 days at 40° N) [D]
SMOS_GAP = {"lapland": 0.1, "iberia": 0.4, "netherlands": 0.3}
TIP_DAYS = 8
TIP_FLAGGED = 0.3  # share of composite cells flagged (cloud/convergence), besides snow [D]
LC_IGBP = {"lapland": 1, "iberia": 8, "netherlands": 1}  # LC_MASK (IGBP majority class) of soundings [?]


def _area(tiles: list[Tile], margin_m: int = 2000) -> tuple[int, int, int, int]:
    x0 = min(t.x0 for t in tiles) - margin_m
    y0 = min(t.y0 for t in tiles) - margin_m
    x1 = max(t.x0 + t.size_m for t in tiles) + margin_m
    y1 = max(t.y0 + t.size_m for t in tiles) + margin_m
    return x0, y0, x1, y1


def _write_static(base: Path, region: str, tiles: list[Tile], rng) -> tuple[dict[str, list[str]], dict]:
    x0, y0, x1, y1 = _area(tiles)
    shape = ((y1 - y0) // 100, (x1 - x0) // 100)
    land = s_rast.demo_landscape(region, shape, rng)
    s_rast.write_corine(base / "corine" / "U2018_CLC2018_V2020_20u1.tif", land["clc_grid"], x0, y1)
    s_rast.write_dem(base / "dem" / f"dem_{region}.tif", land["elevation"], x0, y1)
    return {"corine": ["corine/U2018_CLC2018_V2020_20u1.tif"], "dem": [f"dem/dem_{region}.tif"]}, land


def _write_forcing(base: Path, region: str, tiles: list[Tile], start, end, seed: int, z_mean: float, rng):
    x0, y0, x1, y1 = _area(tiles, 0)
    lon_c, lat_c = xy_to_lonlat((x0 + x1) / 2, (y0 + y1) / 2)
    lat, lon = s_era5.native_grid_for_point(float(lon_c), float(lat_c), 0.1)
    oro = np.maximum(z_mean + rng.normal(0.0, 10.0, (lat.size, lon.size)), 0.0)
    flavour = FLAVOUR.get(region, "era5_new")
    files = []
    for year in range(int(str(start)[:4]), int(str(end)[:4]) + 1):
        d0 = max(np.datetime64(f"{year}-01-01"), start)
        d1 = min(np.datetime64(f"{year}-12-31"), end)
        n_days = int((d1 - d0).astype(int)) + 1
        fields = s_era5.grid_forcing_fields(lat, lon, oro, d0, n_days, seed)
        name = s_era5.era5_filename("era5_land", d0, d1, flavour)
        s_era5.write_era5(base / "era5" / name, d0, fields, lat, lon, oro, "era5_land", flavour)
        files.append(f"era5/{name}")
    return files, flavour


def _truth_controls(problem, settings, rng_seed: int):
    """Prior and perturbed truth control vectors per pixel (one z per control name and PFT)."""
    import jax

    from tccas.da import controls
    from tccas.da.pixel import layout_for

    n_tiles = problem.pfts.shape[1]
    layout = layout_for(n_tiles, settings)
    x_true, names, priors = [], [], {}
    for pfts in problem.pfts:
        combo = tuple(int(p) for p in pfts)  # pixels share a few PFT combinations: one prior each
        if combo not in priors:
            priors[combo] = jax.tree_util.tree_map(np.asarray, controls.prior(layout, pfts))
        pr = priors[combo]
        z = []
        for n, t in zip(layout.names, layout.tiles, strict=True):
            code = int(pfts[t]) if t >= 0 else -1
            z.append(np.random.default_rng([rng_seed, zlib.crc32(n.encode()), code + 1]).normal())
        x = np.clip(
            np.asarray(pr.x0) + TRUTH_PERTURBATION * np.asarray(pr.sigma0) * np.array(z),
            np.asarray(pr.lower),
            np.asarray(pr.upper),
        )
        x_true.append(x)
        names.append(controls.control_names(layout, pfts))
    return np.stack(x_true), names


@functools.cache
def _truth_batched(settings):
    """``jit(vmap(truth of one pixel))``, built once per process and settings: model, every hourly equivalent
    of SIF/L-VOD/SM, daily FAPAR at 00 UTC, daily series and targets (the DA's own ``tccas.da.cost``
    functions)."""
    import jax
    import jax.numpy as jnp

    from tccas.da import cost
    from tccas.da.pixel import layout_for

    def one(x, prob):
        n_days = prob.forcing.day_number.shape[0]
        hours = jnp.arange(n_days * 24)
        t_hours = {"sif": hours, "vod": hours, "sm": hours, "fapar": jnp.arange(n_days) * 24}
        out, op = cost.run_model(x, prob, layout_for(prob.pfts.shape[0], settings), settings)
        eq = cost.equivalents(out, op, prob, settings, t_hours)
        series, targets = cost.series_and_targets(out, op, prob, settings)
        return eq, series, targets

    return jax.jit(jax.vmap(one))


def run_truth(problem, settings, seed: int, batch_size: int) -> dict[str, np.ndarray]:
    """Run the model and the four operators for every pixel of a :class:`TileProblem` with the truth controls.

    The pixels go in padded batches of ``batch_size`` (the assimilation's), so every region of a run calls one
    program, traced and compiled once through the exported-program store (:func:`~tccas.pipeline.cluster.
    compiled_for`). Returns per-pixel hourly SIF/VOD/SM equivalents ``(n_pixels, n_days·24)``, daily FAPAR at
    00 UTC ``(n_pixels, n_days)``, daily series and scalar targets, and the controls.
    """
    import jax

    from tccas.pipeline.assimilate import padded_index_batches
    from tccas.pipeline.cluster import compiled_for

    x_true, names = _truth_controls(problem, settings, seed)
    func = _truth_batched(settings)
    parts = []
    for _, padded, n_real in padded_index_batches(problem.n_pixels, batch_size):
        args = (x_true[padded], problem.batch(padded))
        out = compiled_for(func, *args, name=f"tccas.demo.truth:{settings!r}")(*args)
        parts.append(jax.tree_util.tree_map(lambda a, n=n_real: np.asarray(a)[:n], out))
    eq, series, targets = jax.tree_util.tree_map(lambda *a: np.concatenate(a), *parts)
    return {"eq": eq, "series": series, "targets": targets, "x_true": x_true, "names": names}


def _member_pixels(members, tile: Tile, pixel_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(footprint key, pixel index)`` of every in-tile member cell that is a modelled (land) pixel."""
    m = rg.split_by_tile(members, tile)
    row, col = tile.rowcol(m.ix.values, m.iy.values)
    pix = pixel_index[row, col]
    ok = pix >= 0
    return m.fp_key.values[ok].astype(np.int64), pix[ok]


def _footprint_truth(
    members, tile: Tile, pixel_value: np.ndarray, pixel_index: np.ndarray
) -> dict[int, float]:
    """Mean of pixel values over each footprint's in-tile modelled cells (missing → not in dict)."""
    keys, pix = _member_pixels(members, tile, pixel_index)
    uniq, inverse = np.unique(keys, return_inverse=True)
    mean = np.bincount(inverse, weights=pixel_value[pix]) / np.bincount(inverse)
    return dict(zip(uniq.tolist(), mean.tolist(), strict=True))


def _records(records: list[tuple[np.ndarray, np.ndarray]], n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (int64 obs keys, float columns) pairs; keys stay integers (they exceed 2^53)."""
    if not records:
        return np.zeros(0, np.int64), np.zeros((0, n_cols))
    return (np.concatenate([k for k, _ in records]).astype(np.int64), np.concatenate([v for _, v in records]))


def _lookup(table: dict[int, float], keys: np.ndarray, default: float) -> np.ndarray:
    """Footprint truth for an array of keys; keys outside the tile take ``default`` (the tile mean)."""
    return np.array([table.get(int(k), default) for k in np.ravel(keys)]).reshape(np.shape(keys))


def _obs_sif(base, region, tile, problem, truth, pixel_index, rng, start, n_days):
    eq = truth["eq"]["sif"]
    files, records = [], []
    for d in range(n_days):
        date = start + d
        geom = s_sif.troposif_footprints(tile, date, rng)
        n = geom["lon"].size
        keys = np.arange(n)
        members, _ = rg.quad_membership(
            keys, geom["lon_bounds"].reshape(n, 4), geom["lat_bounds"].reshape(n, 4), tile.res, tile
        )
        t_hour = time_index_hours(geom["time"].ravel(), start)
        hour = np.clip(t_hour, 0, n_days * 24 - 1)
        fp_key, fp_pix = _member_pixels(members, tile, pixel_index)  # footprint k: mean at its own hour
        count = np.bincount(fp_key, minlength=n)
        total = np.bincount(fp_key, weights=eq[fp_pix, hour[fp_key]], minlength=n)
        value = np.where(count > 0, total / np.maximum(count, 1), eq[:, hour].mean(axis=0))
        sigma = 0.35 + 0.1 * np.abs(value)
        obs = value + rng.normal(0.0, 1.0, n) * sigma
        day_cf = rng.uniform(0.0, 0.15) if rng.uniform() < P_CLEAR[region] else rng.uniform(0.3, 1.0)
        cf = np.clip(day_cf + rng.normal(0.0, 0.05, n), 0.0, 1.0)
        traps = s_sif.trap_indices(geom, tile)
        name = s_sif.l2b_filename(date)
        s_sif.write_troposif_l2b(
            base / "troposif" / str(date)[:4] / name,
            date,
            geom,
            obs,
            sigma,
            cf,
            np.full(n, LC_IGBP[region], np.uint8),
            traps=traps,
        )
        files.append(f"troposif/{str(date)[:4]}/{name}")
        key0 = int(str(date).replace("-", "")) * 10_000_000
        records.append((key0 + keys, np.stack([value, obs], -1)))
    return files, _records(records, 2)


def _obs_smos(base, region, tile, problem, truth, pixel_index, rng, start, n_days):
    window = s_smos.ease2_window(tile)
    _glat, glon = ease2_axes()
    lon = glon[window[1]]
    shape = (window[0].stop - window[0].start, window[1].stop - window[1].start)
    members, _ = rg.ease2_membership(tile)
    t_air = problem.native["t_air"].mean(axis=(1, 2))  # hourly, tile-area mean [°C]
    files, records = [], []
    for d in range(n_days):
        date = start + d
        for pass_ in ("A", "D"):
            if rng.uniform() < SMOS_GAP[region]:
                continue
            days, secs = s_smos.smos_time_fields(date, lon[None, :], pass_, shape)
            t = (
                np.datetime64("2000-01-01T00:00:00", "s")
                + days.astype("timedelta64[D]")
                + secs.astype("timedelta64[s]")
            )
            hour = np.clip(time_index_hours(t.ravel(), start), 0, n_days * 24 - 1).reshape(shape)
            h_c = int(hour[shape[0] // 2, shape[1] // 2])
            sm_fp = _footprint_truth(members, tile, truth["eq"]["sm"][:, h_c], pixel_index)
            vod_fp = _footprint_truth(members, tile, truth["eq"]["vod"][:, h_c], pixel_index)
            sm_mean = float(truth["eq"]["sm"][:, h_c].mean())
            vod_mean = float(truth["eq"]["vod"][:, h_c].mean())
            rows = np.arange(window[0].start, window[0].stop)[:, None]
            cols = np.arange(window[1].start, window[1].stop)[None, :]
            key = rows * 1388 + cols
            sm_true = _lookup(sm_fp, key, sm_mean)
            vod_true = _lookup(vod_fp, key, vod_mean)
            sm_sigma = np.full(shape, 0.04)
            vod_sigma = 0.05 + 0.1 * vod_true
            frozen = t_air[h_c] < 0.0
            fields = {
                "sm": np.clip(sm_true + rng.normal(0, 1, shape) * sm_sigma, 0.0, 0.7),
                "sm_sigma": sm_sigma,
                "vod": np.maximum(vod_true + rng.normal(0, 1, shape) * vod_sigma, 0.0),
                "vod_sigma": vod_sigma,
                "rmse": rng.gamma(3.0, 1.3, shape),
                "scene_flags": np.full(shape, 2 if frozen else 0, np.int16),
                "quality_flag": np.where(rng.uniform(size=shape) < 0.05, 2, 0).astype(np.int16),
                "days": days,
                "utc_seconds": secs,
            }
            name = s_smos.smos_ic_filename(date, pass_)
            folder = "ASC" if pass_ == "A" else "DES"
            s_smos.write_smos_ic(base / "smos_ic" / folder / name, date, pass_, fields, window)
            files.append(f"smos_ic/{folder}/{name}")
            date_key = int(str(date).replace("-", "")) * 10_000_000 + (0 if pass_ == "A" else 1_000_000)
            records.append(
                (
                    (date_key + key).ravel(),
                    np.stack(
                        [sm_true.ravel(), fields["sm"].ravel(), vod_true.ravel(), fields["vod"].ravel()], -1
                    ),
                )
            )
    return files, _records(records, 4)


def _obs_tip(base, region, tile, problem, truth, pixel_index, rng, start, n_days):
    lat, lon = s_tip.latlon_axes_for_tile(tile)
    members, _ = rg.latlon_membership(tile, 0.01)
    t_air = problem.native["t_air"].mean(axis=(1, 2)).reshape(n_days, 24).mean(1)
    files, records = [], []
    r = np.floor((90.0 - lat) / 0.01).astype(np.int64)[:, None]
    c = np.floor((lon + 180.0) / 0.01).astype(np.int64)[None, :]
    key = r * 36000 + c
    for d in range(0, n_days, TIP_DAYS):
        date = start + d
        fp = _footprint_truth(members, tile, truth["eq"]["fapar"][:, d], pixel_index)
        mean = float(truth["eq"]["fapar"][:, d].mean())
        true = _lookup(fp, key, mean)
        sigma = 0.05 + 0.1 * true
        flag = np.where(rng.uniform(size=true.shape) < TIP_FLAGGED, 2, 0).astype(np.uint8)
        if t_air[d] < -2.0:
            flag[:] = 2  # snow: no valid retrieval
        value = np.clip(true + rng.normal(0, 1, true.shape) * sigma, 0.0, 1.0)
        name = s_tip.tip_filename(date)
        s_tip.write_jrc_tip(base / "jrc_tip" / name, date, lat, lon, value, sigma, flag)
        files.append(f"jrc_tip/{name}")
        records.append(
            (
                (int(str(date).replace("-", "")) * 10_000_000_000 + key).ravel(),
                np.stack([true.ravel(), value.ravel()], -1),
            )
        )
    return files, _records(records, 2)


def make_demo_data(config: dict, region: str) -> Path:
    """Write the demo inputs and truth of ``region`` under ``{data.root}/{region}``; return the manifest
    path."""
    from tccas.da.pixel import AssimilationSettings

    if region not in config["regions"]:
        raise ValueError(f"region {region!r} is not configured")
    tiles = planned_tiles(config, region)
    if len(tiles) != 1:
        raise ValueError(
            f"make-demo-data writes demo inputs for one tile per region; {region} plans {len(tiles)}"
        )
    tile = tiles[0]
    period = config["period"]
    start, end = np.datetime64(period["start"], "D"), np.datetime64(period["end"], "D")
    n_days = int((end - start).astype(int)) + 1
    seed = int(config["data"].get("seed", 0)) + list(REGIONS).index(region)
    rng = np.random.default_rng(seed)
    root = Path(config["data"]["root"])
    base = root / region
    with atomic_path(base) as tmp:
        static, land = _write_static(tmp, region, tiles, rng)
        forcing_files, flavour = _write_forcing(
            tmp, region, tiles, start, end, seed, float(land["elevation"].mean()), rng
        )
        lc = regrid_landcover(tmp / static["corine"][0], tmp / static["dem"][0], region, tile)
        fo = regrid_forcing([tmp / f for f in forcing_files], tile, lc["elevation"].values)
        problem = assemble_tile_problem({"landcover": lc, "forcing": fo}, config, region, tile)
        settings = AssimilationSettings.from_config(config)
        truth = run_truth(problem, settings, seed, int(config["assimilation"]["pixels_per_batch"]))
        pixel_index = np.full(tile.shape, -1, np.int64)
        pixel_index[problem.rows, problem.cols] = np.arange(problem.n_pixels)
        args = (region, tile, problem, truth, pixel_index, rng, start, n_days)
        sif_files, sif_rec = _obs_sif(tmp, *args)
        smos_files, smos_rec = _obs_smos(tmp, *args)
        tip_files, tip_rec = _obs_tip(tmp, *args)
        _write_truth(tmp / "truth.zarr", problem, truth, sif_rec, smos_rec, tip_rec, tile)
        manifest = {
            "region": region,
            "tiles": [tile.name],
            "period": {"start": str(start), "end": str(end)},
            "seed": seed,
            "truth": "truth.zarr",
            "products": {
                "forcing": {"files": forcing_files, "product": "era5_land", "flavour": flavour},
                "corine": {"files": static["corine"]},
                "dem": {"files": static["dem"]},
                "sif": {"files": sif_files, "level": "l2b"},
                "smos": {"files": smos_files, "flavour": "smos_ic"},
                "fapar": {"files": tip_files, "flavour": "jrc_tip"},
            },
        }
        (tmp / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    log.info("demo data for %s written to %s", region, base)
    return base / "manifest.yaml"


def _write_truth(path: Path, problem, truth, sif_rec, smos_rec, tip_rec, tile: Tile) -> None:
    maps = {}
    for k, v in truth["targets"].items():
        m = np.full(tile.shape, np.nan)
        m[problem.rows, problem.cols] = v
        maps[f"map_{k}"] = (("y", "x"), m)
    ds = xr.Dataset(
        {
            "x_true": (("pixel", "control"), truth["x_true"]),
            "row": ("pixel", problem.rows),
            "col": ("pixel", problem.cols),
            "pft": (("pixel", "slot"), problem.pfts),
            "fraction": (("pixel", "slot"), problem.fractions),
            **{f"series_{k}": (("pixel", "day"), v) for k, v in truth["series"].items()},
            **{f"target_{k}": ("pixel", v) for k, v in truth["targets"].items()},
            **maps,
            "sif_obs_key": ("sif_obs", sif_rec[0]),
            "sif_truth": ("sif_obs", sif_rec[1][:, 0]),
            "sif_value": ("sif_obs", sif_rec[1][:, 1]),
            "smos_obs_key": ("smos_obs", smos_rec[0]),
            "sm_truth": ("smos_obs", smos_rec[1][:, 0]),
            "sm_value": ("smos_obs", smos_rec[1][:, 1]),
            "vod_truth": ("smos_obs", smos_rec[1][:, 2]),
            "vod_value": ("smos_obs", smos_rec[1][:, 3]),
            "fapar_obs_key": ("fapar_obs", tip_rec[0]),
            "fapar_truth": ("fapar_obs", tip_rec[1][:, 0]),
            "fapar_value": ("fapar_obs", tip_rec[1][:, 1]),
        },
        coords={"y": tile.y, "x": tile.x, "day": problem.dates},
        attrs={
            "tile": tile.name,
            "region": problem.region,
            "truth_perturbation_sigma": TRUTH_PERTURBATION,
            "control_names": json.dumps(truth["names"]),
            "footprint_rule": "footprint truth = mean of in-tile pixels; outside the tile = tile mean",
        },
    )
    if path.exists():
        shutil.rmtree(path)
    ds.to_zarr(path, mode="w", consolidated=False)
