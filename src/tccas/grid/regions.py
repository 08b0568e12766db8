"""The three tccas regions and their tiling (data_formats.md §6.2).

Each region is a lon/lat box [D]; its EPSG:3035 extent is the bounding box of the box's edges densified to
200 points per edge (a straight lon/lat edge is curved in LAEA), snapped outwards to 10 km. Tiles of
``tile_km`` cover the snapped extent; with 100 km tiles this gives Lapland 8 × 8 = 64, Iberia 13 × 12 = 156
and the Netherlands 4 × 5 = 20 tiles (the §6.2 table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from tccas.grid.cells import lonlat_to_xy
from tccas.grid.tiles import Tile

SNAP_M = 10_000
DENSIFY = 200
# Tile edges (km) that nest in the 100 km EEA tiles, so sub-tiles never straddle a production tile.
TILE_KM_CHOICES = (1, 2, 4, 5, 10, 20, 25, 50, 100)


@dataclass(frozen=True)
class Region:
    """A processing region: a lon/lat box (degrees) and its snapped EPSG:3035 extent."""

    name: str
    lon_min: float
    lon_max: float
    lat_min: float
    lat_max: float
    description: str = ""

    @cached_property
    def extent(self) -> tuple[int, int, int, int]:
        """(x_min, y_min, x_max, y_max) in EPSG:3035 metres, snapped outwards to 10 km."""
        t = np.linspace(0.0, 1.0, DENSIFY)
        lon = np.concatenate(
            [
                self.lon_min + t * (self.lon_max - self.lon_min),
                np.full(DENSIFY, self.lon_max),
                self.lon_max - t * (self.lon_max - self.lon_min),
                np.full(DENSIFY, self.lon_min),
            ]
        )
        lat = np.concatenate(
            [
                np.full(DENSIFY, self.lat_min),
                self.lat_min + t * (self.lat_max - self.lat_min),
                np.full(DENSIFY, self.lat_max),
                self.lat_max - t * (self.lat_max - self.lat_min),
            ]
        )
        x, y = lonlat_to_xy(lon, lat)
        return (
            int(math.floor(x.min() / SNAP_M) * SNAP_M),
            int(math.floor(y.min() / SNAP_M) * SNAP_M),
            int(math.ceil(x.max() / SNAP_M) * SNAP_M),
            int(math.ceil(y.max() / SNAP_M) * SNAP_M),
        )

    def contains_lonlat(self, lon: float, lat: float) -> bool:
        return self.lon_min <= lon <= self.lon_max and self.lat_min <= lat <= self.lat_max

    def tile_index_ranges(self, tile_km: int) -> tuple[range, range]:
        """Ranges of tile indices (tx, ty) whose tiles cover the snapped extent."""
        size = _tile_size_m(tile_km)
        x0, y0, x1, y1 = self.extent
        return range(x0 // size, -(-x1 // size)), range(y0 // size, -(-y1 // size))


REGIONS: dict[str, Region] = {
    r.name: r
    for r in (
        Region("lapland", 15.5, 30.0, 65.0, 70.1, "Finnish and Swedish Lapland"),
        Region("iberia", -9.6, 3.4, 35.9, 43.9, "Iberian Peninsula (mainland)"),
        Region("netherlands", 3.3, 7.3, 50.7, 53.6, "The Netherlands"),
    )
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


def tiles_for_region(name: str, tile_km: int = 100, res: int = 100) -> list[Tile]:
    """All tiles of ``tile_km`` covering the region's snapped extent, ordered south→north, west→east."""
    xs, ys = get_region(name).tile_index_ranges(tile_km)
    size = _tile_size_m(tile_km)
    return [Tile.from_index(tx, ty, size, res) for ty in ys for tx in xs]


def tile_containing(lon: float, lat: float, tile_km: int, res: int = 100) -> Tile:
    """The tile of ``tile_km`` that contains a geographic point."""
    size = _tile_size_m(tile_km)
    x, y = lonlat_to_xy(lon, lat)
    return Tile.from_index(math.floor(float(x) / size), math.floor(float(y) / size), size, res)
