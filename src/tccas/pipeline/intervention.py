"""The intervention scenario of one region: rule ``intervention`` / ``tccas intervention`` (obs_da_spec §8).

Steps

1. Settings from the config (section ``scenario``; horizon, fraction, tree PFT of the region, batch size)
   and the assimilation settings that produced the per-tile results (their control layout defines x).
2. For every planned tile of the region: the tile problem (contract C5, forcing / spin-up / site / PFTs /
   covers of every land pixel) and the per-tile assimilation result (``x_post``, ``x_cov_post``, ``x_prior``,
   ``x_sd_prior``, ``status``; contract C2/C4).
3. ``jit(vmap(intervention_pixel))`` over fixed-size padded batches (``scenario.pixels_per_batch``) on the
   Dask workers; padding rows repeat the batch's last pixel and are dropped. The tree PFT and the fraction
   are traced arguments and the batch size is fixed, so ONE program (exported-program store and persistent
   compilation cache) serves every tile and region of the run: it is compiled once, the ≈ 1.5 min compile of
   the scenario's reverse pass is not repeated per region.
4. The ``scenario`` group of the region store (:mod:`tccas.io.scenario_store`): template, one region write
   per tile, metadata re-consolidated.
5. Quick-look PNGs of the effect maps and the Majadas-style time-series panels of one pixel (the region's
   first configured point, or ``point``): a forward run with daily per-tile series at the posterior.
6. A JSON sentinel with the run summary (pixels, mean effects, seconds per pixel).

Pixel status (``status`` of the scenario group): 0 computed (assimilation status converged, max_iter or
no_obs — the latter with posterior = prior, hence UR = 0); 1 computed but the pixel has no grass tile
(effects exactly 0); 2 no usable posterior (line-search failure or missing result): maps hold NaN.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tccas.pipeline.assimilate import padded_index_batches, tile_input_paths
from tccas.pipeline.cluster import (
    DaskSettings,
    compiled_for,
    dask_client,
    run_batches,
)

log = logging.getLogger(__name__)

USABLE_DA_STATUS = (0, 1, 3)  # converged, max_iter, no_obs (tccas.da status codes, contract C2)
POSTERIOR_KEYS = ("x_post", "x_cov_post", "x_prior", "x_sd_prior")


def scenario_settings(config: Mapping[str, Any]):
    """:class:`tccas.scenario.ScenarioSettings` with the config's model options."""
    from tccas.model import ModelOptions
    from tccas.scenario import ScenarioSettings

    return ScenarioSettings.from_config(dict(config), ModelOptions.from_config(config.get("model")))


def tile_posterior(result, rows: np.ndarray, cols: np.ndarray, source: str) -> dict[str, np.ndarray]:
    """Per-pixel posterior of a per-tile assimilation result (``xarray.Dataset``) at ``(rows, cols)``.

    Returns ``x_post``, ``x_prior``, ``x_sd_prior`` ``(n, n_c)``, ``x_cov_post`` ``(n, n_c, n_c)`` and
    ``status`` ``(n,)``. A result without ``x_cov_post`` falls back to ``diag(x_sd_post²)`` (correlations of
    the controls lost; logged as a warning and reported in the sentinel).
    """

    def at_pixels(name: str) -> np.ndarray:
        if name not in result:
            raise KeyError(f"{source}: assimilation result has no variable {name!r}")
        var = result[name]
        other = [d for d in var.dims if d not in ("y", "x")]
        values = np.asarray(var.transpose("y", "x", *other).values)
        return values[rows, cols]

    out = {k: at_pixels(k).astype(np.float64) for k in ("x_post", "x_prior", "x_sd_prior")}
    out["status"] = at_pixels("status").astype(np.int64)
    if "x_cov_post" in result:
        out["x_cov_post"] = at_pixels("x_cov_post").astype(np.float64)
        out["covariance"] = "full"
    else:
        log.warning("%s: no x_cov_post in the assimilation result; using diag(x_sd_post^2)", source)
        sd = at_pixels("x_sd_post").astype(np.float64)
        out["x_cov_post"] = sd[:, :, None] * np.eye(sd.shape[1])[None] * sd[:, None, :]
        out["covariance"] = "diagonal"
    return out


@functools.cache
def _batched(settings, da_settings):
    """``jit(vmap(intervention_pixel))`` built once per process and settings (fraction and tree PFT not
    batched)."""
    import jax

    from tccas.scenario import intervention_pixel

    func = functools.partial(intervention_pixel, settings=settings, da_settings=da_settings)
    return jax.jit(jax.vmap(func, in_axes=(0, 0, 0, 0, 0, None, None)))


def _batch_args(batch, post: Mapping[str, np.ndarray], fraction: float, tree_pft: int) -> tuple:
    return (
        batch,
        post["x_post"],
        post["x_cov_post"],
        post["x_prior"],
        post["x_sd_prior"],
        np.float64(fraction),
        np.int32(tree_pft),
    )


def _executable(args: tuple, settings, da_settings):
    """The compiled batched scenario for the shapes of ``args`` (:func:`~tccas.pipeline.cluster.compiled_for`,
    named for the exported-program store by the settings)."""
    name = f"tccas.scenario:{settings!r}:{da_settings!r}"
    return compiled_for(_batched(settings, da_settings), *args, name=name)


def compile_scenario(
    batch, post: Mapping[str, np.ndarray], fraction: float, tree_pft: int, settings, da_settings
) -> None:
    """Compile (or load) the batched scenario for the shapes of one batch (``prepare`` of the batches)."""
    _executable(_batch_args(batch, post, fraction, tree_pft), settings, da_settings)


def scenario_batch(
    batch, post: Mapping[str, np.ndarray], fraction: float, tree_pft: int, settings, da_settings
) -> dict:
    """Scenario of one padded batch (``PixelProblem`` of NumPy leaves + posterior arrays) on a worker."""
    import jax

    args = _batch_args(batch, post, fraction, tree_pft)
    out = _executable(args, settings, da_settings)(*args)
    return {k: np.asarray(v) for k, v in jax.device_get(out).items()}


def _clean_posterior(post: Mapping[str, np.ndarray], usable: np.ndarray) -> dict[str, np.ndarray]:
    """Posterior arrays with unusable pixels replaced by their prior (finite inputs for the batch; their
    results are masked afterwards)."""
    x_post = np.where(usable[:, None], post["x_post"], post["x_prior"])
    prior_cov = (
        post["x_sd_prior"][:, :, None]
        * np.eye(post["x_sd_prior"].shape[1])[None]
        * post["x_sd_prior"][:, None, :]
    )
    cov = np.where(usable[:, None, None], post["x_cov_post"], prior_cov)
    return {"x_post": x_post, "x_cov_post": cov, "x_prior": post["x_prior"], "x_sd_prior": post["x_sd_prior"]}


def convertible_pixels(pfts: np.ndarray, fractions: np.ndarray, settings) -> np.ndarray:
    """Pixels with a grass tile of cover > 0 (``settings.grass_pfts``): only these have a non-zero effect."""
    return np.any(np.isin(pfts, settings.grass_pfts) & (fractions > 0.0), axis=1)


def run_tile_scenario(
    problem,
    post: Mapping[str, np.ndarray],
    fraction: float,
    tree_pft: int,
    settings,
    da_settings,
    batch_size: int,
    client,
) -> dict[str, np.ndarray]:
    """Scenario of every pixel of a tile problem; results with leading axis ``n_pixels`` plus
    ``status``; unusable pixels hold NaN.

    Only pixels with a grass tile run the horizon (in padded batches of ``batch_size`` convertible pixels;
    the size is fixed, not balanced per tile, so that every tile and region shares one compiled program);
    for the others nothing is converted and :func:`tccas.scenario.unconverted_result` gives their (zero)
    effects in closed form — a forest tile costs nothing.
    """
    from tccas.scenario import output_keys, unconverted_result

    n = int(problem.n_pixels)
    usable = np.isin(post["status"], USABLE_DA_STATUS) & np.all(np.isfinite(post["x_post"]), axis=1)
    grass = convertible_pixels(problem.pfts, problem.fractions, settings)
    run = np.nonzero(usable & grass)[0]
    clean = _clean_posterior(post, usable)

    def tasks():
        for b, padded, n_real in padded_index_batches(run.size, batch_size):
            part = {k: v[run[padded]] for k, v in clean.items()}
            yield b, n_real, (problem.batch(run[padded]), part, fraction, tree_pft, settings, da_settings)

    n_batches = -(-run.size // batch_size)
    log.info(
        "intervention: %d of %d pixels have a grass tile to convert (%d batches of %d)",
        run.size,
        n,
        n_batches,
        batch_size,
    )
    results = run_batches(
        client, scenario_batch, tasks(), n_batches, run.size, "intervention", prepare=compile_scenario
    )
    has_tree = np.any((problem.pfts == tree_pft) & (problem.fractions > 0.0), axis=1)
    unconverted = {h: unconverted_result(float(h), settings) for h in (False, True)}
    out: dict[str, np.ndarray] = {}
    for key in output_keys(settings):
        fixed = np.stack([np.asarray(unconverted[bool(h)][key]) for h in has_tree])
        values = fixed.astype(np.float64)
        if run.size:
            parts = [
                np.asarray(results[b][key])[: min(batch_size, run.size - b * batch_size)]
                for b in range(n_batches)
            ]
            values[run] = np.concatenate(parts, axis=0)
        mask = usable.reshape((n,) + (1,) * (values.ndim - 1))
        out[key] = np.where(mask, values, np.nan)
    status = np.where(usable, np.where(out["grass_area"] > 0.0, 0, 1), 2).astype(np.int8)
    out["status"] = status
    return out


def pixel_panels(
    problem, index: int, post: Mapping[str, np.ndarray], fraction: float, tree_pft: int, settings, da_settings
) -> dict[str, Any]:
    """Daily per-tile series of one pixel over window + horizon at the posterior (forward run only).

    Returns ``dates`` (datetime64[D]), ``series`` (label → panel → daily array) for the young trees of the
    intervention and each existing tile of the pixel, ``conversion_date``, and ``uptake_annual`` at
    ``year_ends`` (0 at the conversion, then the cumulative ΔU at the end of each horizon year).
    """
    import jax
    import jax.numpy as jnp

    from tccas import model
    from tccas.da import controls
    from tccas.da.pixel import layout_for
    from tccas.scenario import ScenarioInputs, run_scenario, tree_control_names, tree_prior
    from tccas.scenario.pixel import tree_params_from
    from tccas.scenario.settings import recycle_plan

    one = jax.tree_util.tree_map(lambda a: np.asarray(a)[0], problem.batch(np.array([index])))
    pfts = np.asarray(one.pfts, dtype=np.int32)
    layout = layout_for(pfts.size, da_settings)
    names = tree_control_names(layout)
    x_post = post["x_post"][index]
    if not np.all(np.isfinite(x_post)):
        x_post = post["x_prior"][index]
    up = controls.unpack(jnp.asarray(x_post), layout, jnp.asarray(pfts))
    inputs = ScenarioInputs(
        tile_params=up.tile_params,
        global_params=up.global_params,
        pools0=up.pools0,
        tree_params=tree_params_from(tree_prior(names, tree_pft)[0], names, tree_pft),
        tree_pools0=model.default_pools(tree_pft),
        fractions=jnp.asarray(one.fractions),
        pfts=jnp.asarray(pfts),
        forcing=one.forcing,
        spinup_forcing=one.spinup_forcing,
        site=one.site,
        tree_pft=jnp.asarray(tree_pft, dtype=jnp.int32),
    )
    series_settings = dataclasses.replace(settings, record_series=True)
    run = jax.jit(functools.partial(run_scenario, settings=series_settings))(inputs, float(fraction))
    series = {k: np.asarray(v) for k, v in run.series.items()}
    n_window = problem.dates.size
    block, _, _ = recycle_plan(n_window, settings.horizon_years)
    n_total = series["gpp"].shape[1]
    dates = problem.dates[0] + np.arange(n_total).astype("timedelta64[D]")
    if block == 365:  # calendar dates of the recycled years (leap days not simulated, settings.recycle_plan)
        years = np.arange(settings.horizon_years)
        starts = (problem.dates[-1] + np.timedelta64(1, "D")).astype("datetime64[Y]") + years
        horizon = (starts.astype("datetime64[D]")[:, None] + np.arange(365).astype("timedelta64[D]")).ravel()
        dates = np.concatenate([problem.dates, horizon])
    conversion = problem.dates[-1] + np.timedelta64(1, "D")
    panel_keys = {"w_r": "soil_water"}
    labels = {}
    for t, pft in enumerate(pfts):
        if float(one.fractions[t]) > 0.0:
            labels[t] = f"{model.PFT_NAMES[int(pft)]} tile (cover {float(one.fractions[t]):.2f})"
    labels[pfts.size] = f"young {model.PFT_NAMES[tree_pft]} (converted area)"
    # the new tile exists from the conversion on (during the window that slot holds the adult reference run)
    young = np.arange(n_total) >= n_window
    out_series = {
        label: {panel_keys.get(k, k): np.where(young | (t < pfts.size), series[k][t], np.nan) for k in series}
        for t, label in labels.items()
    }
    return {
        "dates": dates,
        "series": out_series,
        "conversion_date": conversion,
        "uptake_annual": np.concatenate([[0.0], np.asarray(run.uptake_annual)]),
        "year_ends": np.concatenate(
            [
                [conversion],
                dates[n_window - 1 :: block][1 : settings.horizon_years + 1] + np.timedelta64(1, "D"),
            ]
        ),
    }


def _point_pixel(problem, point: tuple[float, float] | None) -> int | None:
    """Index of the land pixel of a tile ``problem`` that contains ``point`` = (lon, lat), or None."""
    from tccas.grid import lonlat_to_cell

    if point is None:
        return None
    ix, iy = lonlat_to_cell(point[0], point[1])
    t = problem.tile
    col, row = int(ix) - t.ix0, t.iy0 + t.ny - 1 - int(iy)
    hit = np.nonzero((problem.rows == row) & (problem.cols == col))[0]
    return int(hit[0]) if hit.size else None


def intervention_region(
    config: Mapping[str, Any],
    region: str,
    sentinel: str | Path,
    store: str | Path | None = None,
    quicklook_dir: str | Path | None = None,
    point: tuple[float, float] | None = None,
    n_workers: int | None = None,
    batch_size: int | None = None,
    report_path: str | Path | None = None,
) -> Path:
    """Run the intervention scenario for every land pixel of ``region``; write maps, PNGs and ``sentinel``.

    Tiles run one after the other, each written to the store as it finishes; only the tile holding the
    time-series point keeps its problem and posterior until the panels are drawn, so the job's memory is
    that of one tile, not of the region."""
    from tccas.config import planned_tiles
    from tccas.da import AssimilationSettings
    from tccas.io import scenario_plot
    from tccas.io import scenario_store as sstore
    from tccas.io.output_store import grid_of_store, grid_region_checked, open_tile_result, write_json
    from tccas.pipeline.problem import build_tile_problem
    from tccas.scenario import tree_pft_from_config

    t_start = time.perf_counter()
    root = Path(config["outputs"]["root"])
    store = Path(store) if store is not None else root / "maps" / f"{region}.zarr"
    quicklook_dir = Path(quicklook_dir) if quicklook_dir else root / "quicklook" / "scenario" / region
    settings = scenario_settings(config)
    tree_pft = tree_pft_from_config(dict(config), region)
    da_settings = AssimilationSettings.from_config(dict(config))
    fraction = float(config["scenario"]["fraction"])
    batch = int(batch_size or config["scenario"]["pixels_per_batch"])
    dask = DaskSettings.from_config(config, n_workers)
    tiles = planned_tiles(dict(config), region)
    attrs = {
        "region": region,
        "run_id": config.get("run_id", ""),
        "scenario_fraction": fraction,
        "scenario_tree_pft": config["scenario"]["tree_pft"][region],
        "scenario_horizon_years": settings.horizon_years,
        "scenario_removed_biomass": settings.removed_biomass,
        "scenario_prior_jacobian": settings.prior_jacobian,
        "title": f"Intervention scenario (grass to {config['scenario']['tree_pft'][region]}), {region}",
    }
    sstore.write_scenario_template(store, settings.horizon_years, attrs)
    if point is None and config["regions"][region].get("points"):
        point = tuple(config["regions"][region]["points"][0])
    summary_tiles, covariance = [], set()
    at_point = None  # (problem, posterior, pixel index) of the tile holding the point
    n_total = 0
    with dask_client(dask, report_path) as client:
        for tile in tiles:
            result_path = root / "assimilate" / region / f"{tile.name}.zarr"
            problem = build_tile_problem(
                tile_input_paths(root, region, tile.name), dict(config), region, tile
            )
            if problem.n_pixels == 0:
                log.info("tile %s/%s: no land pixels", region, tile.name)
                continue
            with open_tile_result(result_path) as result:
                post = tile_posterior(result, problem.rows, problem.cols, str(result_path))
            covariance.add(post.pop("covariance"))
            t0 = time.perf_counter()
            results = run_tile_scenario(
                problem, post, fraction, tree_pft, settings, da_settings, batch, client
            )
            seconds = time.perf_counter() - t0
            values = sstore.scenario_tile_values(
                tile, problem.rows, problem.cols, results, settings.horizon_years
            )
            sstore.write_scenario_tile(store, tile, values)
            index = _point_pixel(problem, point)
            if index is not None:
                at_point = (problem, post, index)
            n_total += problem.n_pixels
            summary_tiles.append(
                {
                    "tile": tile.name,
                    "pixels": problem.n_pixels,
                    "seconds": round(seconds, 3),
                    "status": {
                        m: int(np.sum(results["status"] == v))
                        for v, m in zip(sstore.STATUS_FLAGS, sstore.STATUS_MEANINGS.split(), strict=True)
                    },
                    "uptake_mean": float(np.nanmean(results["uptake"])),
                }
            )
            log.info("tile %s/%s: %d pixels in %.1f s", region, tile.name, problem.n_pixels, seconds)
            del values, results
    sstore.consolidate_scenario(store)

    period = f"{config['period']['start']} to {config['period']['end']}"
    run_id = config.get("run_id", "")
    title = f"{region}, window {period}, +{settings.horizon_years} yr, fraction {fraction:g}, run {run_id}"
    pngs = scenario_plot.write_effect_quicklooks(
        quicklook_dir,
        sstore.scenario_maps(store),
        sstore.scenario_registry(),
        sstore.scenario_extent(store),
        title,
    )
    panel = None
    if at_point is not None:
        problem, post, index = at_point
        panels = pixel_panels(problem, index, post, fraction, tree_pft, settings, da_settings)
        ds = sstore.open_scenario(store)
        tile = problem.tile
        row, col = problem.rows[index], problem.cols[index]
        cut = grid_region_checked(grid_of_store(ds), tile, ds)
        sd = float(ds["uptake_sd"].isel(y=cut["y"], x=cut["x"]).values[row, col])
        panel = scenario_plot.write_pixel_panels(
            quicklook_dir / "scenario_pixel_series.png",
            panels["dates"],
            panels["series"],
            panels["conversion_date"],
            f"intervention at lon {point[0]:.2f} lat {point[1]:.2f} ({region}), fraction {fraction:g}",
            annual_uptake=(panels["year_ends"], panels["uptake_annual"], sd),
        )
        pngs.append(panel)
    elif point is not None:
        log.warning("point %s is not a land pixel of region %s: no time-series panels", point, region)
    wall = time.perf_counter() - t_start
    summary = {
        **attrs,
        "store": str(store),
        "group": sstore.GROUP,
        "pixels": n_total,
        "tiles": summary_tiles,
        "covariance": sorted(covariance),
        "pngs": [str(p) for p in pngs],
        "series_png": str(panel) if panel else None,
        "wall_seconds": round(wall, 3),
        "seconds_per_pixel": round(wall / n_total, 3) if n_total else None,
    }
    write_json(sentinel, summary)
    log.info("intervention %s: %d pixels, %d PNGs, %.1f s", region, n_total, len(pngs), wall)
    return Path(sentinel)
