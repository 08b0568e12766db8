"""``make-demo-data``: synthetic native-format inputs for a region, generated from a known truth.

For every planned tile of the region (config ``regions.<name>``, any number of tiles) and the window
``period``:

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
   The observation geometry covers all planned tiles at once (:class:`Cover`), so a footprint over a tile
   edge is one observation; its truth is the mean of the pixel truths over its modelled cells in all tiles
   (accumulated tile by tile), and a footprint without any modelled cell takes the mean of all pixels (the
   demo world outside the tiles is unknown).
5. ``truth.zarr`` (controls, per-pixel series and target maps, per-observation truth) and ``manifest.yaml``
   under ``{data.root}/{region}/``.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import zlib
from dataclasses import dataclass
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
MAX_DEMO_CELLS = 1_000_000  # static demo rasters: 10 000 km² of 100 m cells (≈ 50 MB of fields) [D]
ERA5_RES_DEG = 0.1


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


def _era5_axes(tiles: list[Tile], res: float = ERA5_RES_DEG) -> tuple[np.ndarray, np.ndarray]:
    """ERA5-Land node axes (degrees; lat descending, lon ascending) covering the tiles' bounding box with one
    node west/south and two east/north of it (the bilinear stencil of every cell)."""
    x0, y0, x1, y1 = _area(tiles, 0)
    lon, lat = xy_to_lonlat(np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
    la = np.arange(np.floor(lat.min() / res) - 1, np.floor(lat.max() / res) + 3)[::-1] * res
    lo = np.arange(np.floor(lon.min() / res) - 1, np.floor(lon.max() / res) + 3) * res
    return np.round(la, 6), np.round(lo, 6)


def _write_forcing(base: Path, region: str, tiles: list[Tile], start, end, seed: int, z_mean: float, rng):
    lat, lon = _era5_axes(tiles)
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


@dataclass(frozen=True)
class Cover:
    """The square (EPSG:3035 metres) around all planned tiles of a region over which the observation
    geometry (TROPOSIF footprints, SMOS EASE2 window, JRC-TIP lattice) is generated once, so a footprint that
    straddles a tile edge is one observation of every tile it covers. It has the ``bounds`` and ``size_m`` of
    a :class:`~tccas.grid.Tile`, the only attributes the ``tccas.io.synthetic`` geometry generators read."""

    bounds: tuple[float, float, float, float]
    size_m: float


def cover_of(tiles: list[Tile]) -> Cover:
    """The square :class:`Cover` centred on the bounding box of ``tiles`` (side = its longer edge, m)."""
    x0, y0, x1, y1 = _area(tiles, 0)
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    return Cover((cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2), side)


def _footprint_sums(members, tile: Tile, pixel_value: np.ndarray, pixel_index: np.ndarray):
    """``(footprint keys, sum, count)`` of pixel values over each footprint's modelled cells in ``tile``;
    ``pixel_value`` is ``(n_pixels,)`` or ``(n_pixels, n_fp)`` (SIF: the value at each footprint's hour)."""
    m = rg.split_by_tile(members, tile)
    row, col = tile.rowcol(m.ix.values, m.iy.values)
    pix = pixel_index[row, col]
    ok = pix >= 0
    keys, pix = m.fp_key.values[ok].astype(np.int64), pix[ok]
    uniq, inverse = np.unique(keys, return_inverse=True)
    values = pixel_value[pix] if pixel_value.ndim == 1 else pixel_value[pix, keys]
    return uniq, np.bincount(inverse, weights=values), np.bincount(inverse).astype(float)


class _Sums:
    """Running sums over tiles of the truth of each footprint (``sum``, ``count`` per key) and of every
    modelled pixel (``total``, ``n``: the fallback for footprints without a modelled cell in any tile)."""

    def __init__(self, keys: np.ndarray, n_values: int = 1):
        self.keys = np.asarray(keys, np.int64)
        self.sum = np.zeros((n_values, self.keys.size))
        self.count = np.zeros(self.keys.size)
        self.total = np.zeros((n_values, self.keys.size))
        self.n = 0

    def add(self, uniq, sums, counts, k: int = 0) -> None:
        pos = np.searchsorted(self.keys, uniq)
        self.sum[k, pos] += sums
        if k == 0:
            self.count[pos] += counts

    def truth(self) -> np.ndarray:
        """Footprint truth ``(n_values, n_keys)``: mean over modelled cells of all tiles, else the mean over
        all modelled pixels (the demo world outside the tiles behaves like their mean)."""
        return np.where(self.count > 0, self.sum / np.maximum(self.count, 1), self.total / max(self.n, 1))


def _sif_geometry(cover: Cover, start, n_days: int, seed: int) -> list[dict]:
    """Per day: TROPOSIF footprints over ``cover`` (own generator per day), their keys and hours."""
    days = []
    for d in range(n_days):
        rng = np.random.default_rng([seed, 1, d])
        geom = s_sif.troposif_footprints(cover, start + d, rng)
        n = geom["lon"].size
        hour = np.clip(time_index_hours(geom["time"].ravel(), start), 0, n_days * 24 - 1)
        days.append({"geom": geom, "n": n, "hour": hour, "sums": _Sums(np.arange(n))})
    return days


def _smos_passes(
    cover: Cover, region: str, start, n_days: int, rng
) -> tuple[tuple[slice, slice], list[dict]]:
    """The EASE2 window over ``cover`` and the SMOS passes of the window (a pass misses the area with
    probability ``SMOS_GAP``): date, pass, time fields and the hour of the window centre."""
    window = s_smos.ease2_window(cover)
    _glat, glon = ease2_axes()
    lon = glon[window[1]]
    shape = (window[0].stop - window[0].start, window[1].stop - window[1].start)
    key = _window_keys(window)
    passes = []
    for d in range(n_days):
        for pass_ in ("A", "D"):
            if rng.uniform() < SMOS_GAP[region]:
                continue
            days, secs = s_smos.smos_time_fields(start + d, lon[None, :], pass_, shape)
            t = (
                np.datetime64("2000-01-01T00:00:00", "s")
                + days.astype("timedelta64[D]")
                + secs.astype("timedelta64[s]")
            )
            hour = np.clip(time_index_hours(t.ravel(), start), 0, n_days * 24 - 1).reshape(shape)
            passes.append(
                {
                    "date": start + d,
                    "pass": pass_,
                    "days": days,
                    "secs": secs,
                    "h_c": int(hour[shape[0] // 2, shape[1] // 2]),
                    "sums": _Sums(np.sort(key.ravel()), 2),
                }
            )
    return window, passes


def _tip_composites(cover: Cover, n_days: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
    """The JRC-TIP 0.01° lattice over ``cover`` (lat, lon, keys) and one accumulator per 8-day composite."""
    lat, lon = s_tip.latlon_axes_for_tile(cover)
    r = np.floor((90.0 - lat) / 0.01).astype(np.int64)[:, None]
    c = np.floor((lon + 180.0) / 0.01).astype(np.int64)[None, :]
    key = r * 36000 + c
    return (
        lat,
        lon,
        key,
        [{"day": d, "sums": _Sums(np.sort(key.ravel()))} for d in range(0, n_days, TIP_DAYS)],
    )


def _accumulate(tile: Tile, truth, pixel_index, sif_days, smos_passes, tip_comps) -> None:
    """Add one tile's truth to the footprint sums of every observation (the tile's hourly equivalents are
    dropped afterwards: memory is bounded by one tile)."""
    eq = truth["eq"]
    for day in sif_days:
        geom, n = day["geom"], day["n"]
        members, _ = rg.quad_membership(
            np.arange(n), geom["lon_bounds"].reshape(n, 4), geom["lat_bounds"].reshape(n, 4), tile.res, tile
        )
        at_hour = eq["sif"][:, day["hour"]]  # (n_pixels, n_fp): each footprint at its own hour
        day["sums"].add(*_footprint_sums(members, tile, at_hour, pixel_index))
        day["sums"].total[0] += at_hour.sum(axis=0)
        day["sums"].n += at_hour.shape[0]
    members, _ = rg.ease2_membership(tile)
    for p in smos_passes:
        for k, var in enumerate(("sm", "vod")):
            values = eq[var][:, p["h_c"]]
            p["sums"].add(*_footprint_sums(members, tile, values, pixel_index), k=k)
            p["sums"].total[k] += values.sum()
        p["sums"].n += values.size
    members, _ = rg.latlon_membership(tile, 0.01)
    for comp in tip_comps:
        values = eq["fapar"][:, comp["day"]]
        comp["sums"].add(*_footprint_sums(members, tile, values, pixel_index))
        comp["sums"].total[0] += values.sum()
        comp["sums"].n += values.size


def _write_sif(base, region, cover, sif_days, start, rng):
    """Noisy TROPOSIF L2B daily files of the footprint truths; returns the files and the truth records."""
    files, records = [], []
    for d, day in enumerate(sif_days):
        date, geom, n = start + d, day["geom"], day["n"]
        value = day["sums"].truth()[0]
        sigma = 0.35 + 0.1 * np.abs(value)
        obs = value + rng.normal(0.0, 1.0, n) * sigma
        day_cf = rng.uniform(0.0, 0.15) if rng.uniform() < P_CLEAR[region] else rng.uniform(0.3, 1.0)
        cf = np.clip(day_cf + rng.normal(0.0, 0.05, n), 0.0, 1.0)
        name = s_sif.l2b_filename(date)
        s_sif.write_troposif_l2b(
            base / "troposif" / str(date)[:4] / name,
            date,
            geom,
            obs,
            sigma,
            cf,
            np.full(n, LC_IGBP[region], np.uint8),
            traps=s_sif.trap_indices(geom, cover),
        )
        files.append(f"troposif/{str(date)[:4]}/{name}")
        key0 = int(str(date).replace("-", "")) * 10_000_000
        records.append((key0 + np.arange(n), np.stack([value, obs], -1)))
    return files, _records(records, 2)


def _write_smos(base, window, smos_passes, t_air, rng):
    """Noisy SMOS-IC daily files (frozen-soil flags when the tiles' mean air temperature is below 0 °C)."""
    files, records = [], []
    shape = (window[0].stop - window[0].start, window[1].stop - window[1].start)
    for p in smos_passes:
        order = np.argsort(np.argsort(_window_keys(window).ravel()))
        sm_true, vod_true = (v[order].reshape(shape) for v in p["sums"].truth())
        sm_sigma = np.full(shape, 0.04)
        vod_sigma = 0.05 + 0.1 * vod_true
        fields = {
            "sm": np.clip(sm_true + rng.normal(0, 1, shape) * sm_sigma, 0.0, 0.7),
            "sm_sigma": sm_sigma,
            "vod": np.maximum(vod_true + rng.normal(0, 1, shape) * vod_sigma, 0.0),
            "vod_sigma": vod_sigma,
            "rmse": rng.gamma(3.0, 1.3, shape),
            "scene_flags": np.full(shape, 2 if t_air[p["h_c"]] < 0.0 else 0, np.int16),
            "quality_flag": np.where(rng.uniform(size=shape) < 0.05, 2, 0).astype(np.int16),
            "days": p["days"],
            "utc_seconds": p["secs"],
        }
        date, pass_ = p["date"], p["pass"]
        name = s_smos.smos_ic_filename(date, pass_)
        folder = "ASC" if pass_ == "A" else "DES"
        s_smos.write_smos_ic(base / "smos_ic" / folder / name, date, pass_, fields, window)
        files.append(f"smos_ic/{folder}/{name}")
        date_key = int(str(date).replace("-", "")) * 10_000_000 + (0 if pass_ == "A" else 1_000_000)
        columns = [sm_true.ravel(), fields["sm"].ravel(), vod_true.ravel(), fields["vod"].ravel()]
        records.append(((date_key + _window_keys(window)).ravel(), np.stack(columns, -1)))
    return files, _records(records, 4)


def _window_keys(window: tuple[slice, slice]) -> np.ndarray:
    """EASE2 M25 keys ``row·1388 + col`` of a (row, col) window, window-shaped."""
    rows = np.arange(window[0].start, window[0].stop)[:, None]
    cols = np.arange(window[1].start, window[1].stop)[None, :]
    return rows * 1388 + cols


def _write_tip(base, lat, lon, key, tip_comps, t_air_daily, start, rng):
    """Noisy JRC-TIP 8-day composites (all flagged as snow when the tiles' mean air is below −2 °C)."""
    files, records = [], []
    order = np.argsort(np.argsort(key.ravel()))
    for comp in tip_comps:
        date = start + comp["day"]
        true = comp["sums"].truth()[0][order].reshape(key.shape)
        sigma = 0.05 + 0.1 * true
        flag = np.where(rng.uniform(size=true.shape) < TIP_FLAGGED, 2, 0).astype(np.uint8)
        if t_air_daily[comp["day"]] < -2.0:
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


def _records(records: list[tuple[np.ndarray, np.ndarray]], n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (int64 obs keys, float columns) pairs; keys stay integers (they exceed 2^53)."""
    if not records:
        return np.zeros(0, np.int64), np.zeros((0, n_cols))
    return (np.concatenate([k for k, _ in records]).astype(np.int64), np.concatenate([v for _, v in records]))


def _pixel_truth(problem, truth, k: int) -> dict:
    """The per-pixel part of one tile's truth kept for the truth store (daily series, targets, controls;
    the hourly equivalents are not kept)."""
    return {
        "tile_index": np.full(problem.n_pixels, k),
        "x_true": truth["x_true"],
        "names": truth["names"],
        "row": problem.rows,
        "col": problem.cols,
        "pft": problem.pfts,
        "fraction": problem.fractions,
        "series": truth["series"],
        "targets": truth["targets"],
    }


def make_demo_data(config: dict, region: str) -> Path:
    """Write the demo inputs and truth of every planned tile of ``region`` under ``{data.root}/{region}``;
    return the manifest path.

    One static raster pair and one set of forcing and observation files serve all tiles (a footprint over a
    tile edge is one observation with one truth); the model truth runs tile by tile, so memory holds the
    hourly equivalents of one tile only. The static rasters cover the tiles' bounding box plus 2 km: at most
    :data:`MAX_DEMO_CELLS` cells.
    """
    from tccas.da.pixel import AssimilationSettings

    if region not in config["regions"]:
        raise ValueError(f"region {region!r} is not configured")
    tiles = planned_tiles(config, region)
    x0, y0, x1, y1 = _area(tiles)
    n_cells = (x1 - x0) // 100 * ((y1 - y0) // 100)
    if n_cells > MAX_DEMO_CELLS:
        raise ValueError(
            f"regions.{region}: the {len(tiles)} planned tiles span {n_cells} cells of 100 m with their "
            f"margin; make-demo-data writes at most {MAX_DEMO_CELLS} (use a smaller tile_km or closer points)"
        )
    period = config["period"]
    start, end = np.datetime64(period["start"], "D"), np.datetime64(period["end"], "D")
    n_days = int((end - start).astype(int)) + 1
    seed = int(config["data"].get("seed", 0)) + list(REGIONS).index(region)
    rng = np.random.default_rng(seed)
    root = Path(config["data"]["root"])
    base = root / region
    settings = AssimilationSettings.from_config(config)
    with atomic_path(base) as tmp:
        static, land = _write_static(tmp, region, tiles, rng)
        forcing_files, flavour = _write_forcing(
            tmp, region, tiles, start, end, seed, float(land["elevation"].mean()), rng
        )
        cover = cover_of(tiles)
        sif_days = _sif_geometry(cover, start, n_days, seed)
        window, smos_passes = _smos_passes(cover, region, start, n_days, rng)
        lat, lon, key, tip_comps = _tip_composites(cover, n_days)
        t_air, pixels, dates = np.zeros(n_days * 24), [], None
        for k, tile in enumerate(tiles):
            lc = regrid_landcover(tmp / static["corine"][0], tmp / static["dem"][0], region, tile)
            fo = regrid_forcing([tmp / f for f in forcing_files], tile, lc["elevation"].values)
            problem = assemble_tile_problem({"landcover": lc, "forcing": fo}, config, region, tile)
            truth = run_truth(problem, settings, seed, int(config["assimilation"]["pixels_per_batch"]))
            pixel_index = np.full(tile.shape, -1, np.int64)
            pixel_index[problem.rows, problem.cols] = np.arange(problem.n_pixels)
            _accumulate(tile, truth, pixel_index, sif_days, smos_passes, tip_comps)
            t_air += problem.native["t_air"].mean(axis=(1, 2))[: n_days * 24] / len(tiles)
            pixels.append(_pixel_truth(problem, truth, k))
            dates = problem.dates
        sif_files, sif_rec = _write_sif(tmp, region, cover, sif_days, start, rng)
        smos_files, smos_rec = _write_smos(tmp, window, smos_passes, t_air, rng)
        tip_files, tip_rec = _write_tip(
            tmp, lat, lon, key, tip_comps, t_air.reshape(n_days, 24).mean(1), start, rng
        )
        _write_truth(tmp / "truth.zarr", region, tiles, pixels, dates, sif_rec, smos_rec, tip_rec)
        manifest = {
            "region": region,
            "tiles": [tile.name for tile in tiles],
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
    log.info("demo data for %s (%d tiles) written to %s", region, len(tiles), base)
    return base / "manifest.yaml"


def _write_truth(path: Path, region: str, tiles, pixels, dates, sif_rec, smos_rec, tip_rec) -> None:
    """The truth store: per-pixel controls, series and targets of all tiles (``tile_index`` names the tile,
    ``row``/``col`` the cell in it), target maps ``(tile, y, x)`` and the truth of every observation."""
    cat = {
        k: np.concatenate([p[k] for p in pixels])
        for k in ("tile_index", "x_true", "row", "col", "pft", "fraction")
    }
    series = {k: np.concatenate([p["series"][k] for p in pixels]) for k in pixels[0]["series"]}
    targets = {k: np.concatenate([p["targets"][k] for p in pixels]) for k in pixels[0]["targets"]}
    maps = {}
    for k, v in targets.items():
        m = np.full((len(tiles), *tiles[0].shape), np.nan)
        m[cat["tile_index"], cat["row"], cat["col"]] = v
        maps[f"map_{k}"] = (("tile", "y", "x"), m)
    ds = xr.Dataset(
        {
            "x_true": (("pixel", "control"), cat["x_true"]),
            "tile_index": ("pixel", cat["tile_index"]),
            "row": ("pixel", cat["row"]),
            "col": ("pixel", cat["col"]),
            "pft": (("pixel", "slot"), cat["pft"]),
            "fraction": (("pixel", "slot"), cat["fraction"]),
            "tile_x": (("tile", "x"), np.stack([t.x for t in tiles])),
            "tile_y": (("tile", "y"), np.stack([t.y for t in tiles])),
            **{f"series_{k}": (("pixel", "day"), v) for k, v in series.items()},
            **{f"target_{k}": ("pixel", v) for k, v in targets.items()},
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
        coords={"tile": [t.name for t in tiles], "day": dates},
        attrs={
            "tiles": json.dumps([t.name for t in tiles]),
            "region": region,
            "truth_perturbation_sigma": TRUTH_PERTURBATION,
            "control_names": json.dumps([n for p in pixels for n in p["names"]]),
            "footprint_rule": "footprint truth = mean of its modelled cells in all tiles, else of all pixels",
        },
    )
    if path.exists():
        shutil.rmtree(path)
    ds.to_zarr(path, mode="w", consolidated=False)
