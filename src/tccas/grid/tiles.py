"""Processing tiles of the EEA grid (data_formats.md §6.1): square blocks of 100 m cells named by the EEA code
of the tile-sized cell that contains them (``100kmE25N14`` = 1000 × 1000 cells; sub-tiles such as
``10kmE253N140`` or ``1kmE2650N1440`` for tests and demos).

Rasters of a tile are north-up: row 0 is the northernmost row, so ``iy = iy0 + ny - 1 - row``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from affine import Affine
from odc.geo.geobox import GeoBox

from tccas.grid.cells import CRS, eea_code, parse_eea_code


@dataclass(frozen=True)
class Tile:
    """A square tile of ``size_m`` metres on the EEA grid at resolution ``res`` (metres)."""

    name: str
    x0: int
    y0: int
    size_m: int
    res: int = 100

    def __post_init__(self):
        if self.size_m % self.res:
            raise ValueError(f"tile {self.name}: size {self.size_m} m is not a multiple of {self.res} m")
        if self.x0 % self.size_m or self.y0 % self.size_m:
            raise ValueError(
                f"tile {self.name}: corner ({self.x0}, {self.y0}) is not on the {self.size_m} m grid"
            )

    @classmethod
    def from_index(cls, tx: int, ty: int, size_m: int, res: int = 100) -> Tile:
        """Tile with lower-left corner ``(tx * size_m, ty * size_m)``."""
        return cls(eea_code(tx, ty, size_m), int(tx) * size_m, int(ty) * size_m, size_m, res)

    @property
    def nx(self) -> int:
        return self.size_m // self.res

    @property
    def ny(self) -> int:
        return self.size_m // self.res

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx), north-up raster shape."""
        return self.ny, self.nx

    @property
    def ix0(self) -> int:
        """Cell index (x) of the western column."""
        return self.x0 // self.res

    @property
    def iy0(self) -> int:
        """Cell index (y) of the southern row."""
        return self.y0 // self.res

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return self.x0, self.y0, self.x0 + self.size_m, self.y0 + self.size_m

    @cached_property
    def x(self) -> np.ndarray:
        """Cell-centre x coordinates (m), increasing eastwards, shape (nx,)."""
        return self.x0 + (np.arange(self.nx) + 0.5) * self.res

    @cached_property
    def y(self) -> np.ndarray:
        """Cell-centre y coordinates (m), decreasing southwards (north-up rows), shape (ny,)."""
        return self.y0 + self.size_m - (np.arange(self.ny) + 0.5) * self.res

    @property
    def transform(self) -> Affine:
        return Affine(self.res, 0.0, self.x0, 0.0, -self.res, self.y0 + self.size_m)

    @cached_property
    def geobox(self) -> GeoBox:
        """odc-geo GeoBox of the tile (EPSG:3035, north-up)."""
        return GeoBox((self.ny, self.nx), self.transform, CRS)

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Integer cell indices ``(ix, iy)`` of every raster position, each of shape (ny, nx)."""
        ix = self.ix0 + np.arange(self.nx)
        iy = self.iy0 + self.ny - 1 - np.arange(self.ny)
        return np.meshgrid(ix, iy)

    def contains_cells(self, ix, iy) -> np.ndarray:
        """Boolean mask: which of the cells ``(ix, iy)`` lie inside this tile."""
        ix, iy = np.asarray(ix), np.asarray(iy)
        return (ix >= self.ix0) & (ix < self.ix0 + self.nx) & (iy >= self.iy0) & (iy < self.iy0 + self.ny)

    def rowcol(self, ix, iy) -> tuple[np.ndarray, np.ndarray]:
        """Raster (row, col) of cells ``(ix, iy)`` (no bounds check; see :meth:`contains_cells`)."""
        return self.iy0 + self.ny - 1 - np.asarray(iy), np.asarray(ix) - self.ix0


def tile_from_name(name: str, res: int = 100) -> Tile:
    """Tile from its EEA code, e.g. ``100kmE25N14`` or ``1kmE2650N1440``."""
    size, tx, ty = parse_eea_code(name)
    if size < res:
        raise ValueError(f"tile {name!r} is smaller than one {res} m cell")
    return Tile.from_index(tx, ty, size, res)
