"""Region map store: template, per-tile write and finalize (rules ``init_store``, ``write_tile``,
``finalize_store``; ecosystem_aesthetics §2.5, §6).

* :func:`init_store` writes the metadata-only template of ``results/maps/{region}.zarr`` over the bounding
  grid of the region's planned tiles, with the time axis of the time-resolved maps (``outputs.time_step``;
  none when ``assimilation.store_daily_series`` is false) and the control-vector axis, then a template
  sentinel.
* :func:`write_tile` converts one per-tile DA result (float32 maps, daily series) to the registry variables
  (float32 maps; daily series averaged to the time step), writes them by region (idempotent: rewriting a tile
  gives identical bytes) and writes the tile sentinel (JSON with convergence counts).
* :func:`finalize` checks that every planned tile has a current sentinel (no interrupted write, written into
  this template of the store), validates the store (CF attributes, CRS, no NaN where converged, per tile a
  finite cost for every assimilated pixel and not all of them failed), stamps provenance, consolidates
  metadata and writes a summary JSON used by the report.

Memory (issue #28): ``write_tile`` holds one variable of one tile and one block of rows of the per-tile
result, ``finalize`` one band of one tile row of the store (and along time as many steps as fit): both are
bounded by ``outputs.io_chunk_mb`` and the tile size, never by the region.

Interrupted jobs: ``init_store`` and ``write_tile`` first remove the region's finalize summary (the store is
no longer final), so after a kill the workflow reruns the finalisation, whose missing sentinel makes it rerun
the interrupted write (Snakemake alone keeps the downstream summary and skips a missing intermediate
sentinel). ``write_tile`` also leaves a write marker until its sentinel is written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tccas
from tccas.config import planned_tiles, settings_digest
from tccas.grid import tile_from_name
from tccas.io import output_store as store_io

log = logging.getLogger(__name__)


def time_axis(start: str, end: str, step: str) -> tuple[np.ndarray, np.ndarray]:
    """Start dates and ``[start, end)`` bounds of the time steps covering the inclusive window.

    ``step`` is ``daily`` or ``monthly`` (calendar months; the first and last may be partial).
    """
    first = np.datetime64(start, "D")
    last = np.datetime64(end, "D")
    if step == "daily":
        starts = np.arange(first, last + 1, dtype="datetime64[D]")
        ends = starts + 1
    elif step == "monthly":
        months = np.arange(first.astype("datetime64[M]"), last.astype("datetime64[M]") + 1)
        starts = np.maximum(months.astype("datetime64[D]"), first)
        ends = np.minimum((months + 1).astype("datetime64[D]"), last + 1)
    else:
        raise ValueError(f"outputs.time_step {step!r} is not one of daily, monthly")
    return starts, np.stack([starts, ends], axis=1)


def aggregate_series(values: np.ndarray, days: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Mean of daily maps ``values (day, y, x)`` over each time step ``bounds (time, 2)``; NaN if no data.

    Days outside every step are ignored; NaN days are skipped (cell_methods ``time: mean``).
    """
    days = np.asarray(days, dtype="datetime64[D]")
    bounds = np.asarray(bounds, dtype="datetime64[D]")
    idx = np.searchsorted(bounds[:, 0], days, side="right") - 1
    inside = (idx >= 0) & (days < bounds[np.clip(idx, 0, None), 1])
    out_shape = (bounds.shape[0], *values.shape[1:])
    total = np.zeros(out_shape, dtype=np.float64)
    count = np.zeros(out_shape, dtype=np.int64)
    finite = np.isfinite(values)
    for d in np.flatnonzero(inside):
        total[idx[d]] += np.where(finite[d], values[d], 0.0)
        count[idx[d]] += finite[d]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def config_sha256(config: Mapping[str, Any]) -> str:
    """Digest of the run's settings recorded in the region store (:func:`tccas.config.settings_digest`: every
    section but the Dask machinery); the workflow reruns ``finalize_store`` when it changes."""
    return settings_digest(config)


def store_control_names(config: Mapping[str, Any]) -> list[str]:
    """Names of the per-pixel control vector stored on the ``control`` axis (``tccas.da.control_names``)."""
    from tccas.pipeline.assimilate import assimilation_settings, slot_control_names

    return slot_control_names(int(config["assimilation"]["max_tiles"]), assimilation_settings(config))


def daily_series(config: Mapping[str, Any]) -> bool:
    """Whether the run keeps the daily posterior series (``assimilation.store_daily_series``): the per-tile
    results hold them and the region store has the time-resolved ``*_series`` maps."""
    return bool(config["assimilation"]["store_daily_series"])


def store_registry(config: Mapping[str, Any]) -> tuple:
    """The registry variables of the run's region stores: all, or all but the series without daily ones."""
    keep = daily_series(config)
    return tuple(s for s in store_io.load_registry() if keep or s.kind != "series")


def init_store(
    config: Mapping[str, Any],
    region: str,
    store: str | Path,
    sentinel: str | Path,
    control_names: Sequence[str] | None = None,
    overwrite: bool = True,
    summary: str | Path | None = None,
) -> Path:
    """Write the template of the region store and its sentinel (rule ``init_store``); ``summary``: the
    region's finalize summary, removed first. The template gets a fresh ``template_id`` that every tile
    sentinel records, so the finalisation refuses sentinels of an earlier template."""
    tiles = planned_tiles(dict(config), region)
    grid = store_io.StoreGrid.from_tiles(tiles)
    times, bounds = time_axis(
        config["period"]["start"], config["period"]["end"], config["outputs"]["time_step"]
    )
    names = list(control_names) if control_names is not None else store_control_names(config)
    store_io.unfinalize(summary)
    attrs = {
        "title": f"tccas posterior maps, region {region}, run {config.get('run_id', '')}",
        "institution": "tccas developers",
        "source": f"tccas {tccas.__version__}: D&B land model + variational assimilation (JAX)",
        "references": "https://tccas.inversion-lab.com",
        "history": f"template written by tccas init-store {tccas.__version__}",
        "tccas_version": tccas.__version__,
        "run_id": str(config.get("run_id", "")),
        "region": region,
        "config_sha256": config_sha256(config),
        "template_id": uuid.uuid4().hex,
        "period_start": config["period"]["start"],
        "period_end": config["period"]["end"],
        "time_step": config["outputs"]["time_step"],
        "tiles": [t.name for t in tiles],
        "daily_series": daily_series(config),
    }
    n_slots = int(config["assimilation"]["max_tiles"])
    path = store_io.write_template(
        store, grid, times, bounds, names, store_registry(config), attrs, n_slots, overwrite=overwrite
    )
    store_io.write_json(
        sentinel,
        {"store": str(path), "region": region, "tiles": attrs["tiles"], "template_id": attrs["template_id"]},
    )
    log.info(
        "template of %s written (%d x %d cells, %d time steps, %d tiles)",
        path,
        grid.ny,
        grid.nx,
        len(times),
        len(tiles),
    )
    return path


def _converted(spec, values: np.ndarray) -> np.ndarray:
    """Per-tile result values in the store's dtype: floats cast (float32 maps); integer variables take the
    fill where a float source is non-finite or negative."""
    if np.dtype(spec.dtype).kind == "f":
        return values.astype(spec.dtype)
    if values.dtype.kind == "f":
        values = np.where(np.isfinite(values) & (values >= 0), values, spec.fill_value)
    return np.asarray(values).astype(spec.dtype)


def tile_blocks(
    result, times_bounds: np.ndarray, registry, n_controls: int, n_slots: int, chunk_mb: float | None = None
) -> Iterator[tuple[str, slice | None, np.ndarray]]:
    """Registry variables of one tile from its per-tile DA result (lazy xarray Dataset), as the blocks of
    :func:`tccas.io.output_store.write_tile_region`: ``(variable, outer slice or None, values)``.

    Each variable is yielded whole over the tile (its region-store chunks: every control and slot at once),
    the time-resolved maps in groups of as many time steps as fit in ``chunk_mb`` MiB
    (:func:`series_blocks`); the per-tile result is read in its blocks of rows (attribute ``block_rows``), so
    the job holds one variable of one tile (float32) and one block of rows, whatever the tile or region size.
    """
    ny, nx = result.sizes["y"], result.sizes["x"]
    step = int(result.attrs.get("block_rows", ny))
    row_blocks = [slice(r0, min(r0 + step, ny)) for r0 in range(0, ny, step)]
    outer = {"parameter": n_controls, "land_cover": n_slots}
    for spec in registry:
        if spec.kind == "series":
            if spec.source not in result:
                raise ValueError(
                    f"the per-tile result has no daily series {spec.source!r} for {spec.name} (written with "
                    "assimilation.store_daily_series: false, the store template with true: rerun init-store)"
                )
            yield from series_blocks(spec, result[spec.source], times_bounds, row_blocks, chunk_mb)
            continue
        n = outer.get(spec.kind)
        shape = (ny, nx) if n is None else (n, ny, nx)
        whole = None if n is None else slice(None)
        if spec.source not in result:
            yield spec.name, whole, np.full(shape, spec.fill_value, dtype=spec.dtype)
            continue
        var = result[spec.source]
        if var.shape != shape:
            raise ValueError(
                f"per-tile result {spec.source!r} has shape {var.shape}, the store expects {shape}"
            )
        out = np.empty(shape, dtype=spec.dtype)
        for rows in row_blocks:
            out[..., rows, :] = _converted(spec, np.asarray(var.isel(y=rows).values))
        yield spec.name, whole, out


def series_blocks(
    spec, series, times_bounds: np.ndarray, row_blocks: list[slice], chunk_mb: float | None = None
) -> Iterator[tuple[str, slice, np.ndarray]]:
    """Time-step means (:func:`aggregate_series`) of one daily series ``(day, y, x)`` of a per-tile result,
    ``(variable, time slice, values)`` for groups of as many time steps of the tile as fit in ``chunk_mb``
    MiB, each group from the days it covers, read in ``row_blocks``."""
    days = series["day"].values.astype("datetime64[D]")
    ny, nx = series.sizes["y"], series.sizes["x"]
    group = store_io.planes_per_block(ny * nx * np.dtype(spec.dtype).itemsize, chunk_mb)
    for t0 in range(0, len(times_bounds), group):
        bounds = times_bounds[t0 : t0 + group]
        d0, d1 = (int(d) for d in np.searchsorted(days, [bounds[0, 0], bounds[-1, 1]]))
        out = np.empty((len(bounds), ny, nx), dtype=spec.dtype)
        for rows in row_blocks:
            out[:, rows] = aggregate_series(
                series.isel(day=slice(d0, d1), y=rows).values, days[d0:d1], bounds
            )
        yield spec.name, slice(t0, t0 + len(bounds)), out


def write_tile(
    config: Mapping[str, Any],
    region: str,
    tile: str,
    result_path: str | Path,
    store: str | Path,
    sentinel: str | Path,
    summary: str | Path | None = None,
) -> dict[str, Any]:
    """Write one tile's per-tile result into the region store (by region, variable by variable:
    :func:`tile_blocks`) and its sentinel (rule ``write_tile``); returns the sentinel payload. ``summary``:
    the region's finalize summary, removed before the store is touched; a write marker beside the sentinel
    stays until the sentinel is written. Peak memory: one variable of the tile plus one block of
    ``outputs.io_chunk_mb``."""
    tile_obj = tile_from_name(tile, config["grid"]["resolution_m"])
    result = store_io.open_tile_result(result_path)
    target = store_io.open_store(store)
    n_controls = target.sizes["control"]
    if (
        "control" in result.coords
        and result.sizes.get("control", 0)
        and list(result["control"].values) != list(target["control"].values)
    ):
        raise ValueError(
            f"{result_path}: control names {list(result['control'].values)} differ from the store's "
            f"{list(target['control'].values)}"
        )
    bounds = target["time_bounds"].values.astype("datetime64[D]")
    registry = [s for s in store_io.load_registry() if s.name in target]
    chunk_mb = config["outputs"]["io_chunk_mb"]
    blocks = tile_blocks(result, bounds, registry, n_controls, target.sizes["tile_slot"], chunk_mb)
    template_id = target.attrs.get("template_id")
    store_io.unfinalize(summary)
    store_io.begin_region_write(sentinel, {"tile": tile, "store": str(store), "template_id": template_id})
    store_io.write_tile_region(store, tile_obj, blocks)
    counts = store_io.status_counts(store, tile_obj)
    payload = {
        "region": region,
        "tile": tile,
        "template_id": template_id,
        "result": str(result_path),
        "store": str(store),
        "n_pixels": int(result["processed"].sum()) if "processed" in result else 0,
        "assimilate_wall_seconds": result.attrs.get("wall_seconds"),
        **counts,
    }
    store_io.end_region_write(sentinel, payload)
    log.info("tile %s written into %s: %s", tile, store, counts["status"])
    return payload


def finalize(
    config: Mapping[str, Any],
    region: str,
    store: str | Path,
    sentinels: Sequence[str | Path],
    summary: str | Path,
) -> dict[str, Any]:
    """Check every tile sentinel, validate + consolidate the store, write the summary JSON (rule
    ``finalize_store``)."""
    interrupted = store_io.interrupted_writes(sentinels)
    if interrupted:
        raise store_io.StoreValidationError(
            f"{store}: interrupted tile writes (the store may mix old and new values): "
            f"{', '.join(interrupted)}; rerun the workflow (it rewrites these tiles)"
        )
    missing = store_io.missing_sentinels(sentinels)
    if missing:
        raise FileNotFoundError(f"{store}: tiles not written yet, sentinels missing: {', '.join(missing)}")
    tiles = [store_io.read_json(s) for s in sentinels]
    planned = planned_tiles(dict(config), region)
    expected = {t.name for t in planned}
    written = {t["tile"] for t in tiles}
    if expected - written:
        raise FileNotFoundError(f"{store}: planned tiles without a sentinel: {sorted(expected - written)}")
    template_id = store_io.open_store(store).attrs.get("template_id")
    stale = [t["tile"] for t in tiles if t.get("template_id") != template_id]
    if stale:
        raise store_io.StoreValidationError(
            f"{store}: stale tile sentinels (written into an earlier template of the store): "
            f"{', '.join(sorted(stale))}; rerun their write_tile"
        )
    store_io.finalize_store(
        store,
        {
            "tiles_written": sorted(written),
            "config_sha256": config_sha256(config),
            "tccas_version": tccas.__version__,
        },
        planned,
        config["outputs"]["io_chunk_mb"],
    )
    totals: dict[str, int] = {}
    for t in tiles:
        for k, v in t["status"].items():
            totals[k] = totals.get(k, 0) + int(v)
    payload = {"region": region, "store": str(store), "tiles": tiles, "status_totals": totals}
    store_io.write_json(summary, payload)
    log.info("store %s finalized: %s", store, totals)
    return payload
