"""The intervention scenario (obs_da_spec §8): rules ``intervention_tile`` / ``tccas intervention-tile``, one
job per tile like the assimilation, and ``intervention`` / ``tccas intervention``, one per region.

Tile job (:func:`intervention_tile`)

1. Settings from the config (section ``scenario``; horizon, fraction, tree PFT of the region, batch size)
   and the assimilation settings that produced the per-tile result (their control layout defines x).
2. The tile problem (contract C5: forcing, spin-up, site, PFTs and covers of every land pixel) and, from the
   per-tile assimilation result (contract C4), the pixels whose posterior can start the scenario
   (status converged, max_iter or no_obs and a finite ``x_post``), read in chunks of :data:`READ_PIXELS`.
3. ``jit(vmap(intervention_pixel))`` over fixed-size padded batches (``scenario.pixels_per_batch``) of the
   pixels with a grass tile, on the Dask workers; each batch's posterior (``x_post``, ``x_cov_post``,
   ``x_prior``, ``x_sd_prior``) is read from the result when the batch is built, so the job never holds the
   tile's covariances. Padding rows repeat the batch's last pixel and are dropped. The tree PFT and the
   fraction are traced arguments and the batch size is fixed, so ONE program (exported-program store and
   persistent compilation cache) serves every tile and region of the run: the ≈ 1.5 min compile of the
   scenario's reverse pass is not repeated per tile.
4. Every finished batch is stored by the worker that ran it (``.{tile}.zarr.batches`` beside the output,
   :class:`tccas.io.output_store.BatchParts`); a rerun after a time-out or a crash redoes only the batches
   that never finished (:func:`scenario_key` says which runs may share them).
5. The per-tile scenario result ``results/scenario/{region}/{tile}.zarr``
   (:func:`tccas.io.scenario_store.write_scenario_tile_store`), written from the stored batches in blocks
   of rows of ``outputs.io_chunk_mb``; pixels without a grass tile get their (zero) effects in closed form
   (:func:`tccas.scenario.unconverted_result`). The tile holding the region's point pixel also stores that
   pixel's daily series (a forward run at the posterior) for the time-series panels.

Region job (:func:`intervention_region`): the ``scenario`` group of the region store from the per-tile
results (one tile at a time), its overview pyramid, the effect quick-looks (from the full-resolution group
when it fits a quick-look, else from the pyramid) and the time-series panels, and a JSON sentinel with the
run summary (pixels, status counts, mean effect, seconds per pixel).

Pixel status (``status`` of the scenario group): 0 computed (assimilation status converged, max_iter or
no_obs — the latter with posterior = prior, hence UR = 0); 1 computed but the pixel has no grass tile
(effects exactly 0); 2 no usable posterior (line-search failure or missing result): maps hold NaN.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tccas.pipeline.assimilate import padded_index_batches, tile_input_paths
from tccas.pipeline.cluster import DaskSettings, compiled_for, dask_client, run_batches

log = logging.getLogger(__name__)

USABLE_DA_STATUS = (0, 1, 3)  # converged, max_iter, no_obs (tccas.da status codes, contract C2)
READ_PIXELS = 2**16  # [D] pixels per read of a per-tile assimilation result when finding the usable pixels


def scenario_settings(config: Mapping[str, Any]):
    """:class:`tccas.scenario.ScenarioSettings` with the config's model options."""
    from tccas.model import ModelOptions
    from tccas.scenario import ScenarioSettings

    return ScenarioSettings.from_config(dict(config), ModelOptions.from_config(config.get("model")))


def _at_pixels(result, name: str, rows: np.ndarray, cols: np.ndarray, source: str) -> np.ndarray:
    """Values of result variable ``name`` at the pixels ``(rows, cols)``, pixel axis first (a pointwise read:
    only the chunks holding those pixels are read)."""
    if name not in result:
        raise KeyError(f"{source}: assimilation result has no variable {name!r}")
    var = result[name]
    other = [d for d in var.dims if d not in ("y", "x")]
    picked = var.isel(y=xr.DataArray(rows, dims="pixel"), x=xr.DataArray(cols, dims="pixel"))
    return np.asarray(picked.transpose("pixel", *other).values)


def tile_posterior(result, rows: np.ndarray, cols: np.ndarray, source: str) -> dict[str, np.ndarray]:
    """Per-pixel posterior of a per-tile assimilation result (``xarray.Dataset``) at ``(rows, cols)``.

    Returns ``x_post``, ``x_prior``, ``x_sd_prior`` ``(n, n_c)``, ``x_cov_post`` ``(n, n_c, n_c)``,
    ``status`` ``(n,)`` and ``covariance`` ("full", or "diagonal" for a result without ``x_cov_post``:
    ``diag(x_sd_post²)``, the correlations of the controls lost).
    """
    rows, cols = np.asarray(rows), np.asarray(cols)
    out: dict[str, Any] = {
        k: _at_pixels(result, k, rows, cols, source).astype(np.float64)
        for k in ("x_post", "x_prior", "x_sd_prior")
    }
    out["status"] = _at_pixels(result, "status", rows, cols, source).astype(np.int64)
    if "x_cov_post" in result:
        out["x_cov_post"] = _at_pixels(result, "x_cov_post", rows, cols, source).astype(np.float64)
        out["covariance"] = "full"
    else:
        sd = _at_pixels(result, "x_sd_post", rows, cols, source).astype(np.float64)
        out["x_cov_post"] = sd[:, :, None] * np.eye(sd.shape[1])[None] * sd[:, None, :]
        out["covariance"] = "diagonal"
    return out


def usable_pixels(
    result, rows: np.ndarray, cols: np.ndarray, source: str, chunk: int = READ_PIXELS
) -> np.ndarray:
    """Pixels whose assimilation result can start the scenario: status in :data:`USABLE_DA_STATUS` and a
    finite ``x_post``; read ``chunk`` pixels at a time."""
    usable = np.zeros(np.size(rows), dtype=bool)
    for p0 in range(0, usable.size, chunk):
        r, c = rows[p0 : p0 + chunk], cols[p0 : p0 + chunk]
        status = _at_pixels(result, "status", r, c, source)
        x_post = _at_pixels(result, "x_post", r, c, source)
        usable[p0 : p0 + r.size] = np.isin(status, USABLE_DA_STATUS) & np.all(np.isfinite(x_post), axis=1)
    return usable


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
    batch, post: Mapping[str, np.ndarray], fraction: float, tree_pft: int, settings, da_settings, *_
) -> None:
    """Compile (or load) the batched scenario for the shapes of one batch (``prepare`` of the batches; the
    arguments of :func:`store_scenario_batch`)."""
    _executable(_batch_args(batch, post, fraction, tree_pft), settings, da_settings)


def scenario_batch(
    batch, post: Mapping[str, np.ndarray], fraction: float, tree_pft: int, settings, da_settings
) -> dict:
    """Scenario of one padded batch (``PixelProblem`` of NumPy leaves + posterior arrays) on a worker."""
    import jax

    args = _batch_args(batch, post, fraction, tree_pft)
    out = _executable(args, settings, da_settings)(*args)
    return {k: np.asarray(v) for k, v in jax.device_get(out).items()}


def store_scenario_batch(
    batch, post, fraction: float, tree_pft: int, settings, da_settings, parts, number: int, n_real: int
) -> int:
    """Run the scenario of one padded batch on a worker (:func:`scenario_batch`) and store its real pixels'
    results (:func:`tccas.scenario.output_keys`) as part ``number`` of ``parts``
    (:class:`tccas.io.output_store.BatchParts`). Returns ``n_real``: the results stay on disk."""
    from tccas.scenario import output_keys

    out = scenario_batch(batch, post, fraction, tree_pft, settings, da_settings)
    parts.write(number, {k: np.asarray(out[k])[:n_real] for k in output_keys(settings)})
    return n_real


def convertible_pixels(pfts: np.ndarray, fractions: np.ndarray, settings) -> np.ndarray:
    """Pixels with a grass tile of cover > 0 (``settings.grass_pfts``): only these have a non-zero effect."""
    return np.any(np.isin(pfts, settings.grass_pfts) & (fractions > 0.0), axis=1)


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """Which pixels of a tile problem the scenario runs: ``usable`` (a posterior to start from), ``run``
    (indices of the usable pixels with a grass tile, in raster order), ``has_tree`` (a tile of the tree PFT
    already), and ``covariance`` ("full" or "diagonal", :func:`tile_posterior`)."""

    usable: np.ndarray
    run: np.ndarray
    has_tree: np.ndarray
    covariance: str


def plan_tile(problem, result, source: str, tree_pft: int, settings) -> TilePlan:
    """The :class:`TilePlan` of a tile problem and its per-tile assimilation result."""
    usable = usable_pixels(result, problem.rows, problem.cols, source)
    grass = convertible_pixels(problem.pfts, problem.fractions, settings)
    has_tree = np.any((problem.pfts == tree_pft) & (problem.fractions > 0.0), axis=1)
    covariance = "full" if "x_cov_post" in result else "diagonal"
    if covariance == "diagonal":
        log.warning("%s: no x_cov_post in the assimilation result; using diag(x_sd_post^2)", source)
    return TilePlan(usable, np.nonzero(usable & grass)[0], has_tree, covariance)


def run_tile_scenario(
    problem,
    result,
    source: str,
    plan: TilePlan,
    fraction: float,
    tree_pft: int,
    settings,
    da_settings,
    batch_size: int,
    dask: DaskSettings,
    parts,
    report_path: str | Path | None = None,
) -> int:
    """Run the scenario of the pixels ``plan.run`` whose batch is not yet in ``parts``, in padded batches of
    ``batch_size`` (the size is fixed, not balanced per tile, so that every tile and region shares one
    compiled program); returns the number of batches run. A batch's results depend only on its pixels and
    the settings, so a resumed tile equals an uninterrupted one."""
    run = plan.run
    done = frozenset(parts.done())
    todo = [(b, k) for b, _, k in padded_index_batches(run.size, batch_size) if b not in done]
    log.info(
        "intervention: %d of %d pixels have a grass tile to convert (%d batches of %d, %d stored before)",
        run.size,
        problem.n_pixels,
        len(todo) + len(done),
        batch_size,
        len(done),
    )
    if not todo:
        return 0

    def tasks():
        for b, padded, n_real in padded_index_batches(run.size, batch_size):
            if b in done:
                continue
            idx = run[padded]
            post = tile_posterior(result, problem.rows[idx], problem.cols[idx], source)
            post = {k: post[k] for k in ("x_post", "x_cov_post", "x_prior", "x_sd_prior")}
            args = (problem.batch(idx), post, fraction, tree_pft, settings, da_settings, parts, b, n_real)
            yield b, n_real, args

    with dask_client(dask, report_path) as client:
        run_batches(
            client,
            store_scenario_batch,
            tasks(),
            len(todo),
            sum(k for _, k in todo),
            "intervention",
            prepare=compile_scenario,
        )
    return len(todo)


def tile_results(
    plan: TilePlan, parts, settings, batch_size: int
) -> Callable[[int, int], dict[str, np.ndarray]]:
    """``fetch(p0, p1)``: the scenario results of pixels ``p0 … p1 − 1`` of the tile problem (every key of
    :func:`tccas.scenario.output_keys` and ``status``): the stored batches for the pixels that ran, the
    closed form of :func:`tccas.scenario.unconverted_result` for the others, NaN without a usable posterior.
    """
    from tccas.scenario import output_keys, unconverted_result

    keys = output_keys(settings)
    fixed = {h: unconverted_result(float(h), settings) for h in (False, True)}
    stored = parts.pixels(batch_size)

    def fetch(p0: int, p1: int) -> dict[str, np.ndarray]:
        n = p1 - p0
        has_tree, usable = plan.has_tree[p0:p1], plan.usable[p0:p1]
        j0, j1 = (int(j) for j in np.searchsorted(plan.run, [p0, p1]))
        got = stored(j0, j1) if j1 > j0 else {}
        out: dict[str, np.ndarray] = {}
        for key in keys:
            yes, no = np.asarray(fixed[True][key], np.float64), np.asarray(fixed[False][key], np.float64)
            values = np.where(has_tree.reshape((n,) + (1,) * yes.ndim), yes, no)
            if got:
                values[plan.run[j0:j1] - p0] = got[key]
            out[key] = np.where(usable.reshape((n,) + (1,) * yes.ndim), values, np.nan)
        out["status"] = np.where(usable, np.where(out["grass_area"] > 0.0, 0, 1), 2).astype(np.int8)
        return out

    return fetch


def pixel_panels(
    problem, index: int, x: np.ndarray, fraction: float, tree_pft: int, settings, da_settings
) -> dict[str, Any]:
    """Daily per-tile series of pixel ``index`` of a tile problem over window + horizon at the control
    vector ``x`` (its posterior mean; forward run only).

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
    up = controls.unpack(jnp.asarray(x), layout, jnp.asarray(pfts))
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


def tile_summary(fetch: Callable[[int, int], Mapping[str, np.ndarray]], n_pixels: int) -> dict[str, Any]:
    """Status counts (by meaning) and the mean extra uptake [gC m⁻²] of the pixels with one, from
    ``fetch`` (:func:`tile_results`) read :data:`READ_PIXELS` pixels at a time."""
    from tccas.io.scenario_store import STATUS_FLAGS, STATUS_MEANINGS

    counts = np.zeros(len(STATUS_FLAGS), dtype=np.int64)
    total, n = 0.0, 0
    for p0 in range(0, n_pixels, READ_PIXELS):
        out = fetch(p0, min(p0 + READ_PIXELS, n_pixels))
        counts += np.array([np.sum(out["status"] == flag) for flag in STATUS_FLAGS])
        finite = np.isfinite(out["uptake"])
        total, n = total + float(np.sum(out["uptake"][finite])), n + int(np.sum(finite))
    return {
        "status": {m: int(c) for m, c in zip(STATUS_MEANINGS.split(), counts, strict=True)},
        "uptake_mean": total / n if n else None,
    }


def scenario_key(config: Mapping[str, Any], region: str, tile: str, problem, inputs, batch: int) -> str:
    """Key of the stored batches of an intervention tile job (:class:`tccas.io.output_store.BatchParts`):
    SHA-256 of the tccas version, the tile, its pixels, the scenario and assimilation settings, the batch
    size and what the inputs were (file sizes and modification times, the assimilation result included)."""
    import tccas
    from tccas.io.output_store import input_stamp
    from tccas.pipeline.assimilate import assimilation_settings

    payload = {
        "version": tccas.__version__,
        "region": region,
        "tile": tile,
        "pixels": hashlib.sha256(np.stack([problem.rows, problem.cols]).tobytes()).hexdigest(),
        "settings": repr(scenario_settings(config)),
        "da_settings": repr(assimilation_settings(config)),
        "scenario": config["scenario"],
        "batch": batch,
        "inputs": input_stamp(inputs),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def region_point(config: Mapping[str, Any], region: str) -> tuple[float, float] | None:
    """The pixel of the time-series panels: the region's first configured point (lon, lat), if any."""
    points = config["regions"][region].get("points")
    return tuple(float(v) for v in points[0]) if points else None


def intervention_tile(
    config: Mapping[str, Any],
    region: str,
    tile: str,
    output: str | Path,
    inputs: Mapping[str, str | Path] | None = None,
    result_path: str | Path | None = None,
    point: tuple[float, float] | None = None,
    n_workers: int | None = None,
    batch_size: int | None = None,
    report_path: str | Path | None = None,
) -> Path:
    """Run the intervention scenario for every land pixel of one tile and write its per-tile scenario result
    ``output`` (module notes, tile job).

    Resumable like the assimilation: finished batches are kept in ``.{tile}.zarr.batches`` beside ``output``
    until the result is written, and a rerun of the same job (:func:`scenario_key`) continues from them.
    ``inputs`` (regridded products) and ``result_path`` (per-tile assimilation result) default to the
    contract-C4 layout under ``outputs.root``; ``point`` (lon, lat) to :func:`region_point`; ``n_workers``
    and ``batch_size`` override ``dask.n_workers`` and ``scenario.pixels_per_batch``.
    """
    from tccas.da import AssimilationSettings
    from tccas.grid import tile_from_name
    from tccas.io import scenario_store as sstore
    from tccas.io.output_store import BatchParts, batch_parts_dir, open_tile_result
    from tccas.pipeline.problem import build_tile_problem
    from tccas.scenario import tree_pft_from_config

    t_start = time.perf_counter()
    root = Path(config["outputs"]["root"])
    tile_obj = tile_from_name(tile, config["grid"]["resolution_m"])
    paths = {k: Path(v) for k, v in (inputs or tile_input_paths(root, region, tile)).items()}
    result_path = Path(result_path or root / "assimilate" / region / f"{tile}.zarr")
    problem = build_tile_problem(paths, dict(config), region, tile_obj)
    settings = scenario_settings(config)
    da_settings = AssimilationSettings.from_config(dict(config))
    tree_pft = tree_pft_from_config(dict(config), region)
    fraction = float(config["scenario"]["fraction"])
    batch = int(batch_size or config["scenario"]["pixels_per_batch"])
    dask = DaskSettings.from_config(config, n_workers)
    point = point if point is not None else region_point(config, region)
    key = scenario_key(config, region, tile, problem, [*paths.values(), result_path], batch)
    parts = BatchParts.open(batch_parts_dir(output), key)
    source = str(result_path)
    with open_tile_result(result_path) as result:
        plan = plan_tile(problem, result, source, tree_pft, settings)
        n_run = run_tile_scenario(
            problem,
            result,
            source,
            plan,
            fraction,
            tree_pft,
            settings,
            da_settings,
            batch,
            dask,
            parts,
            report_path,
        )
        index = _point_pixel(problem, point)
        x_point = None
        if index is not None:
            at = tile_posterior(
                result, problem.rows[index : index + 1], problem.cols[index : index + 1], source
            )
            x_point = at["x_post"][0] if plan.usable[index] else at["x_prior"][0]
    fetch = tile_results(plan, parts, settings, batch)
    series = None
    if index is not None:
        series = pixel_panels(problem, index, x_point, fraction, tree_pft, settings, da_settings)
        series["uptake_sd"] = float(fetch(index, index + 1)["uptake_sd"][0])
        series["lonlat"] = point
    seconds = time.perf_counter() - t_start
    attrs = {
        "region": region,
        "run_id": config.get("run_id", ""),
        "pixels": int(problem.n_pixels),
        "pixels_run": int(plan.run.size),
        "covariance": plan.covariance,
        "pixels_per_batch": batch,
        "n_workers": dask.n_workers,
        "seconds": round(seconds, 3),
        **tile_summary(fetch, int(problem.n_pixels)),
    }
    sstore.write_scenario_tile_store(
        output,
        tile_obj,
        problem.rows,
        problem.cols,
        fetch,
        settings.horizon_years,
        attrs,
        config["outputs"]["io_chunk_mb"],
        series,
    )
    parts.remove()
    log.info(
        "tile %s/%s: %d pixels (%d converted, %d batches run) in %.1f s",
        region,
        tile,
        problem.n_pixels,
        plan.run.size,
        n_run,
        time.perf_counter() - t_start,
    )
    return Path(output)


def intervention_region(
    config: Mapping[str, Any],
    region: str,
    sentinel: str | Path,
    store: str | Path | None = None,
    quicklook_dir: str | Path | None = None,
    overview_store: str | Path | None = None,
) -> Path:
    """The scenario group of ``region``'s map store from its per-tile scenario results
    (``results/scenario/{region}/{tile}.zarr``, one tile in memory at a time), its overview pyramid
    (``overview_store``, default ``results/maps/{region}.scenario.overviews.zarr``), the effect quick-looks,
    the time-series panels of the point pixel (when a tile holds one) and ``sentinel``."""
    from tccas.config import planned_tiles
    from tccas.io import scenario_plot
    from tccas.io import scenario_store as sstore
    from tccas.io.output_store import grid_of_store, write_json
    from tccas.pipeline.overviews import QUICKLOOK_PIXELS, overviews

    t_start = time.perf_counter()
    root = Path(config["outputs"]["root"])
    store = Path(store) if store is not None else root / "maps" / f"{region}.zarr"
    quicklook_dir = Path(quicklook_dir) if quicklook_dir else root / "quicklook" / "scenario" / region
    overview_store = Path(overview_store or root / "maps" / f"{region}.scenario.overviews.zarr")
    settings = scenario_settings(config)
    fraction = float(config["scenario"]["fraction"])
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
    tiles, covariance, point = [], set(), None
    for tile in planned_tiles(dict(config), region):
        tile_store = root / "scenario" / region / f"{tile.name}.zarr"
        info = sstore.scenario_tile_attrs(tile_store)
        if info["pixels"]:
            sstore.write_scenario_tile(store, tile, tile_store)
            covariance.add(info["covariance"])
            point = point or sstore.read_point_series(tile_store)
        tiles.append(
            {"tile": tile.name, **{k: info.get(k) for k in ("pixels", "seconds", "status", "uptake_mean")}}
        )
    sstore.consolidate_scenario(store)
    group = store / sstore.GROUP
    overviews(group, overview_store, max_pixels=QUICKLOOK_PIXELS)
    grid = grid_of_store(sstore.open_scenario(store))
    if max(grid.nx, grid.ny) <= QUICKLOOK_PIXELS:
        maps, extent = sstore.scenario_maps(group)
    else:
        from tccas.io.overviews import level_for

        maps, extent = sstore.scenario_maps(level_for(overview_store, QUICKLOOK_PIXELS))
    period = f"{config['period']['start']} to {config['period']['end']}"
    run_id = config.get("run_id", "")
    title = f"{region}, window {period}, +{settings.horizon_years} yr, fraction {fraction:g}, run {run_id}"
    pngs = scenario_plot.write_effect_quicklooks(
        quicklook_dir, maps, sstore.scenario_registry(), extent, title
    )
    del maps
    panel = None
    if point is not None:
        lon, lat = point["lonlat"]
        panel = scenario_plot.write_pixel_panels(
            quicklook_dir / "scenario_pixel_series.png",
            point["dates"],
            point["series"],
            point["conversion_date"],
            f"intervention at lon {lon:.2f} lat {lat:.2f} ({region}), fraction {fraction:g}",
            annual_uptake=(point["year_ends"], point["uptake_annual"], point["uptake_sd"]),
        )
        pngs.append(panel)
    elif region_point(config, region) is not None:
        log.warning(
            "point %s is not a land pixel of region %s: no time-series panels",
            region_point(config, region),
            region,
        )
    n_total = sum(t["pixels"] for t in tiles)
    tile_seconds = sum(t["seconds"] for t in tiles if t["seconds"] is not None)
    summary = {
        **attrs,
        "store": str(store),
        "group": sstore.GROUP,
        "overviews": str(overview_store),
        "pixels": n_total,
        "tiles": tiles,
        "covariance": sorted(covariance),
        "pngs": [str(p) for p in pngs],
        "series_png": str(panel) if panel else None,
        "wall_seconds": round(time.perf_counter() - t_start, 3),
        "seconds_per_pixel": round(tile_seconds / n_total, 3) if n_total else None,
    }
    write_json(sentinel, summary)
    log.info("intervention %s: %d pixels, %d PNGs", region, n_total, len(pngs))
    return Path(sentinel)
