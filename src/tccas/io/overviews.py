"""Multiscale overviews of a region map store: a coarsening pyramid for map viewers and quick-looks.

Layout (``results/maps/{region}.overviews.zarr``, Zarr v3), following the GeoZarr ``multiscales``
convention (https://github.com/zarr-conventions/multiscales, v0.1) composed with the ``proj:`` and
``spatial:`` conventions the region store already uses:

* the root group declares the three conventions in ``zarr_conventions`` and holds ``multiscales`` =
  ``{"layout": [...], "resampling_method": "average"}``, ``proj:code`` (EPSG:3035) and ``source_store`` (the
  region store it was built from, relative to the overview store's folder);
* one child group per level, named ``"1"``, ``"2"``, … : level ``k`` has cells of ``res·2^k`` m. Its layout
  entry holds ``asset``, ``transform.scale`` ``[2, 2]`` and ``transform.translation`` ``[0, 0]`` (relative to
  the level it is ``derived_from``; level 1 is derived from the full-resolution region store, outside this
  group, so it has no ``derived_from``), and the level's absolute position ``spatial:shape`` /
  ``spatial:transform`` (GDAL order, metres);
* each level group is itself a GeoZarr dataset: ``proj:code``, ``spatial:*`` and ``tile_px`` (its chunk
  edge) like the region store, coordinates ``y`` (decreasing), ``x`` [m], and every 2-D ``(y, x)`` map of the
  region store as float32 with the source's CF attributes, ``cell_methods`` extended by ``area: mean`` (or
  ``area: mode`` for flag variables, e.g. the solver status) and NaN where a block holds no valid cell.

Values: level ``k`` is the NaN-aware block mean of the full-resolution map over blocks of ``2^k × 2^k`` cells
(exactly, not a mean of means: sums and counts of valid cells are carried from level to level); for flag
variables the most frequent flag of the block's valid cells (the smallest flag on a tie). Blocks at the
east and south edges hold fewer cells. The top level is the first whose longer edge fits ``max_pixels``.

Memory: the source is read one window of ``S × S`` cells at a time (``S = max(2048, 16·2^L)`` for ``L``
levels), and that window yields exactly one chunk of every level (chunk edge ``S/2^k``), so no chunk is
written twice and the peak memory (≈ 40 B per window cell: the float64 window, sums and counts) does not
depend on the region's size.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr
import zarr
from affine import Affine

from tccas.grid import CRS
from tccas.io.output_store import GEOZARR_CONVENTIONS, grid_of_store

MULTISCALES_CONVENTION = {
    "name": "multiscales",
    "uuid": "d35379db-88df-4056-af3a-620245f8e347",
    "schema_url": "https://raw.githubusercontent.com/zarr-conventions/multiscales/refs/tags/v0.1/schema.json",
    "spec_url": "https://github.com/zarr-conventions/multiscales/blob/v0.1/README.md",
}
MIN_WINDOW = 2048  # cells per edge of a source window (32 MB of float64)
MIN_TOP_CHUNK = 16  # chunk edge of the top level (the window is widened when needed)


class OverviewError(ValueError):
    """A region or overview store that cannot be used; the message names the file and the field."""


def block_sums(values: np.ndarray, counts: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts over blocks of ``factor × factor`` along the last two axes of ``values`` (sums of
    valid cells) and ``counts`` (their number); the last two axes are padded with empty cells to a multiple of
    ``factor``."""
    *lead, ny, nx = values.shape
    py, px = -ny % factor, -nx % factor
    pad = [(0, 0)] * len(lead) + [(0, py), (0, px)]
    values, counts = np.pad(values, pad), np.pad(counts, pad)
    shape = (*lead, (ny + py) // factor, factor, (nx + px) // factor, factor)
    axes = (len(lead) + 1, len(lead) + 3)
    return values.reshape(shape).sum(axis=axes), counts.reshape(shape).sum(axis=axes)


def valid_sums(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A map as (sum, count) of its valid (finite) cells: the value and 1, or 0 and 0."""
    data = np.asarray(data, dtype=np.float64)
    finite = np.isfinite(data)
    return np.where(finite, data, 0.0), finite.astype(np.int64)


def mean_of(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of valid cells from sums and counts; NaN where a block has none."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def block_mean(data: np.ndarray, factor: int) -> np.ndarray:
    """NaN-aware block mean of a 2-D map by an integer ``factor`` (edge blocks hold fewer cells)."""
    if factor <= 1:
        return np.asarray(data)
    return mean_of(*block_sums(*valid_sums(data), factor))


def flag_counts(data: np.ndarray, flags: Sequence[float]) -> np.ndarray:
    """``(n_flags, ny, nx)`` indicator of each flag value in a categorical map (NaN matches none)."""
    data = np.asarray(data, dtype=np.float64)
    return np.stack([data == flag for flag in flags]).astype(np.int64)


def mode_of(counts: np.ndarray, flags: Sequence[float]) -> np.ndarray:
    """The most frequent flag per cell from ``(n_flags, ny, nx)`` counts (first flag on a tie); NaN where
    the block has no valid cell."""
    pick = np.asarray(flags, dtype=np.float64)[np.argmax(counts, axis=0)]
    return np.where(counts.sum(axis=0) > 0, pick, np.nan)


def n_levels(shape: Sequence[int], max_pixels: int) -> int:
    """Number of factor-2 levels until the longer edge of ``shape`` is at most ``max_pixels`` (at least 1)."""
    if max_pixels < 1:
        raise OverviewError(f"max_pixels must be a positive number of cells, got {max_pixels}")
    levels, edge = 1, max(shape)
    while -(-edge // 2**levels) > max_pixels:
        levels += 1
    return levels


def map_variables(ds: xr.Dataset) -> list[str]:
    """Names of the 2-D ``(y, x)`` numeric maps of a region store (coordinates excluded)."""
    return [
        name
        for name, var in ds.data_vars.items()
        if var.dims == ("y", "x") and np.issubdtype(var.dtype, np.number)
    ]


def open_maps(store: str | Path) -> xr.Dataset:
    """Open a region store lazily without Dask (``chunks=None``): indexing a window reads only the chunks
    it covers, and nothing is held per chunk of the store (a Dask graph would grow with the region)."""
    store = Path(store)
    if not (store / "zarr.json").exists():
        raise FileNotFoundError(f"{store}: not a Zarr v3 store")
    return xr.open_zarr(store, consolidated=False, chunks=None)


def _flags(var: xr.DataArray) -> list[float] | None:
    values = var.attrs.get("flag_values")
    return None if values is None else [float(v) for v in np.atleast_1d(values)]


def _windows(ny: int, nx: int, edge: int) -> Iterator[tuple[int, int]]:
    for row in range(0, ny, edge):
        for col in range(0, nx, edge):
            yield row, col


def _level_attrs(grid, level: int, chunk: int) -> dict:
    factor = 2**level
    res = grid.res * factor
    ny, nx = -(-grid.ny // factor), -(-grid.nx // factor)
    top = grid.y0 + grid.ny * grid.res
    t = Affine(res, 0.0, grid.x0, 0.0, -res, top)
    return {
        "zarr_conventions": GEOZARR_CONVENTIONS,
        "proj:code": CRS,
        "spatial:dimensions": ["y", "x"],
        "spatial:transform": [t.a, t.b, t.c, t.d, t.e, t.f],
        "spatial:shape": [ny, nx],
        "spatial:bbox": [grid.x0, top - ny * res, grid.x0 + nx * res, top],
        "spatial:registration": "pixel",
        "tile_px": chunk,
    }


def _layout_entry(level: int, attrs: Mapping) -> dict:
    entry = {
        "asset": str(level),
        "transform": {"scale": [2.0, 2.0], "translation": [0.0, 0.0]},
        "resampling_method": "average",
        "spatial:shape": attrs["spatial:shape"],
        "spatial:transform": attrs["spatial:transform"],
    }
    if level > 1:
        entry["derived_from"] = str(level - 1)
    return entry


def _create_level(root: zarr.Group, level: int, attrs: dict, ds: xr.Dataset, names: Sequence[str]) -> None:
    group = root.create_group(str(level), attributes=attrs)
    ny, nx = attrs["spatial:shape"]
    a, _, c, _, e, f = attrs["spatial:transform"]
    chunk = attrs["tile_px"]
    for axis, size, start, step in (("x", nx, c, a), ("y", ny, f, e)):
        coord = group.create_array(
            axis,
            shape=(size,),
            dtype="float64",
            chunks=(max(size, 1),),
            dimension_names=(axis,),
            attributes=dict(ds[axis].attrs),
        )
        coord[:] = start + (np.arange(size) + 0.5) * step
    for name in names:
        var = ds[name]
        attrs_var = {k: v for k, v in var.attrs.items() if k not in ("coordinates", "grid_mapping")}
        method = "area: mode" if _flags(var) is not None else "area: mean"
        attrs_var["cell_methods"] = f"{attrs_var.get('cell_methods', '')} {method}".strip()
        attrs_var["resampling_method"] = "mode" if _flags(var) is not None else "average"
        group.create_array(
            name,
            shape=(ny, nx),
            dtype="float32",
            chunks=(chunk, chunk),
            fill_value=np.float32(np.nan),
            dimension_names=("y", "x"),
            attributes=attrs_var,
        )


def write_overviews(
    store: str | Path,
    output: str | Path,
    max_pixels: int = 512,
    variables: Sequence[str] | None = None,
    min_window: int = MIN_WINDOW,
) -> list[str]:
    """Write the overview pyramid of the region store ``store`` to ``output`` (replaced if present); returns
    the level group names. ``variables``: the 2-D maps to include (default: all, :func:`map_variables`);
    ``min_window``: the source window edge [cells] (a power of two; smaller windows use less memory).

    Raises :class:`OverviewError` naming the store and the field for a store without the GeoZarr grid
    attributes, a variable that is not in it, or one that is not a 2-D ``(y, x)`` map.
    """
    store, output = Path(store), Path(output)
    ds = open_maps(store)
    try:
        grid = grid_of_store(ds)
    except KeyError as err:
        raise OverviewError(f"{store}: no GeoZarr grid attribute {err} (not a tccas region store?)") from None
    names = map_variables(ds)
    if variables is not None:
        for name in variables:
            if name not in ds:
                raise OverviewError(f"{store}: no variable {name!r} (2-D maps: {', '.join(names)})")
            if name not in names:
                raise OverviewError(f"{store}: variable {name!r} has dims {ds[name].dims}, not a (y, x) map")
        names = list(variables)
    if min_window < 2 or min_window & (min_window - 1):
        raise OverviewError(f"min_window must be a power of two, got {min_window}")
    levels = n_levels((grid.ny, grid.nx), max_pixels)
    window = max(min_window, MIN_TOP_CHUNK * 2**levels)
    if output.exists():
        shutil.rmtree(output)
    root = zarr.open_group(output, mode="w", zarr_format=3)
    layout = []
    for level in range(1, levels + 1):
        attrs = _level_attrs(grid, level, window // 2**level)
        _create_level(root, level, attrs, ds, names)
        layout.append(_layout_entry(level, attrs))
    root.attrs.update(
        {
            "zarr_conventions": [MULTISCALES_CONVENTION, *GEOZARR_CONVENTIONS],
            "multiscales": {"layout": layout, "resampling_method": "average"},
            "proj:code": CRS,
            "source_store": os.path.relpath(store, output.parent),
        }
    )
    arrays = {level: zarr.open_group(output / str(level), mode="r+") for level in range(1, levels + 1)}
    for name in names:
        flags = _flags(ds[name])
        for row, col in _windows(grid.ny, grid.nx, window):
            block = ds[name].isel(y=slice(row, row + window), x=slice(col, col + window)).values
            if flags is None:
                sums, counts = valid_sums(block)
            else:
                sums = counts = flag_counts(block, flags)
            for level in range(1, levels + 1):
                if flags is None:
                    sums, counts = block_sums(sums, counts, 2)
                    values = mean_of(sums, counts)
                else:
                    counts = block_sums(counts, counts, 2)[0]
                    values = mode_of(counts, flags)
                r0, c0 = row // 2**level, col // 2**level
                rows, cols = values.shape
                arrays[level][name][r0 : r0 + rows, c0 : c0 + cols] = values.astype(np.float32)
    return [str(level) for level in range(1, levels + 1)]


def read_layout(path: str | Path) -> list[dict]:
    """The ``multiscales.layout`` of an overview store; :class:`OverviewError` names the file and the field
    when it is not one."""
    path = Path(path)
    if not (path / "zarr.json").exists():
        raise FileNotFoundError(f"{path}: not a Zarr v3 store")
    attrs = zarr.open_group(path, mode="r").attrs
    multiscales = attrs.get("multiscales")
    layout = multiscales.get("layout") if isinstance(multiscales, dict) else None
    if not layout or not all("asset" in entry and "spatial:shape" in entry for entry in layout):
        raise OverviewError(f"{path}: attribute multiscales.layout is missing or has no asset/spatial:shape")
    return layout


def level_for(path: str | Path, max_pixels: int) -> Path:
    """The finest level group of the overview store ``path`` whose longer edge is at most ``max_pixels``
    (the coarsest level if none is that small)."""
    layout = read_layout(path)
    fitting = [entry for entry in layout if max(entry["spatial:shape"]) <= max_pixels]
    chosen = fitting[0] if fitting else layout[-1]
    return Path(path) / chosen["asset"]
