"""Cells of the EEA reference grid: coordinates, INSPIRE and EEA cell codes (data_formats.md §6.1).

- CRS: ETRS89-LAEA, EPSG:3035, ``+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80``.
  EPSG axis order is (northing, easting); everything here is (x=easting, y=northing) via ``always_xy``.
- Grid origin is the false origin (0, 0); the reference point of a cell is its lower-left corner.
- INSPIRE/GISCO code: ``CRS3035RES{res}mN{y_ll}E{x_ll}`` (full metres, N before E).
- EEA short code: ``{res}E{x_ll/res}N{y_ll/res}`` with ``res`` as ``100m``/``1km``/``10km``/``100km``
  (E before N), e.g. ``100kmE43N26``, ``1kmE4402N3331``.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
from pyproj import CRS as _PyprojCRS
from pyproj import Transformer

CRS = "EPSG:3035"
_WGS84 = "EPSG:4326"

_INSPIRE_RE = re.compile(r"^CRS3035RES(?P<res>\d+)(?P<unit>m|km)N(?P<y>\d+)E(?P<x>\d+)$")
_EEA_RE = re.compile(r"^(?P<res>\d+)(?P<unit>m|km)E(?P<x>\d+)N(?P<y>\d+)$")


class CRSMismatchError(ValueError):
    """Raised when data in another CRS is mixed with the EPSG:3035 grid."""


def check_crs(crs, expected: str = CRS, what: str = "input") -> None:
    """Raise :class:`CRSMismatchError` unless ``crs`` equals ``expected`` (compared by pyproj).

    ``crs`` may be anything pyproj understands (EPSG string, WKT, pyproj/rasterio/odc CRS). ``None`` is an
    error too: data without a CRS cannot be placed on the grid.
    """
    if crs is None:
        raise CRSMismatchError(f"{what}: no CRS given; expected {expected}")
    try:
        given = _PyprojCRS.from_user_input(str(crs) if not isinstance(crs, (str, _PyprojCRS)) else crs)
    except Exception as err:  # pyproj raises CRSError with a terse text; re-raise with context
        raise CRSMismatchError(f"{what}: cannot interpret CRS {crs!r}: {err}") from err
    wanted = _PyprojCRS.from_user_input(expected)
    # A PROJ string of LAEA/GRS80 carries no datum name but is the same projection as EPSG:3035.
    same = given.equals(wanted, ignore_axis_order=True) or given.to_proj4() == wanted.to_proj4()
    if not same:
        raise CRSMismatchError(f"{what}: CRS is {given.to_string()}, expected {expected}")


@cache
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def lonlat_to_xy(lon, lat):
    """Geographic lon/lat (degrees, ETRS89 ~ WGS84) → EPSG:3035 (x, y) in metres."""
    return _transformer(_WGS84, CRS).transform(np.asarray(lon, float), np.asarray(lat, float))


def xy_to_lonlat(x, y):
    """EPSG:3035 (x, y) in metres → lon/lat in degrees."""
    return _transformer(CRS, _WGS84).transform(np.asarray(x, float), np.asarray(y, float))


def cell_of_xy(x, y, res: int = 100):
    """Integer cell indices ``(ix, iy) = (floor(x/res), floor(y/res))`` of the cells containing (x, y)."""
    ix = np.floor(np.asarray(x, float) / res).astype(np.int64)
    iy = np.floor(np.asarray(y, float) / res).astype(np.int64)
    return ix, iy


def xy_of_cell(ix, iy, res: int = 100, where: str = "centre"):
    """EPSG:3035 coordinates of a cell's lower-left corner (``where="ll"``) or centre (``"centre"``)."""
    offset = {"ll": 0.0, "centre": 0.5}[where]
    return (np.asarray(ix) + offset) * res, (np.asarray(iy) + offset) * res


def lonlat_to_cell(lon, lat, res: int = 100):
    """Cell indices of the grid cells containing geographic points."""
    return cell_of_xy(*lonlat_to_xy(lon, lat), res=res)


def cell_to_lonlat(ix, iy, res: int = 100, where: str = "centre"):
    """lon/lat of a cell's centre or lower-left corner."""
    return xy_to_lonlat(*xy_of_cell(ix, iy, res=res, where=where))


def _res_label(res: int) -> str:
    return f"{res // 1000}km" if res >= 1000 and res % 1000 == 0 else f"{res}m"


def _res_from_label(value: str, unit: str) -> int:
    return int(value) * (1000 if unit == "km" else 1)


def inspire_code(ix: int, iy: int, res: int = 100) -> str:
    """INSPIRE/GISCO cell code, e.g. ``CRS3035RES100mN2691700E4341100`` (lower-left corner, metres)."""
    return f"CRS3035RES{_res_label(res)}N{int(iy) * res}E{int(ix) * res}"


def parse_inspire_code(code: str) -> tuple[int, int, int]:
    """``CRS3035RES100mN2691700E4341100`` → ``(res, x_ll, y_ll)`` = ``(100, 4341100, 2691700)``."""
    match = _INSPIRE_RE.match(code.strip())
    if match is None:
        raise ValueError(f"not an INSPIRE EPSG:3035 cell code: {code!r} (expected CRS3035RES<res>mN<y>E<x>)")
    res = _res_from_label(match["res"], match["unit"])
    x, y = int(match["x"]), int(match["y"])
    if x % res or y % res:
        raise ValueError(f"cell code {code!r}: corner ({x}, {y}) is not a multiple of the resolution {res} m")
    return res, x, y


def eea_code(ix: int, iy: int, res: int = 100) -> str:
    """EEA short code of a cell, e.g. ``100kmE43N26`` (E before N, indices in units of the cell size)."""
    return f"{_res_label(res)}E{int(ix)}N{int(iy)}"


def parse_eea_code(code: str) -> tuple[int, int, int]:
    """``100kmE43N26`` → ``(res, ix, iy)`` = ``(100000, 43, 26)`` (indices in units of ``res``)."""
    match = _EEA_RE.match(code.strip())
    if match is None:
        raise ValueError(f"not an EEA grid code: {code!r} (expected e.g. 100kmE43N26)")
    return _res_from_label(match["res"], match["unit"]), int(match["x"]), int(match["y"])
