"""The region map store: declarative output-variable registry → Zarr v3 template → per-tile region writes →
finalize (ecosystem_aesthetics §2.5, §2.6, §6; contract C4 path ``results/maps/{region}.zarr``).

Layout of a region store (one per region, EPSG:3035, 100 m, north-up):

* dims ``y`` (cell centres, decreasing), ``x`` (increasing), ``time`` (the time-resolved maps at the
  configured step, with CF ``time_bounds``), ``control`` (names of the per-pixel control vector,
  obs_da_spec §6.1), ``tile_slot`` (PFT tile slots of a pixel);
* every variable of :func:`load_registry` (``output_variables.yaml``) with CF attributes (``units``,
  ``long_name``, ``standard_name`` where one exists, ``cell_methods``, ``grid_mapping``,
  ``ancillary_variables``, ``flag_values``/``flag_meanings``) and an explicit ``_FillValue``;
* a scalar ``spatial_ref`` grid-mapping coordinate written by rioxarray (CF parameters + WKT + GeoTransform)
  that every variable lists in its ``coordinates`` attribute, so ``xr.open_zarr(store)[var].rio.crs`` is
  EPSG:3035 and ``.rio.transform()`` is the tile-aligned 100 m transform;
* GeoZarr convention attributes on the root group (``proj:code``, ``spatial:dimensions``,
  ``spatial:transform``, ``spatial:shape``, ``spatial:bbox``, declared in ``zarr_conventions``).

Chunks along y/x are one processing tile (``chunks: tile`` in the registry), so two tile jobs never write the
same Zarr chunk and no sharding is needed for safe concurrent region writes; time is chunked by one step.
Never append: the template is written once (metadata and coordinates only), tiles are written by
``region=`` (idempotent), and :func:`finalize_store` consolidates and validates.

The per-tile DA results (``results/assimilate/{region}/{tile}.zarr``) are written here too: from the batches
a tile job stored as they finished (:class:`BatchParts`), in blocks of rows (:func:`write_tile_result`).
Every job of this module holds blocks of ``outputs.io_chunk_mb``, one variable of one tile at most, never a
whole tile result or region (issue #28).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import uuid
import warnings
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import yaml
import zarr
from affine import Affine

from tccas.grid import CRS
from tccas.grid.tiles import Tile
from tccas.io._util import atomic_path, open_zarr
from tccas.io.errors import CorruptFileError

REGISTRY_PATH = Path(__file__).with_name("output_variables.yaml")
CONVENTIONS = "CF-1.11"
TIME_UNITS = "days since 2015-01-01"  # TCCAS calendar origin (model_spec §2.2)
GEOZARR_CONVENTIONS = [
    {
        "name": "proj:",
        "schema_url": "https://raw.githubusercontent.com/zarr-conventions/proj/refs/tags/v1/schema.json",
        "spec_url": "https://github.com/zarr-conventions/proj/blob/v1/README.md",
    },
    {
        "name": "spatial:",
        "schema_url": "https://raw.githubusercontent.com/zarr-conventions/spatial/refs/tags/v1/schema.json",
        "spec_url": "https://github.com/zarr-conventions/spatial/blob/v1/README.md",
    },
]


# Per-tile result keys (besides the contract-C2 DA outputs) that run over the PFT tile slots of a pixel.
TILE_SLOT_KEYS = ("pfts", "fractions")


class StoreValidationError(ValueError):
    """A region store that fails the finalize checks; the message names the store and every failure."""


@dataclass(frozen=True)
class VariableSpec:
    """One output variable of the region store (a row of the expanded registry).

    ``source`` is the key of the per-pixel DA result (contract C2) the values come from; ``kind`` is
    ``target`` (a target statistic), ``diagnostic``, ``parameter`` (dims control, y, x) or ``series``
    (dims time, y, x). ``quicklook`` names the quick-look style (``sequential``, ``diverging``,
    ``uncertainty``, ``reduction``, ``status``) or is None for no PNG.
    """

    name: str
    kind: str
    source: str
    dims: tuple[str, ...]
    dtype: str
    fill_value: float | int
    units: str
    long_name: str
    standard_name: str | None = None
    cell_methods: str | None = None
    quicklook: str | None = None
    flag_values: tuple[int, ...] | None = None
    flag_meanings: str | None = None
    ancillary_variables: str | None = None
    target: str | None = None

    def attrs(self) -> dict:
        """CF attributes of the variable (``grid_mapping``/``coordinates`` go to the encoding)."""
        out = {"units": self.units, "long_name": self.long_name}
        for key in ("standard_name", "cell_methods", "flag_meanings", "ancillary_variables"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.flag_values is not None:
            out["flag_values"] = list(self.flag_values)
        return out

    @property
    def is_float(self) -> bool:
        return np.dtype(self.dtype).kind == "f"


def _fill(value, dtype: str):
    if isinstance(value, str) and value.lower() == "nan":
        return float("nan")
    return np.dtype(dtype).type(value).item()


def _entry_spec(
    entry: dict, kind: str, dims: tuple[str, ...], fills: dict, cell_methods: str | None
) -> VariableSpec:
    """A diagnostic, parameter, land-cover or series registry entry as a :class:`VariableSpec`."""
    dtype = entry.get("dtype", "float32")
    return VariableSpec(
        name=entry["name"],
        kind=kind,
        source=entry.get("source", entry["name"]),
        dims=dims,
        dtype=dtype,
        fill_value=_fill(fills[dtype], dtype),
        units=entry["units"],
        long_name=entry["long_name"],
        standard_name=entry.get("standard_name"),
        cell_methods=cell_methods,
        quicklook=entry.get("quicklook"),
        flag_values=tuple(entry["flag_values"]) if "flag_values" in entry else None,
        flag_meanings=entry.get("flag_meanings"),
    )


@functools.cache
def load_registry(path: str | Path = REGISTRY_PATH) -> tuple[VariableSpec, ...]:
    """Expand ``output_variables.yaml`` into the ordered tuple of :class:`VariableSpec`."""
    path = Path(path)
    try:
        card = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"{path}: cannot read the output-variable registry: {err}") from None
    fills = card["fill_value"]
    specs: list[VariableSpec] = []
    for target in card["targets"]:
        tname = target["name"]
        for suffix, stat in card["statistics"].items():
            modifier = stat["standard_name_modifier"]
            std = target.get("standard_name")
            if std and modifier:
                std = f"{std} {modifier}"
            elif modifier or suffix == "_ur":
                std = None
            quicklook = target["quicklook"] if stat["quicklook"] == "target" else stat["quicklook"]
            ancillary = f"{tname}_sd {tname}_ur" if suffix == "" else None
            specs.append(
                VariableSpec(
                    name=f"{tname}{suffix}",
                    kind="target",
                    source=f"{tname}{suffix}",
                    dims=("y", "x"),
                    dtype="float32",
                    fill_value=_fill(fills["float32"], "float32"),
                    units=target["units"] if stat["units"] == "target" else stat["units"],
                    long_name=stat["long_name"].format(long_name=target["long_name"]),
                    standard_name=std,
                    cell_methods=target.get("cell_methods"),
                    quicklook=quicklook,
                    ancillary_variables=ancillary,
                    target=tname,
                )
            )
    per_entry = (
        ("diagnostics", "diagnostic", ("y", "x"), None),
        ("parameters", "parameter", ("control", "y", "x"), None),
        ("land_cover", "land_cover", ("tile_slot", "y", "x"), None),
        ("series", "series", ("time", "y", "x"), "time: mean"),
    )
    for section, kind, dims, cell_methods in per_entry:
        specs.extend(_entry_spec(e, kind, dims, fills, cell_methods) for e in card[section])
    names = [s.name for s in specs]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{path}: duplicate output variables {sorted(duplicates)}")
    return tuple(specs)


@functools.cache
def registry_chunks(path: str | Path = REGISTRY_PATH) -> dict[str, int | str]:
    """The per-dimension chunk rule of the registry (``tile``, ``all`` or an int)."""
    return dict(yaml.safe_load(Path(path).read_text())["chunks"])


@dataclass(frozen=True)
class StoreGrid:
    """The raster of a region store: lower-left corner ``(x0, y0)`` [m], shape, resolution, chunk edge.

    Chunk edges equal the processing-tile edge and the grid origin lies on the tile grid, so every tile is
    exactly one chunk along y and x.
    """

    x0: int
    y0: int
    nx: int
    ny: int
    res: int
    tile_px: int

    @classmethod
    def from_tiles(cls, tiles: Sequence[Tile]) -> StoreGrid:
        """Bounding grid of equally sized tiles (the union of their extents)."""
        if not tiles:
            raise ValueError("a region store needs at least one tile")
        sizes = {(t.size_m, t.res) for t in tiles}
        if len(sizes) != 1:
            raise ValueError(f"tiles of one region store must share size and resolution, got {sorted(sizes)}")
        size, res = sizes.pop()
        x0 = min(t.x0 for t in tiles)
        y0 = min(t.y0 for t in tiles)
        x1 = max(t.x0 + size for t in tiles)
        y1 = max(t.y0 + size for t in tiles)
        return cls(x0, y0, (x1 - x0) // res, (y1 - y0) // res, res, size // res)

    @property
    def x(self) -> np.ndarray:
        """Cell-centre x [m], increasing."""
        return self.x0 + (np.arange(self.nx) + 0.5) * self.res

    @property
    def y(self) -> np.ndarray:
        """Cell-centre y [m], decreasing (row 0 = north)."""
        return self.y0 + self.ny * self.res - (np.arange(self.ny) + 0.5) * self.res

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.x0, 0.0, -self.res, self.y0 + self.ny * self.res)

    def region_of(self, tile: Tile) -> dict[str, slice]:
        """Index slices of ``tile`` in the store raster; raises if the tile is not on the store grid."""
        if tile.res != self.res or tile.nx != self.tile_px:
            raise ValueError(f"tile {tile.name} ({tile.nx} px of {tile.res} m) does not match the store grid")
        col = (tile.x0 - self.x0) // self.res
        row = (self.y0 + self.ny * self.res - (tile.y0 + tile.size_m)) // self.res
        if not (0 <= col <= self.nx - tile.nx and 0 <= row <= self.ny - tile.ny):
            raise ValueError(f"tile {tile.name} lies outside the store grid")
        return {"y": slice(int(row), int(row + tile.ny)), "x": slice(int(col), int(col + tile.nx))}


def geozarr_attrs(grid: StoreGrid) -> dict:
    """GeoZarr ``proj:``/``spatial:`` convention attributes of the root group (ecosystem_aesthetics §2.6)."""
    t = grid.transform
    return {
        "zarr_conventions": GEOZARR_CONVENTIONS,
        "proj:code": CRS,
        "spatial:dimensions": ["y", "x"],
        "spatial:transform": [t.a, t.b, t.c, t.d, t.e, t.f],
        "spatial:shape": [grid.ny, grid.nx],
        "spatial:bbox": [grid.x0, grid.y0, grid.x0 + grid.nx * grid.res, grid.y0 + grid.ny * grid.res],
        "spatial:registration": "pixel",
    }


def _chunk_sizes(spec: VariableSpec, sizes: Mapping[str, int], grid: StoreGrid) -> tuple[int, ...]:
    rule = registry_chunks()
    out = []
    for dim in spec.dims:
        r = rule.get(dim, "all")
        if r == "tile":
            out.append(grid.tile_px)
        elif r == "all":
            out.append(max(int(sizes[dim]), 1))
        else:
            out.append(int(r))
    return tuple(out)


def _coords(grid_x, grid_y, times, control_names, n_slots: int) -> dict:
    return {
        "tile_slot": ("tile_slot", np.arange(n_slots, dtype=np.int32)),
        "x": ("x", np.asarray(grid_x, dtype="float64")),
        "y": ("y", np.asarray(grid_y, dtype="float64")),
        "time": ("time", np.asarray(times, dtype="datetime64[ns]")),
        "control": ("control", np.asarray(list(control_names), dtype=object)),
    }


def _decorate(ds: xr.Dataset, registry: Sequence[VariableSpec], grid: StoreGrid, time_bounds) -> xr.Dataset:
    """CF coordinate attributes, grid mapping (rioxarray), per-variable attributes and Zarr encodings."""
    ds["x"].attrs.update(
        standard_name="projection_x_coordinate", long_name="x coordinate", units="m", axis="X"
    )
    ds["y"].attrs.update(
        standard_name="projection_y_coordinate", long_name="y coordinate", units="m", axis="Y"
    )
    ds["time"].attrs.update(standard_name="time", long_name="start of the time step", axis="T")
    ds["control"].attrs.update(long_name="control-vector element (obs_da_spec §6.1)")
    ds["tile_slot"].attrs.update(long_name="PFT tile slot of the pixel (largest cover fractions first)")
    ds["time"].attrs["bounds"] = "time_bounds"
    ds["time_bounds"] = (("time", "nv"), np.asarray(time_bounds, dtype="datetime64[ns]"))
    ds = ds.rio.write_crs(CRS).rio.write_transform(grid.transform)
    for name in ("time", "time_bounds"):
        ds[name].encoding = {"units": TIME_UNITS, "calendar": "proleptic_gregorian", "dtype": "float64"}
    for spec in registry:
        ds[spec.name].attrs = {**spec.attrs(), "grid_mapping": "spatial_ref"}
        ds[spec.name].encoding = {
            "dtype": spec.dtype,
            "_FillValue": spec.fill_value,
            "fill_value": spec.fill_value,
            "chunks": _chunk_sizes(spec, ds.sizes, grid),
            "coordinates": "spatial_ref",
        }
    return ds


def build_template(
    grid: StoreGrid,
    times: np.ndarray,
    time_bounds: np.ndarray,
    control_names: Sequence[str],
    registry: Sequence[VariableSpec],
    attrs: Mapping[str, object],
    n_slots: int,
) -> xr.Dataset:
    """Lazy template Dataset (dask arrays full of the fill value) with attributes and Zarr encodings."""
    sizes = {
        "y": grid.ny,
        "x": grid.nx,
        "time": len(times),
        "control": len(control_names),
        "tile_slot": n_slots,
    }
    data_vars = {}
    for spec in registry:
        shape = tuple(sizes[d] for d in spec.dims)
        chunks = _chunk_sizes(spec, sizes, grid)
        data_vars[spec.name] = (spec.dims, da.full(shape, spec.fill_value, dtype=spec.dtype, chunks=chunks))
    ds = xr.Dataset(data_vars, coords=_coords(grid.x, grid.y, times, control_names, n_slots))
    ds = _decorate(ds, registry, grid, time_bounds)
    ds.attrs = {"Conventions": CONVENTIONS, **attrs, **geozarr_attrs(grid), "tile_px": grid.tile_px}
    return ds


def write_template(
    path: str | Path,
    grid: StoreGrid,
    times: np.ndarray,
    time_bounds: np.ndarray,
    control_names: Sequence[str],
    registry: Sequence[VariableSpec],
    attrs: Mapping[str, object],
    n_slots: int,
    overwrite: bool = False,
) -> Path:
    """Write the metadata-only template of a region store (coordinates, attributes, encoding; no data).

    With ``overwrite=False`` an existing store is an error (``mode="w-"``); with ``overwrite=True`` it is
    removed first, so the template rule is idempotent.
    """
    path = Path(path)
    if path.exists():
        if not overwrite:
            raise FileExistsError(f"{path}: store exists (use overwrite to rewrite the template)")
        shutil.rmtree(path)
    ds = build_template(grid, times, time_bounds, control_names, registry, attrs, n_slots)
    ds.to_zarr(path, mode="w-", compute=False, zarr_format=3, consolidated=False)
    return path


def write_tile_region(
    path: str | Path, tile: Tile, blocks: Iterable[tuple[str, slice | None, np.ndarray]]
) -> dict[str, slice]:
    """Write one tile's values into the region store by index region (idempotent; never appends).

    ``blocks`` yields ``(variable, outer, values)``: ``values`` on the variable's dims and dtype over the
    tile's y/x, at the indices ``outer`` (a slice) of its first dim (time, control or tile_slot; ``None``
    for a map over y, x). A block is written straight into the Zarr arrays, so only the blocks the caller
    holds are in memory; blocks aligned to the chunks (one tile along y/x, one time step, every control and
    slot) write each chunk once. Every registry variable of the store must be written whole (checked after
    the writes: a tile left incomplete keeps its write marker, :func:`begin_region_write`). The tile must lie
    on the store grid (checked against the template's coordinates).
    """
    path = Path(path)
    store = open_store(path)
    specs = {s.name: s for s in load_registry() if s.name in store}
    region = grid_region_checked(grid_of_store(store), tile, store)
    group = zarr.open_group(path, mode="r+", zarr_format=3)
    covered = dict.fromkeys(specs, 0)
    for name, outer, values in blocks:
        if name not in specs:
            raise KeyError(f"{path}: tile {tile.name}: no output variable {name!r} in the store")
        spec = specs[name]
        values = np.asarray(values)
        index = (region["y"], region["x"])
        if len(spec.dims) == 3:
            size = store.sizes[spec.dims[0]]
            start, stop, _ = (outer or slice(None)).indices(size)
            if values.shape[0] != stop - start:
                raise ValueError(
                    f"{path}: tile {tile.name} has {values.shape[0]} {spec.dims[0]} steps of {name} for "
                    f"{stop - start} indices (the store has {size})"
                )
            index = (slice(start, stop), *index)
            covered[name] += stop - start
        else:
            covered[name] += 1
        if values.shape[-2:] != (tile.ny, tile.nx):
            raise ValueError(f"{path}: tile {tile.name}: {name} has y/x shape {values.shape[-2:]}")
        group[name][index] = values.astype(spec.dtype, copy=False)
    whole = {n: store.sizes[s.dims[0]] if len(s.dims) == 3 else 1 for n, s in specs.items()}
    short = [n for n in specs if covered[n] != whole[n]]
    if short:
        raise KeyError(
            f"{path}: tile {tile.name}: no values (or not every step) for output variables {short}"
        )
    return region


def grid_of_store(store: xr.Dataset) -> StoreGrid:
    """Recover the :class:`StoreGrid` from a store's attributes."""
    a, _, c, _, e, f = store.attrs["spatial:transform"]
    ny, nx = store.attrs["spatial:shape"]
    res = round(a)
    return StoreGrid(int(c), int(f + e * ny), int(nx), int(ny), res, int(store.attrs["tile_px"]))


def grid_region_checked(grid: StoreGrid, tile: Tile, store: xr.Dataset) -> dict[str, slice]:
    region = grid.region_of(tile)
    if not (
        np.allclose(store["x"].values[region["x"]], tile.x)
        and np.allclose(store["y"].values[region["y"]], tile.y)
    ):
        raise ValueError(f"tile {tile.name}: coordinates do not match the store grid")
    return region


def open_store(path: str | Path, consolidated: bool | None = False) -> xr.Dataset:
    """Open a region store lazily (``consolidated=False`` works before and after finalize)."""
    path = Path(path)
    if not (path / "zarr.json").exists():
        raise FileNotFoundError(f"{path}: not a Zarr v3 store")
    return xr.open_zarr(path, consolidated=consolidated)


# Solver status of a pixel that had observations and went through the minimiser (flag table of ``status``):
# converged, max_iter, line_search_failure. ``no_obs`` (3) and ``padding`` (4) pixels were never assimilated.
ASSIMILATED_STATUS = (0, 1, 2)
FAILED_STATUS = 2


def planes_per_block(plane_bytes: int, chunk_mb: float | None) -> int:
    """How many planes of ``plane_bytes`` fit into one I/O block (at least one)."""
    return max(1, io_block_bytes(chunk_mb) // max(1, plane_bytes))


def validate_store(path: str | Path, tiles: Sequence[Tile] = (), chunk_mb: float | None = None) -> list[str]:
    """Finalize checks of a region store; returns the list of problems (empty = valid).

    Checks: every registry variable present with units/long_name and the EPSG:3035 grid mapping; CRS and
    transform recovered by rioxarray; status values in the flag table or fill; no NaN in any target or series
    variable where the status says converged (0) or max_iter (1); standard deviations ≥ 0; uncertainty
    reductions ≤ 1. Per tile of ``tiles`` (:func:`tile_problems`): every assimilated pixel has a finite cost
    at the prior and the posterior, and not all of them failed.

    The values are read chunk by chunk: bands of one tile row of the store, and along time as many steps as
    fit in ``chunk_mb`` MiB (default :data:`IO_CHUNK_MB`), so memory does not grow with the region. A store
    written with the daily series switched off (``daily_series: false``) has no series variables.
    """
    path = Path(path)
    ds = open_store(path)
    problems: list[str] = []
    registry = [s for s in load_registry() if s.kind != "series" or ds.attrs.get("daily_series", True)]
    for spec in registry:
        if spec.name not in ds:
            problems.append(f"variable {spec.name} missing")
            continue
        attrs = {**ds[spec.name].encoding, **ds[spec.name].attrs}
        for key in ("units", "long_name", "grid_mapping"):
            if key not in attrs:
                problems.append(f"{spec.name}: attribute {key} missing")
    crs = ds.rio.crs
    if crs is None or crs.to_epsg() != 3035:
        problems.append(f"CRS is {crs}, expected {CRS}")
    grid = grid_of_store(ds)
    if tuple(ds.rio.transform()) != tuple(grid.transform):
        problems.append(f"transform {tuple(ds.rio.transform())} != {tuple(grid.transform)}")
    if problems:
        return problems
    group = zarr.open_group(path, mode="r", zarr_format=3)
    status_spec = next(s for s in registry if s.name == "status")
    valid_flags = set(ds["status"].attrs["flag_values"])
    checked = [s for s in registry if s.kind in ("target", "series")]
    seen: set[int] = set()
    nonfinite = dict.fromkeys((s.name for s in checked), 0)
    negative, above_one = set(), set()
    for y0 in range(0, grid.ny, grid.tile_px):
        band = slice(y0, min(y0 + grid.tile_px, grid.ny))
        status = group["status"][band, :]
        seen |= set(np.unique(status[status != status_spec.fill_value]).astype(int).tolist())
        solved = np.isin(status, [0, 1])
        for spec in checked:
            arr = group[spec.name]
            steps = arr.shape[0] if spec.kind == "series" else 1
            step = planes_per_block(status.size * arr.dtype.itemsize, chunk_mb)
            for t0 in range(0, steps, step):
                values = arr[t0 : t0 + step, band, :] if spec.kind == "series" else arr[band, :]
                finite = np.isfinite(values)
                nonfinite[spec.name] += int(np.count_nonzero(~finite & solved))
                if spec.name.endswith("_sd") and np.any(values[finite] < 0):
                    negative.add(spec.name)
                if spec.name.endswith("_ur") and np.any(values[finite] > 1 + 1e-6):
                    above_one.add(spec.name)
    if seen - valid_flags:
        problems.append(f"status has values {sorted(seen - valid_flags)} outside flag_values")
    for spec in checked:
        if nonfinite[spec.name]:
            problems.append(
                f"{spec.name}: {nonfinite[spec.name]} non-finite values where status is converged/max_iter"
            )
        if spec.name in negative:
            problems.append(f"{spec.name}: negative standard deviation")
        if spec.name in above_one:
            problems.append(f"{spec.name}: uncertainty reduction above 1")
    for tile in tiles:
        problems.extend(tile_problems(ds, grid_region_checked(grid, tile, ds), tile.name))
    return problems


def tile_problems(ds: xr.Dataset, region: Mapping[str, slice], name: str) -> list[str]:
    """Problems of one tile's pixels in a region store: a pixel that was assimilated (status in
    :data:`ASSIMILATED_STATUS`) with a non-finite ``cost_prior`` or ``cost_post`` (NaN reached the cost: bad
    forcing or inputs), or a tile whose assimilated pixels all failed (status ``line_search_failure``: a
    common cause, e.g. forcing in wrong units, rather than single hard pixels)."""
    sub = ds[["status", "cost_prior", "cost_post"]].isel(region).load()
    status = sub["status"].values
    assimilated = np.isin(status, ASSIMILATED_STATUS)
    n = int(assimilated.sum())
    problems = []
    bad = assimilated & ~(np.isfinite(sub["cost_prior"].values) & np.isfinite(sub["cost_post"].values))
    if bad.any():
        problems.append(f"tile {name}: {int(bad.sum())} of {n} assimilated pixels have a non-finite cost")
    if n and np.all(status[assimilated] == FAILED_STATUS):
        problems.append(f"tile {name}: all {n} assimilated pixels failed (status line_search_failure)")
    return problems


def status_counts(path: str | Path, tile: Tile) -> dict[str, object]:
    """Per-tile convergence statistics (status counts, mean iterations) read from the store."""
    ds = open_store(path)
    region = grid_region_checked(grid_of_store(ds), tile, ds)
    sub = ds[["status", "n_iter"]].isel(region).load()
    status = sub["status"].values
    meanings = ds["status"].attrs["flag_meanings"].split()
    counts = {
        m: int(np.sum(status == v)) for v, m in zip(ds["status"].attrs["flag_values"], meanings, strict=True)
    }
    counts["no_data"] = int(np.sum(~np.isfinite(status)))
    n_iter = sub["n_iter"].values
    finite = n_iter[np.isfinite(n_iter)]
    return {
        "tile": tile.name,
        "status": counts,
        "n_iter_mean": float(finite.mean()) if finite.size else float("nan"),
        "n_iter_max": int(finite.max()) if finite.size else 0,
    }


def finalize_store(
    path: str | Path,
    provenance: Mapping[str, object],
    tiles: Sequence[Tile] = (),
    chunk_mb: float | None = None,
) -> None:
    """Validate (with the per-tile checks of ``tiles``, chunk by chunk: :func:`validate_store`), stamp
    provenance and consolidate metadata; raises :class:`StoreValidationError`."""
    path = Path(path)
    problems = validate_store(path, tiles, chunk_mb)
    if problems:
        raise StoreValidationError(f"{path}: " + "; ".join(problems))
    group = zarr.open_group(path, mode="r+", zarr_format=3)
    stamp = dict(provenance)
    stamp["date_finalized"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    history = str(group.attrs.get("history", ""))
    line = f"{stamp['date_finalized']}: finalized by tccas finalize-store"
    group.attrs.update({**stamp, "history": f"{history}\n{line}".strip()})
    with warnings.catch_warnings():
        # consolidated metadata is a zarr-python extension to v3 (ecosystem_aesthetics §2.5 item 4): we write
        # it at finalize only and never rely on it (readers use consolidated=False)
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part")
        zarr.consolidate_metadata(path, zarr_format=3)


# ---------------------------------------------------------------------------------------------------------
# Per-tile DA results (contract C4: results/assimilate/{region}/{tile}.zarr), written batch by batch.

# Keys of the per-tile result kept in float64: the control vectors the scenario restarts the model from
# (tccas.pipeline.intervention.tile_posterior) — rounding them to float32 would move the scenario's model
# state. Every other float is a map (targets, their σ, prior statistics, costs, DFS, uncertainty reductions,
# daily series, cover fractions) that the region store keeps as float32 anyway, so float64 buys nothing:
# stored as float32 (≈ 7 significant digits; a daily series' time mean then differs from the mean of the
# float64 days by at most one float32 unit in the last place). ``x_cov_post`` was float32 already.
RESULT_FLOAT64 = ("x_post", "x_prior", "x_sd_post", "x_sd_prior")
# Compression of the per-tile result (Blosc zstd with byte shuffle: float maps compress ≈ 2×, masked cells
# and int maps far more).
RESULT_COMPRESSORS = (zarr.codecs.BloscCodec(cname="zstd", clevel=3, shuffle="shuffle"),)
IO_CHUNK_MB = 256  # [D] memory budget of one I/O block (config outputs.io_chunk_mb)


def result_dtype(key: str, values: np.ndarray) -> np.dtype:
    """Stored dtype of per-tile result ``key`` (:data:`RESULT_FLOAT64` says which floats stay float64)."""
    kind = np.asarray(values).dtype.kind
    if kind in "iub":
        return np.dtype(np.int32)
    return np.dtype(np.float64 if key in RESULT_FLOAT64 else np.float32)


def result_dims(key: str, ndim: int) -> tuple[str, ...]:
    """Dims of per-tile result ``key`` whose per-pixel values have ``ndim`` dims (pixel axis included)."""
    if ndim == 1:
        return ("y", "x")
    if key.startswith("series_"):
        return ("day", "y", "x")
    if ndim == 3:
        return ("control", "control_b", "y", "x")
    return ("tile_slot" if key in TILE_SLOT_KEYS else "control", "y", "x")


def stored_results(results: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-pixel results cast to their stored dtypes (:func:`result_dtype`)."""
    return {k: np.asarray(v).astype(result_dtype(k, v), copy=False) for k, v in results.items()}


def io_block_bytes(chunk_mb: float | None) -> int:
    """The I/O block budget [bytes] of ``outputs.io_chunk_mb`` (default :data:`IO_CHUNK_MB`)."""
    return int((IO_CHUNK_MB if chunk_mb is None else chunk_mb) * 2**20)


@dataclass(frozen=True)
class BatchParts:
    """The finished batches of one tile job, one compressed ``.npz`` file per batch in ``directory``
    (``.{tile}.zarr.batches`` beside the per-tile result).

    A batch's file is written under a temporary name and renamed when complete, so a file that exists holds
    a whole batch and a batch interrupted while it ran or was written leaves no file: it is redone.
    ``manifest.json`` holds the key of the job (inputs, settings, batching, code version); a rerun with
    another key starts from no batch. Frozen and small: workers get it with each batch and write their part.
    """

    directory: Path

    @classmethod
    def open(cls, directory: str | Path, key: str) -> BatchParts:
        """The parts of the job ``key``: kept from an interrupted run of the same job, else a fresh, empty
        folder; temporary files of interrupted part writes are removed."""
        directory = Path(directory)
        manifest = directory / "manifest.json"
        if directory.exists():
            try:
                same = json.loads(manifest.read_text()).get("key") == key
            except (OSError, ValueError):
                same = False
            if not same:
                shutil.rmtree(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for tmp in directory.glob(".*.tmp*"):
            tmp.unlink()
        if not manifest.exists():
            write_json(manifest, {"key": key})
        return cls(directory)

    def _path(self, batch: int) -> Path:
        return self.directory / f"batch-{batch:07d}.npz"

    def done(self) -> set[int]:
        """Numbers of the batches whose part is complete."""
        return {int(p.stem.split("-")[1]) for p in self.directory.glob("batch-*.npz")}

    def write(self, batch: int, results: Mapping[str, np.ndarray]) -> Path:
        """Store one batch's per-pixel results (real pixels only) in their stored dtypes, atomically."""
        path = self._path(batch)
        tmp = path.with_name(f".{path.stem}.tmp{os.getpid()}-{uuid.uuid4().hex[:8]}.npz")
        np.savez_compressed(tmp, **stored_results(results))
        os.replace(tmp, path)
        return path

    def read(self, batch: int) -> dict[str, np.ndarray]:
        """One batch's stored results; a missing or unreadable part is an error naming the file."""
        path = self._path(batch)
        if not path.exists():
            raise FileNotFoundError(f"{path}: batch {batch} of the tile job has no stored result")
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise CorruptFileError(
                path, "", f"batch part cannot be read ({err}); delete it and rerun"
            ) from err

    def pixels(self, batch_size: int) -> Callable[[int, int], dict[str, np.ndarray]]:
        """``fetch(p0, p1)``: the results of pixels ``p0 … p1 − 1`` from the parts of batches of
        ``batch_size`` pixels (the last part read is kept, as consecutive ranges share a batch)."""
        cache: dict[int, dict[str, np.ndarray]] = {}

        def fetch(p0: int, p1: int) -> dict[str, np.ndarray]:
            pieces: dict[str, list[np.ndarray]] = {}
            for b in range(p0 // batch_size, -(-p1 // batch_size)):
                if b not in cache:
                    cache.clear()
                    cache[b] = self.read(b)
                lo, hi = max(p0 - b * batch_size, 0), p1 - b * batch_size
                for k, v in cache[b].items():
                    pieces.setdefault(k, []).append(v[lo:hi])
            return {k: np.concatenate(v) for k, v in pieces.items()}

        return fetch

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def batch_parts_dir(result: str | Path) -> Path:
    """Folder of the finished batches of the tile job writing ``result`` (a hidden sibling), as an absolute
    path: the Dask workers that write the batches may run in another working directory (a cluster the job
    attached to, ``dask.scheduler_address``)."""
    result = Path(result).resolve()
    return result.with_name(f".{result.name}.batches")


def input_stamp(paths: Iterable[str | Path]) -> list[list[object]]:
    """(path, size, modification time [ns]) of every file under ``paths``: what a job's inputs were."""
    stamp: list[list[object]] = []
    for root in sorted(Path(p) for p in paths):
        files = [root] if root.is_file() else sorted(f for f in root.rglob("*") if f.is_file())
        for f in files:
            st = f.stat()
            stamp.append([str(f), st.st_size, st.st_mtime_ns])
    return stamp


def _scatter(values: np.ndarray, rows, cols, shape: tuple[int, int], dtype) -> np.ndarray:
    """The ``(…, *shape)`` raster of per-pixel ``values`` (first axis = pixel) with the fill elsewhere."""
    fill = -1 if np.dtype(dtype).kind == "i" else np.nan
    grid = np.full((*values.shape[1:], *shape), fill, dtype=dtype)
    grid[..., rows, cols] = np.moveaxis(values, 0, -1)
    return grid


def write_tile_result(
    path: str | Path,
    tile: Tile,
    rows: np.ndarray,
    cols: np.ndarray,
    results: Mapping[str, np.ndarray] | Callable[[int, int], Mapping[str, np.ndarray]],
    dates: np.ndarray,
    control_names: Sequence[str],
    attrs: Mapping[str, object],
    chunk_mb: float | None = None,
) -> Path:
    """Write the per-tile DA result to ``path`` atomically (temporary sibling, then renamed), block by block.

    ``results`` maps contract-C2 keys to arrays with leading axis ``n_pixels`` (pixel k at raster position
    ``(rows[k], cols[k])``, pixels in raster order), or is ``fetch(p0, p1)`` returning the results of pixels
    ``p0 … p1 − 1`` (:meth:`BatchParts.pixels`). Scalars become ``(y, x)`` maps, ``x_*`` vectors
    ``(control, y, x)``, ``series_*`` ``(day, y, x)``, :data:`TILE_SLOT_KEYS` ``(tile_slot, y, x)``, the
    covariance ``x_cov_post`` ``(control, control_b, y, x)``; dtypes :func:`result_dtype`, Blosc-compressed.
    Cells that are not listed (water / no data) hold NaN (float) or −1 (int); ``processed`` is 1 on listed
    cells. The store is chunked along y in blocks of rows of at most ``chunk_mb`` MiB (all variables of a
    block of a full-land tile; default :data:`IO_CHUNK_MB`), and only one block is in memory at a time.
    """
    path = Path(path)
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    if rows.size > 1 and np.any(np.diff(rows) < 0):
        raise ValueError(f"tile {tile.name}: pixels are not in raster order (rows decrease)")
    if callable(results):
        fetch = results
    else:
        for key, values in results.items():
            if np.shape(values)[0] != rows.size:
                raise ValueError(
                    f"tile {tile.name}: result {key!r} has {np.shape(values)[0]} pixels, expected {rows.size}"
                )
        fetch = lambda p0, p1: {k: v[p0:p1] for k, v in results.items()}  # noqa: E731
    ny, nx = tile.shape
    sample = stored_results(fetch(0, 1)) if rows.size else {}
    expected = {"day": len(dates), "control": len(control_names), "control_b": len(control_names)}
    per_row = nx * (1 + sum(v[0].nbytes for v in sample.values()))
    block = int(max(1, min(ny, io_block_bytes(chunk_mb) // per_row)))
    data_vars = {"processed": (("y", "x"), da.zeros((ny, nx), dtype=np.int8, chunks=(block, nx)))}
    for key, values in sample.items():
        dims = result_dims(key, values.ndim)
        for dim, n in zip(dims[:-2], values.shape[1:], strict=True):
            if n != expected.get(dim, n):
                raise ValueError(
                    f"tile {tile.name}: result {key!r} has {n} {dim} entries, expected {expected[dim]}"
                )
        fill = -1 if values.dtype.kind == "i" else np.nan
        chunks = (*values.shape[1:], block, nx)
        data_vars[key] = (dims, da.full((*values.shape[1:], ny, nx), fill, dtype=values.dtype, chunks=chunks))
    coords = {
        "y": tile.y.astype("float64"),
        "x": tile.x.astype("float64"),
        "day": np.asarray(dates, dtype="datetime64[ns]"),
        "control": np.asarray(list(control_names), dtype=object),
    }
    if "x_cov_post" in sample:
        coords["control_b"] = coords["control"]
    ds = xr.Dataset(data_vars, coords=coords, attrs={"tile": tile.name, **attrs, "block_rows": block})
    ds = ds.rio.write_crs(CRS)
    encoding = {k: {"compressors": RESULT_COMPRESSORS} for k in data_vars}
    encoding["day"] = {"units": TIME_UNITS, "calendar": "proleptic_gregorian", "dtype": "float64"}
    for stale in path.parent.glob(f".{path.name}.tmp*"):  # temporary stores of killed jobs
        shutil.rmtree(stale, ignore_errors=True)
    with atomic_path(path) as tmp:
        ds.to_zarr(tmp, mode="w", zarr_format=3, consolidated=False, encoding=encoding, compute=False)
        group = zarr.open_group(tmp, mode="r+", zarr_format=3)
        for r0 in range(0, ny, block):
            r1 = min(r0 + block, ny)
            p0, p1 = (int(p) for p in np.searchsorted(rows, [r0, r1]))
            part = stored_results(fetch(p0, p1)) if p1 > p0 else {}
            r, c = rows[p0:p1] - r0, cols[p0:p1]
            land = np.zeros((r1 - r0, nx), dtype=np.int8)
            land[r, c] = 1
            group["processed"][r0:r1] = land
            for key, values in sample.items():
                got = part.get(key, np.empty((0, *values.shape[1:]), values.dtype))
                group[key][..., r0:r1, :] = _scatter(got, r, c, (r1 - r0, nx), values.dtype)
    return path


def open_tile_result(path: str | Path) -> xr.Dataset:
    """Open a per-tile DA result written by :func:`write_tile_result` lazily (read it block by block)."""
    path = Path(path)
    if not (path / "zarr.json").exists():
        raise FileNotFoundError(f"{path}: no per-tile assimilation result (run assimilate-tile first)")
    return open_zarr(path, consolidated=False)


def read_tile_result(path: str | Path) -> xr.Dataset:
    """Load a per-tile DA result written by :func:`write_tile_result` into memory."""
    with open_tile_result(path) as ds:
        return ds.load()


def write_json(path: str | Path, payload: Mapping[str, object]) -> Path:
    """Write a small JSON document (sentinels, summaries) atomically (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)
    return path


def read_json(path: str | Path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: missing") from None


def missing_sentinels(paths: Iterable[str | Path]) -> list[str]:
    """The sentinel files among ``paths`` that do not exist."""
    return [str(p) for p in paths if not Path(p).exists()]


def write_marker(sentinel: str | Path) -> Path:
    """The marker of a region write in progress, beside its tile sentinel (``<sentinel>.writing``)."""
    sentinel = Path(sentinel)
    return sentinel.with_name(sentinel.name + ".writing")


def begin_region_write(sentinel: str | Path, payload: Mapping[str, object]) -> Path:
    """Before a tile is written into a region store: drop its old sentinel and leave the write marker.

    A write killed half-way leaves the marker and no sentinel; :func:`interrupted_writes` finds it, so the
    finalisation refuses the store until the tile is written again (:func:`end_region_write`).
    """
    Path(sentinel).unlink(missing_ok=True)
    return write_json(write_marker(sentinel), payload)


def end_region_write(sentinel: str | Path, payload: Mapping[str, object]) -> Path:
    """After a tile's region write: its sentinel, then the marker removed."""
    write_json(sentinel, payload)
    write_marker(sentinel).unlink(missing_ok=True)
    return Path(sentinel)


def interrupted_writes(sentinels: Iterable[str | Path]) -> list[str]:
    """The write markers of ``sentinels`` still present (region writes that never finished)."""
    return [str(write_marker(s)) for s in sentinels if write_marker(s).exists()]


def unfinalize(summary: str | Path | None) -> None:
    """Remove a region's finalize summary before its store is written again: a store being written is not
    final, and with the summary gone the workflow reruns the finalisation (and any write that was
    interrupted) instead of keeping the old summary as if it described the store."""
    if summary is not None:
        Path(summary).unlink(missing_ok=True)
