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
write discipline applies: a metadata-only template first, then per-tile ``region=`` writes (idempotent, one
tile = one chunk along y/x), then :func:`consolidate_scenario` re-consolidates the store's metadata so a
consolidated reader sees the group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import dask.array as da
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
import zarr

from tccas.grid import CRS
from tccas.grid.tiles import Tile
from tccas.io.output_store import (
    CONVENTIONS,
    StoreGrid,
    VariableSpec,
    geozarr_attrs,
    grid_of_store,
    grid_region_checked,
    open_store,
)
from tccas.scenario.targets import STATISTICS, TARGETS

GROUP = "scenario"
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


def scenario_tile_values(
    tile: Tile, rows: np.ndarray, cols: np.ndarray, results: Mapping[str, np.ndarray], horizon_years: int
) -> dict[str, np.ndarray]:
    """Rasterise per-pixel results (leading axis ``n_pixels`` at ``(rows, cols)``) onto the tile.

    Every registry variable must be present in ``results``; cells not listed keep the fill value.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    ny, nx = tile.shape
    out: dict[str, np.ndarray] = {}
    for spec in scenario_registry():
        if spec.name not in results:
            raise KeyError(f"tile {tile.name}: no scenario result {spec.name!r}")
        values = np.asarray(results[spec.name])
        if values.shape[0] != rows.size:
            raise ValueError(
                f"tile {tile.name}: {spec.name} has {values.shape[0]} pixels, expected {rows.size}"
            )
        if spec.dims == ("y", "x"):
            grid = np.full((ny, nx), spec.fill_value, dtype=spec.dtype)
            grid[rows, cols] = values
        else:
            if values.shape[1:] != (horizon_years,):
                raise ValueError(f"tile {tile.name}: {spec.name} has shape {values.shape[1:]} per pixel")
            grid = np.full((horizon_years, ny, nx), spec.fill_value, dtype=spec.dtype)
            grid[:, rows, cols] = values.T
        out[spec.name] = grid
    return out


def write_scenario_tile(store: str | Path, tile: Tile, values: Mapping[str, np.ndarray]) -> dict[str, slice]:
    """Write one tile's rasterised values (:func:`scenario_tile_values`) into the scenario group by region."""
    store = Path(store)
    group = open_scenario(store)
    region = grid_region_checked(grid_of_store(group), tile, group)
    data_vars = {
        spec.name: (spec.dims, np.asarray(values[spec.name]).astype(spec.dtype, copy=False))
        for spec in scenario_registry()
    }
    ds = xr.Dataset(data_vars)
    full = {"y": region["y"], "x": region["x"], "year": slice(None)}
    ds.to_zarr(
        store, group=GROUP, region={d: full[d] for d in ds.dims}, mode="r+", zarr_format=3, consolidated=False
    )
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


def scenario_extent(store: str | Path) -> tuple[float, float, float, float]:
    """``(x_min, x_max, y_min, y_max)`` [m] of the scenario group's grid (for quick-looks)."""
    grid = grid_of_store(open_scenario(store))
    return (grid.x0, grid.x0 + grid.nx * grid.res, grid.y0, grid.y0 + grid.ny * grid.res)


def scenario_maps(store: str | Path, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Load 2-D scenario maps into memory (all quick-look variables by default)."""
    ds = open_scenario(store)
    wanted = names or [s.name for s in scenario_registry() if s.quicklook and s.dims == ("y", "x")]
    return {name: np.asarray(ds[name].values) for name in wanted}
