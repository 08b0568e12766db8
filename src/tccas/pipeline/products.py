"""Region map store: template, per-tile write and finalize (rules ``init_store``, ``write_tile``,
``finalize_store``; ecosystem_aesthetics §2.5, §6).

* :func:`init_store` writes the metadata-only template of ``results/maps/{region}.zarr`` over the bounding
  grid of the region's planned tiles, with the time axis of the time-resolved maps (``outputs.time_step``)
  and the control-vector axis, then a template sentinel.
* :func:`write_tile` converts one per-tile DA result (daily series, float64) to the registry variables
  (float32 maps; daily series averaged to the time step), writes them by region (idempotent: rewriting a tile
  gives identical bytes) and writes the tile sentinel (JSON with convergence counts).
* :func:`finalize` checks that every planned tile has a current sentinel (no interrupted write, written into
  this template of the store), validates the store (CF attributes, CRS, no NaN where converged, per tile a
  finite cost for every assimilated pixel and not all of them failed), stamps provenance, consolidates
  metadata and writes a summary JSON used by the report.

Interrupted jobs: ``init_store`` and ``write_tile`` first remove the region's finalize summary (the store is
no longer final), so after a kill the workflow reruns the finalisation, whose missing sentinel makes it rerun
the interrupted write (Snakemake alone keeps the downstream summary and skips a missing intermediate
sentinel). ``write_tile`` also leaves a write marker until its sentinel is written.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
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
    }
    n_slots = int(config["assimilation"]["max_tiles"])
    path = store_io.write_template(
        store, grid, times, bounds, names, store_io.load_registry(), attrs, n_slots, overwrite=overwrite
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


def tile_values(
    result, times_bounds: np.ndarray, registry, n_controls: int, n_slots: int
) -> dict[str, np.ndarray]:
    """Registry variables of one tile from its per-tile DA result (xarray Dataset)."""
    ny, nx = result.sizes["y"], result.sizes["x"]
    values: dict[str, np.ndarray] = {}
    for spec in registry:
        if spec.kind == "series":
            shape = (times_bounds.shape[0], ny, nx)
            if spec.source in result:
                values[spec.name] = aggregate_series(
                    result[spec.source].values, result["day"].values, times_bounds
                ).astype(spec.dtype)
            else:
                values[spec.name] = np.full(shape, spec.fill_value, dtype=spec.dtype)
            continue
        shape = {"parameter": (n_controls, ny, nx), "land_cover": (n_slots, ny, nx)}.get(spec.kind, (ny, nx))
        if spec.source not in result:
            values[spec.name] = np.full(shape, spec.fill_value, dtype=spec.dtype)
            continue
        arr = np.asarray(result[spec.source].values)
        if arr.shape != shape:
            raise ValueError(
                f"per-tile result {spec.source!r} has shape {arr.shape}, the store expects {shape}"
            )
        if np.dtype(spec.dtype).kind == "f":
            values[spec.name] = arr.astype(spec.dtype)
        else:
            filled = (
                np.where(np.isfinite(arr) & (arr >= 0), arr, spec.fill_value)
                if arr.dtype.kind == "f"
                else arr
            )
            values[spec.name] = np.asarray(filled).astype(spec.dtype)
    return values


def write_tile(
    config: Mapping[str, Any],
    region: str,
    tile: str,
    result_path: str | Path,
    store: str | Path,
    sentinel: str | Path,
    summary: str | Path | None = None,
) -> dict[str, Any]:
    """Write one tile's per-tile result into the region store (by region) and its sentinel (rule
    ``write_tile``); returns the sentinel payload. ``summary``: the region's finalize summary, removed before
    the store is touched; a write marker beside the sentinel stays until the sentinel is written."""
    tile_obj = tile_from_name(tile, config["grid"]["resolution_m"])
    result = store_io.read_tile_result(result_path)
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
    values = tile_values(result, bounds, registry, n_controls, target.sizes["tile_slot"])
    template_id = target.attrs.get("template_id")
    store_io.unfinalize(summary)
    store_io.begin_region_write(sentinel, {"tile": tile, "store": str(store), "template_id": template_id})
    store_io.write_tile_region(store, tile_obj, values)
    counts = store_io.status_counts(store, tile_obj)
    payload = {
        "region": region,
        "tile": tile,
        "template_id": template_id,
        "result": str(result_path),
        "store": str(store),
        "n_pixels": int(np.asarray(result["processed"].values).sum()) if "processed" in result else 0,
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
    )
    totals: dict[str, int] = {}
    for t in tiles:
        for k, v in t["status"].items():
            totals[k] = totals.get(k, 0) + int(v)
    payload = {"region": region, "store": str(store), "tiles": tiles, "status_totals": totals}
    store_io.write_json(summary, payload)
    log.info("store %s finalized: %s", store, totals)
    return payload
