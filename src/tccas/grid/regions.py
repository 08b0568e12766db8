"""The three tccas regions, their land polygons and their tiling (data_formats.md §6.2, docs/regions.md).

A region is the land polygon of :mod:`tccas.grid.land` (EPSG:3035, from Natural Earth 1:10m Admin 0 v5.1):
Lapland = Finland and Sweden north of 65° N, Iberia = mainland Spain and Portugal, the Netherlands = its
European part with the islands. Its extent is the polygon's bounding box snapped outwards to 10 km. A tile of
``tile_km`` is *planned* when the centre of at least one of its 100 m cells lies in the polygon (the cells
:func:`region_cell_mask` keeps); tiles of sea or of other countries are never planned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from tccas.grid.cells import lonlat_to_xy
from tccas.grid.land import REGION_RULES, packaged_regions
from tccas.grid.tiles import Tile

SNAP_M = 10_000
# Tile edges (km) that nest in the 100 km EEA tiles, so sub-tiles never straddle a production tile.
TILE_KM_CHOICES = (1, 2, 4, 5, 10, 20, 25, 50, 100)


@dataclass(frozen=True)
class Region:
    """A processing region: its name, a one-line description and the rule defining its land polygon."""

    name: str
    description: str
    definition: str

    @property
    def geometry(self) -> BaseGeometry:
        """The region's land (Multi)Polygon in EPSG:3035 metres (packaged, prepared for fast predicates)."""
        return packaged_regions()[self.name]

    @cached_property
    def extent(self) -> tuple[int, int, int, int]:
        """(x_min, y_min, x_max, y_max), EPSG:3035 metres: the polygon bounds snapped outwards to 10 km."""
        x0, y0, x1, y1 = self.geometry.bounds
        return (
            int(math.floor(x0 / SNAP_M) * SNAP_M),
            int(math.floor(y0 / SNAP_M) * SNAP_M),
            int(math.ceil(x1 / SNAP_M) * SNAP_M),
            int(math.ceil(y1 / SNAP_M) * SNAP_M),
        )

    def contains_lonlat(self, lon, lat) -> np.ndarray:
        """Whether geographic points (degrees) lie in the region's land polygon."""
        return shapely.contains_xy(self.geometry, *lonlat_to_xy(lon, lat))

    def tile_index_ranges(self, tile_km: int) -> tuple[range, range]:
        """Ranges of tile indices (tx, ty) whose tiles cover the snapped extent."""
        size = _tile_size_m(tile_km)
        x0, y0, x1, y1 = self.extent
        return range(x0 // size, -(-x1 // size)), range(y0 // size, -(-y1 // size))


REGIONS: dict[str, Region] = {
    name: Region(name, rule["description"], rule["definition"]) for name, rule in REGION_RULES.items()
}


def _tile_size_m(tile_km: int) -> int:
    if tile_km not in TILE_KM_CHOICES:
        raise ValueError(
            f"tile size {tile_km} km is not one of {TILE_KM_CHOICES} (tiles must nest in 100 km)"
        )
    return int(tile_km) * 1000


def get_region(name: str) -> Region:
    """Look up a region by name; the error lists the known names."""
    try:
        return REGIONS[name]
    except KeyError:
        raise KeyError(f"unknown region {name!r}; known regions: {', '.join(REGIONS)}") from None


def region_cell_mask(name: str, tile: Tile) -> np.ndarray:
    """Boolean ``tile.shape`` (north-up) mask: True where the centre of a 100 m cell lies in the region's
    land polygon (GDAL rasterisation, ``all_touched=False``: the cell-centre rule of data_formats.md §7).

    Cells outside are not part of the region (sea, other countries, islands the definition leaves out) and
    must not be modelled: AND it into the land mask of the tile's land cover.
    """
    from rasterio.features import geometry_mask

    return geometry_mask(
        [get_region(name).geometry], out_shape=tile.shape, transform=tile.transform, invert=True
    )


def tiles_for_region(name: str, tile_km: int = 100, res: int = 100) -> list[Tile]:
    """The planned tiles of ``tile_km``: those holding at least one cell of the region (a cell whose centre
    lies in the land polygon), ordered south→north, west→east.

    Tiles inside the polygon are taken whole; tiles crossing its boundary are kept when
    :func:`region_cell_mask` has a cell in them.
    """
    region = get_region(name)
    xs, ys = region.tile_index_ranges(tile_km)
    size = _tile_size_m(tile_km)
    tx, ty = np.meshgrid(np.asarray(xs), np.asarray(ys))
    tx, ty = tx.ravel(), ty.ravel()  # row-major: south→north, west→east
    boxes = shapely.box(tx * size, ty * size, (tx + 1) * size, (ty + 1) * size)
    inside = shapely.contains_properly(region.geometry, boxes)
    crossing = shapely.intersects(region.geometry, boxes) & ~inside
    tiles = []
    for i in np.flatnonzero(inside | crossing):
        tile = Tile.from_index(int(tx[i]), int(ty[i]), size, res)
        if inside[i] or region_cell_mask(name, tile).any():
            tiles.append(tile)
    return tiles


def tile_containing(lon: float, lat: float, tile_km: int, res: int = 100) -> Tile:
    """The tile of ``tile_km`` that contains a geographic point."""
    size = _tile_size_m(tile_km)
    x, y = lonlat_to_xy(lon, lat)
    return Tile.from_index(math.floor(float(x) / size), math.floor(float(y) / size), size, res)
