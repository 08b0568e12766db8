"""Region polygons: the land of each tccas region in EPSG:3035, derived from Natural Earth (docs/regions.md).

The packaged file ``tccas/data/regions/regions.geojson`` holds one feature per region: a (Multi)Polygon in
EPSG:3035 metres (integer coordinates), built by :func:`build_region_collection` from the Natural Earth
1:10m *Admin 0 – Countries* polygons (public domain, v5.1, https://www.naturalearthdata.com) with the rules of
:data:`REGION_RULES`, then simplified (Douglas–Peucker, ``shapely.simplify`` with topology preserved) to the
tolerance recorded in the file. Natural Earth countries are land polygons (coastline-clipped), so the region
polygons hold no sea; inland lakes are inside them and are masked by CORINE water classes (data_formats.md
§6.2, §5.1).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry

from tccas.grid.cells import CRS, lonlat_to_xy

PACKAGED_FILE = "data/regions/regions.geojson"
CRS_URN = "urn:ogc:def:crs:EPSG::3035"
CLIP_SEGMENT_DEG = 0.01  # clip-box edges densified to 0.01° (≈ 0.5–1 km) before projecting [D]

# Region rules [D]: Natural Earth Admin-0 units (ADM0_A3) united, clipped to a lon/lat box (degrees:
# lon_min, lat_min, lon_max, lat_max) and stripped of polygon parts smaller than ``min_part_km2``.
REGION_RULES: dict[str, dict] = {
    "lapland": {
        "description": "Finnish and Swedish Lapland",
        "definition": "Finland and Sweden north of 65.0° N (Natural Earth Admin 0 FIN, SWE)",
        "units": ("FIN", "SWE"),
        "clip_lonlat": (10.0, 65.0, 32.0, 71.0),
        "min_part_km2": 0.0,
    },
    "iberia": {
        "description": "Iberian Peninsula (mainland Spain and Portugal)",
        "definition": (
            "mainland Spain and mainland Portugal: the parts of Natural Earth Admin 0 ESP, PRT of at least "
            "10 000 km² (no Balearic or Canary Islands, Azores, Madeira, Ceuta, Melilla, Andorra, Gibraltar)"
        ),
        "units": ("ESP", "PRT"),
        "clip_lonlat": (-10.0, 35.5, 4.5, 44.0),
        "min_part_km2": 10_000.0,
    },
    "netherlands": {
        "description": "The Netherlands (European part)",
        "definition": (
            "the European Netherlands with the Wadden and Zeeland islands (Natural Earth Admin 0 NLD inside "
            "2–8° E, 50–54° N; no Caribbean Netherlands)"
        ),
        "units": ("NLD",),
        "clip_lonlat": (2.0, 50.0, 8.0, 54.0),
        "min_part_km2": 0.0,
    },
}


class RegionFileError(ValueError):
    """A region-polygon file that cannot be used; the message names the file and the field."""


def _to_3035(geom: BaseGeometry) -> BaseGeometry:
    """Project a lon/lat (degrees, EPSG:4326) geometry to EPSG:3035 metres vertex by vertex (pyproj)."""
    return shapely.transform(geom, lambda c: np.column_stack(lonlat_to_xy(c[:, 0], c[:, 1])))


def region_geometry_from_countries(
    countries: Mapping[str, BaseGeometry], rule: Mapping, tolerance_m: float
) -> BaseGeometry:
    """The EPSG:3035 (metres) land polygon of one region rule from lon/lat country geometries.

    ``countries`` maps Natural Earth ``ADM0_A3`` codes to their (Multi)Polygons in degrees. Each unit is
    clipped to ``rule["clip_lonlat"]`` (edges densified to :data:`CLIP_SEGMENT_DEG`), projected, split into
    parts, parts under ``rule["min_part_km2"]`` dropped; the parts are united, simplified with
    ``tolerance_m`` (metres, topology preserved) and rounded to 1 m.
    """
    missing = [u for u in rule["units"] if u not in countries]
    if missing:
        raise KeyError(f"country units {missing} not in the Natural Earth input")
    box = shapely.segmentize(shapely.box(*rule["clip_lonlat"]), CLIP_SEGMENT_DEG)
    parts = []
    for unit in rule["units"]:
        clipped = _to_3035(shapely.intersection(countries[unit], box))
        parts += [p for p in shapely.get_parts(clipped) if p.area >= rule["min_part_km2"] * 1e6]
    united = shapely.union_all(parts)
    return shapely.set_precision(shapely.simplify(united, tolerance_m, preserve_topology=True), 1.0)


def build_region_collection(countries: Mapping[str, BaseGeometry], tolerance_m: float, source: str) -> dict:
    """The GeoJSON FeatureCollection (EPSG:3035, metres) of every region of :data:`REGION_RULES`.

    ``source`` names the Natural Earth release the ``countries`` came from; it is recorded with
    ``tolerance_m`` and each rule, so the file states its own provenance.
    """
    features = []
    for name, rule in REGION_RULES.items():
        geom = region_geometry_from_countries(countries, rule, tolerance_m)
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "name": name,
                    **{k: list(v) if isinstance(v, tuple) else v for k, v in rule.items()},
                    "area_km2": round(geom.area / 1e6, 1),
                },
                "geometry": mapping(geom),
            }
        )
    return {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": CRS_URN}},
        "source": source,
        "license": "Natural Earth: public domain (https://www.naturalearthdata.com/about/terms-of-use/)",
        "simplify_tolerance_m": tolerance_m,
        "features": features,
    }


def parse_region_collection(doc, source: str) -> dict[str, BaseGeometry]:
    """Region name → EPSG:3035 polygon from a region FeatureCollection; :class:`RegionFileError` names
    ``source`` and the field at fault (CRS, missing or empty region, invalid geometry)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise RegionFileError(f"{source}: features: not a GeoJSON FeatureCollection")
    crs = doc.get("crs", {}).get("properties", {}).get("name")
    if crs != CRS_URN:
        raise RegionFileError(f"{source}: crs: {crs!r}, expected {CRS_URN} ({CRS})")
    out = {}
    for k, feature in enumerate(doc["features"]):
        name = feature.get("properties", {}).get("name")
        try:
            geom = shape(feature["geometry"])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise RegionFileError(f"{source}: features[{k}].geometry: not a geometry ({err})") from None
        if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty or not geom.is_valid:
            raise RegionFileError(
                f"{source}: features[{k}].geometry ({name}): not a valid non-empty (Multi)Polygon "
                f"({shapely.is_valid_reason(geom)})"
            )
        out[name] = geom
    missing = [n for n in REGION_RULES if n not in out]
    if missing:
        raise RegionFileError(f"{source}: features: no feature for region(s) {', '.join(missing)}")
    return out


@cache
def packaged_regions() -> dict[str, BaseGeometry]:
    """The packaged region polygons (EPSG:3035), read once per process via ``importlib.resources``."""
    path = resources.files("tccas").joinpath(PACKAGED_FILE)
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise RegionFileError(f"{path}: not valid JSON ({err})") from None
    regions = parse_region_collection(doc, str(path))
    for geom in regions.values():
        shapely.prepare(geom)
    return regions
