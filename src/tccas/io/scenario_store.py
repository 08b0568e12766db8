"""The ``scenario`` group of a region map store: intervention-scenario effect maps (obs_da_spec §8).

Layout: group ``scenario`` inside ``results/maps/{region}.zarr`` (contract C4), on the same EPSG:3035 grid as
the root group (coordinates ``y``/``x``, ``spatial_ref`` grid mapping, GeoZarr attributes), with

* one ``(y, x)`` map per scenario target and statistic (:data:`tccas.scenario.targets.TARGETS` ×
  :data:`tccas.scenario.targets.STATISTICS`, e.g. ``uptake``, ``uptake_sd``, ``uptake_prior``,
  ``uptake_prior_sd``, ``uptake_ur``; float32, NaN fill);
* ``uptake_annual`` ``(year, y, x)``: the cumulative extra uptake at the end of each horizon year;
* diagnostics ``converted_fraction``, ``planted``, ``exported`` and the flag map ``status``.

A group (rather than prefixed root variables) keeps the root's registry, dims and finalize validation of
:mod:`tccas.io.output_store` untouched and lets the scenario carry its own ``year`` dimension. The same
write discipline applies: a metadata-only template first, then one copy per tile from its per-tile scenario
result (:func:`write_scenario_tile`; idempotent, one tile = one chunk along y/x), then
:func:`consolidate_scenario` re-consolidates the store's metadata so a consolidated reader sees the group.

Per-tile scenario results (``results/scenario/{region}/{tile}.zarr``, :func:`write_scenario_tile_store`)
hold the same variables on the tile's grid, written block by block by the tile job, plus the daily series
of the region's point pixel (group ``point``) in the tile that holds it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr

from tccas.grid import CRS
from tccas.grid.tiles import Tile
from tccas.io._util import atomic_path
from tccas.io.output_store import (
    CONVENTIONS,
    RESULT_COMPRESSORS,
    StoreGrid,
    VariableSpec,
    geozarr_attrs,
    grid_of_store,
    grid_region_checked,
    io_block_bytes,
    open_store,
)
from tccas.scenario.targets import STATISTICS, TARGETS

GROUP = "scenario"
POINT_GROUP = "point"  # daily series of one pixel in a per-tile scenario result
STATUS_FLAGS = (0, 1, 2)
STATUS_MEANINGS = "computed no_grass_tile no_posterior"
_NAN = float("nan")


def scenario_registry() -> tuple[VariableSpec, ...]:
    """The variables of the scenario group (expanded from the scenario target table)."""
    specs: list[VariableSpec] = []
    for target in TARGETS:
        for suffix, (template, quicklook, units) in STATISTICS.items():
            specs.append(
                VariableSpec(
                    name=f"{target.name}{suffix}",
                    kind="target",
                    source=f"{target.name}{suffix}",
                    dims=("y", "x"),
                    dtype="float32",
                    fill_value=_NAN,
                    units=target.units if units == "target" else units,
                    long_name=template.format(long_name=target.long_name),
                    cell_methods="area: mean",
                    quicklook=target.quicklook if quicklook == "target" else quicklook,
                    ancillary_variables=f"{target.name}_sd {target.name}_ur" if suffix == "" else None,
                    target=target.name,
                )
            )
    specs += [
        VariableSpec(
            name="uptake_annual",
            kind="series",
            source="uptake_annual",
            dims=("year", "y", "x"),
            dtype="float32",
            fill_value=_NAN,
            units="g m-2",
            long_name="posterior extra carbon uptake (intervention minus counterfactual) cumulated to the "
            "end of each horizon year",
        ),
        VariableSpec(
            name="converted_fraction",
            kind="diagnostic",
            source="converted_fraction",
            dims=("y", "x"),
            dtype="float32",
            fill_value=_NAN,
            units="1",
            long_name="fraction of the pixel area converted from grass to trees",
            quicklook="sequential",
        ),
        VariableSpec(
            name="planted",
            kind="diagnostic",
            source="planted",
            dims=("y", "x"),
            dtype="float32",
            fill_value=_NAN,
            units="g m-2",
            long_name="carbon in the planted young trees (living pools of the new tile) per pixel area",
        ),
        VariableSpec(
            name="exported",
            kind="diagnostic",
            source="exported",
            dims=("y", "x"),
            dtype="float32",
            fill_value=_NAN,
            units="g m-2",
            long_name="grass living biomass carbon exported from the converted area per pixel area",
        ),
        VariableSpec(
            name="status",
            kind="diagnostic",
            source="status",
            dims=("y", "x"),
            dtype="int8",
            fill_value=-1,
            units="1",
            long_name="intervention scenario status",
            quicklook="status",
            flag_values=STATUS_FLAGS,
            flag_meanings=STATUS_MEANINGS,
        ),
    ]
    return tuple(specs)


def _chunks(spec: VariableSpec, sizes: Mapping[str, int], grid: StoreGrid) -> tuple[int, ...]:
    return tuple(grid.tile_px if d in ("y", "x") else max(int(sizes[d]), 1) for d in spec.dims)


def build_scenario_template(grid: StoreGrid, horizon_years: int, attrs: Mapping[str, object]) -> xr.Dataset:
    """Lazy template of the scenario group (dask arrays of the fill value, CF attributes, encodings)."""
    registry = scenario_registry()
    sizes = {"y": grid.ny, "x": grid.nx, "year": int(horizon_years)}
    data_vars = {
        s.name: (
            s.dims,
            da.full(
                tuple(sizes[d] for d in s.dims), s.fill_value, dtype=s.dtype, chunks=_chunks(s, sizes, grid)
            ),
        )
        for s in registry
    }
    coords = {
        "x": ("x", grid.x.astype("float64")),
        "y": ("y", grid.y.astype("float64")),
        "year": ("year", np.arange(1, int(horizon_years) + 1, dtype=np.int32)),
    }
    ds = xr.Dataset(data_vars, coords=coords)
    ds["x"].attrs.update(
        standard_name="projection_x_coordinate", long_name="x coordinate", units="m", axis="X"
    )
    ds["y"].attrs.update(
        standard_name="projection_y_coordinate", long_name="y coordinate", units="m", axis="Y"
    )
    ds["year"].attrs.update(
        long_name="year of the scenario horizon (1 = first year after the conversion)", units="1"
    )
    ds = ds.rio.write_crs(CRS).rio.write_transform(grid.transform)
    for spec in registry:
        ds[spec.name].attrs = {**spec.attrs(), "grid_mapping": "spatial_ref"}
        ds[spec.name].encoding = {
            "dtype": spec.dtype,
            "_FillValue": spec.fill_value,
            "chunks": _chunks(spec, sizes, grid),
            "coordinates": "spatial_ref",
        }
    ds.attrs = {"Conventions": CONVENTIONS, **attrs, **geozarr_attrs(grid), "tile_px": grid.tile_px}
    return ds


def write_scenario_template(store: str | Path, horizon_years: int, attrs: Mapping[str, object]) -> StoreGrid:
    """(Re)write the metadata-only scenario group of the region store ``store``; returns the store grid.

    The root group must exist (written by the region-store template rule). An existing scenario group is
    replaced, so the intervention rule is idempotent; the root group's variables are not touched.
    """
    store = Path(store)
    grid = grid_of_store(open_store(store))
    ds = build_scenario_template(grid, horizon_years, attrs)
    root = zarr.open_group(store, mode="r+", zarr_format=3)
    if GROUP in root:
        del root[GROUP]
    ds.to_zarr(store, group=GROUP, mode="w-", compute=False, zarr_format=3, consolidated=False)
    return grid


def _raster_order(tile: Tile, rows: np.ndarray) -> None:
    if rows.size > 1 and np.any(np.diff(rows) < 0):
        raise ValueError(f"tile {tile.name}: pixels are not in raster order (rows decrease)")


def write_scenario_tile_store(
    path: str | Path,
    tile: Tile,
    rows: np.ndarray,
    cols: np.ndarray,
    fetch: Callable[[int, int], Mapping[str, np.ndarray]],
    horizon_years: int,
    attrs: Mapping[str, object],
    chunk_mb: float | None = None,
    point: Mapping[str, object] | None = None,
) -> Path:
    """Write the per-tile scenario result ``results/scenario/{region}/{tile}.zarr`` atomically, in blocks.

    ``fetch(p0, p1)`` returns the per-pixel results of pixels ``p0 … p1 − 1`` (pixel k at raster position
    ``(rows[k], cols[k])``, pixels in raster order): every variable of :func:`scenario_registry`, ``(n,)``
    for a map and ``(n, horizon_years)`` for ``uptake_annual``. The store holds them on the tile's grid with
    the registry's dtypes, fill values and attributes, Blosc-compressed and chunked along y in blocks of rows
    of at most ``chunk_mb`` MiB (default :data:`tccas.io.output_store.IO_CHUNK_MB`); one block is in memory at
    a time. ``point``: the daily series of one pixel (:func:`write_point_series`), stored as group ``point``.
    The store is written under a temporary name and renamed, so an interrupted write leaves nothing.
    """
    path = Path(path)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    _raster_order(tile, rows)
    registry = scenario_registry()
    ny, nx = tile.shape
    sizes = {"y": ny, "x": nx, "year": int(horizon_years)}
    per_row = nx * sum(
        np.dtype(s.dtype).itemsize * (sizes["year"] if "year" in s.dims else 1) for s in registry
    )
    block = int(max(1, min(ny, io_block_bytes(chunk_mb) // per_row)))
    chunks = {"y": block, "x": nx, "year": sizes["year"]}
    data_vars = {
        s.name: (
            s.dims,
            da.full(
                tuple(sizes[d] for d in s.dims),
                s.fill_value,
                dtype=s.dtype,
                chunks=tuple(chunks[d] for d in s.dims),
            ),
            s.attrs(),
        )
        for s in registry
    }
    coords = {
        "y": tile.y.astype("float64"),
        "x": tile.x.astype("float64"),
        "year": np.arange(1, sizes["year"] + 1, dtype=np.int32),
    }
    ds = xr.Dataset(data_vars, coords=coords, attrs={"tile": tile.name, **attrs, "block_rows": block})
    ds = ds.rio.write_crs(CRS)
    encoding = {s.name: {"compressors": RESULT_COMPRESSORS, "_FillValue": s.fill_value} for s in registry}
    for stale in path.parent.glob(f".{path.name}.tmp*"):  # temporary stores of killed jobs
        shutil.rmtree(stale, ignore_errors=True)
    with atomic_path(path) as tmp:
        ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=False, encoding=encoding, compute=False)
        group = zarr.open_group(tmp, mode="r+", zarr_format=3)
        for r0 in range(0, ny, block):
            r1 = min(r0 + block, ny)
            p0, p1 = (int(p) for p in np.searchsorted(rows, [r0, r1]))
            part = fetch(p0, p1) if p1 > p0 else {}
            r, c = rows[p0:p1] - r0, cols[p0:p1]
            for spec in registry:
                lead = (sizes["year"],) if "year" in spec.dims else ()
                raster = np.full((*lead, r1 - r0, nx), spec.fill_value, dtype=spec.dtype)
                if p1 > p0:
                    if spec.name not in part:
                        raise KeyError(f"tile {tile.name}: no scenario result {spec.name!r}")
                    values = np.asarray(part[spec.name])
                    if values.shape != (p1 - p0, *lead):
                        raise ValueError(
                            f"tile {tile.name}: {spec.name} has shape {values.shape}, "
                            f"expected {(p1 - p0, *lead)}"
                        )
                    raster[..., r, c] = np.moveaxis(values, 0, -1)
                group[spec.name][..., r0:r1, :] = raster
        if point is not None:
            point_dataset(point).to_zarr(tmp, group=POINT_GROUP, mode="w-", zarr_format=3, consolidated=False)
    return path


def open_scenario_tile(path: str | Path) -> xr.Dataset:
    """Open a per-tile scenario result lazily, without Dask (indexing reads only the chunks it covers)."""
    path = Path(path)
    if not (path / "zarr.json").exists():
        raise FileNotFoundError(f"{path}: no per-tile scenario result (run intervention-tile first)")
    return xr.open_zarr(path, consolidated=False, chunks=None)


def point_dataset(point: Mapping[str, object]) -> xr.Dataset:
    """The daily series of one pixel as a Dataset (group ``point`` of a per-tile scenario result).

    ``point`` holds ``dates`` (datetime64[D]), ``series`` (label → panel → daily array on ``dates``),
    ``conversion_date``, ``year_ends`` and ``uptake_annual`` (cumulative ΔU at each, gC m⁻²),
    ``uptake_sd`` (σ_post of the horizon total, gC m⁻²) and ``lonlat``."""
    series = point["series"]
    labels = list(series)
    panels = list(series[labels[0]]) if labels else []
    data = {
        panel: (("series", "day"), np.stack([np.asarray(series[lab][panel], np.float64) for lab in labels]))
        for panel in panels
    }
    data["uptake_annual"] = (
        ("year_end",),
        np.asarray(point["uptake_annual"], np.float64),
        {"units": "g m-2"},
    )
    coords = {
        "day": np.asarray(point["dates"], dtype="datetime64[ns]"),
        "series": np.asarray(labels, dtype=object),
        "year_end": np.asarray(point["year_ends"], dtype="datetime64[ns]"),
    }
    lon, lat = (float(v) for v in point["lonlat"])
    attrs = {
        "conversion_date": str(np.datetime64(point["conversion_date"], "D")),
        "uptake_sd": float(point["uptake_sd"]),
        "lon": lon,
        "lat": lat,
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def read_point_series(path: str | Path) -> dict[str, object] | None:
    """The daily series of one pixel stored with a per-tile scenario result (:func:`point_dataset`'s
    mapping), or None when the tile holds no such pixel."""
    path = Path(path)
    if not (path / POINT_GROUP / "zarr.json").exists():
        return None
    with xr.open_zarr(path, group=POINT_GROUP, consolidated=False, chunks=None) as ds:
        ds = ds.load()
    panels = [name for name, var in ds.data_vars.items() if var.dims == ("series", "day")]
    return {
        "dates": ds["day"].values.astype("datetime64[D]"),
        "series": {
            str(label): {p: ds[p].values[i] for p in panels} for i, label in enumerate(ds["series"].values)
        },
        "conversion_date": np.datetime64(ds.attrs["conversion_date"], "D"),
        "year_ends": ds["year_end"].values.astype("datetime64[D]"),
        "uptake_annual": ds["uptake_annual"].values,
        "uptake_sd": float(ds.attrs["uptake_sd"]),
        "lonlat": (float(ds.attrs["lon"]), float(ds.attrs["lat"])),
    }


def scenario_tile_attrs(path: str | Path) -> dict[str, object]:
    """The attributes (run summary) of a per-tile scenario result."""
    with open_scenario_tile(path) as ds:
        return dict(ds.attrs)


def write_scenario_tile(store: str | Path, tile: Tile, tile_store: str | Path) -> dict[str, slice]:
    """Copy a per-tile scenario result into the scenario group of the region store ``store`` (its region of
    the grid; idempotent). One variable at a time: the job holds one chunk of the group (one tile)."""
    store = Path(store)
    region = grid_region_checked(grid_of_store(open_scenario(store)), tile, open_scenario(store))
    group = zarr.open_group(store / GROUP, mode="r+", zarr_format=3)
    with open_scenario_tile(tile_store) as src:
        held = src.attrs.get("tile")
    if held != tile.name:
        raise ValueError(f"{tile_store}: holds tile {held!r}, not {tile.name}")
    source = zarr.open_group(Path(tile_store), mode="r", zarr_format=3)  # raw values: fill values kept
    for spec in scenario_registry():
        if spec.name not in source:
            raise KeyError(f"{tile_store}: no scenario variable {spec.name!r}")
        group[spec.name][..., region["y"], region["x"]] = np.asarray(source[spec.name][...], dtype=spec.dtype)
    return region


def open_scenario(store: str | Path) -> xr.Dataset:
    """Open the scenario group of a region store lazily; names the store if the group is missing."""
    store = Path(store)
    if not (store / GROUP / "zarr.json").exists():
        raise FileNotFoundError(f"{store}: no '{GROUP}' group (run the intervention step first)")
    return xr.open_zarr(store, group=GROUP, consolidated=False)


def consolidate_scenario(store: str | Path) -> None:
    """Re-consolidate the region store's metadata so consolidated readers see the scenario group."""
    zarr.consolidate_metadata(Path(store), zarr_format=3)


def scenario_maps(path: str | Path) -> tuple[dict[str, np.ndarray], tuple[float, float, float, float]]:
    """The 2-D quick-look maps of a scenario dataset — the scenario group (``store/scenario``) or a level of
    its overview pyramid — in memory, and their extent ``(x_min, x_max, y_min, y_max)`` [m]."""
    path = Path(path)
    if not (path / "zarr.json").exists():
        raise FileNotFoundError(f"{path}: not a Zarr v3 group")
    with xr.open_zarr(path, consolidated=False, chunks=None) as ds:
        grid = grid_of_store(ds)
        wanted = [
            s.name for s in scenario_registry() if s.quicklook and s.dims == ("y", "x") and s.name in ds
        ]
        maps = {name: np.asarray(ds[name].values) for name in wanted}
    return maps, (grid.x0, grid.x0 + grid.nx * grid.res, grid.y0, grid.y0 + grid.ny * grid.res)
