"""Loading and validating the tccas configuration (ecosystem_aesthetics §1.3).

The JSON Schema (YAML, draft 2020-12) lives in ``workflow/schemas/config.schema.yaml`` (shipped in the package
as ``tccas/data/config.schema.yaml``); Snakemake validates against the same file. Validation fills the
defaults, rejects unknown keys (``additionalProperties: false``) with a did-you-mean hint, and then runs the
cross-field checks JSON Schema cannot express (:func:`check_consistency`).
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tccas.grid import get_region, tile_containing, tiles_for_region
from tccas.grid.tiles import Tile


class ConfigError(ValueError):
    """A configuration that does not validate; the message names the file, the key and the reason."""


def schema() -> dict:
    """The configuration schema as a dict."""
    text = resources.files("tccas").joinpath("data/config.schema.yaml").read_text()
    return yaml.safe_load(text)


def _resolve(node: dict, root: dict) -> dict:
    ref = node.get("$ref")
    if ref is None:
        return node
    target = root
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _fill_defaults(instance: Any, node: dict, root: dict) -> None:
    """Insert schema defaults into ``instance`` in place, recursively (objects only)."""
    node = _resolve(node, root)
    if not isinstance(instance, dict):
        return
    for key, sub in node.get("properties", {}).items():
        sub = _resolve(sub, root)
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if key in instance:
            _fill_defaults(instance[key], sub, root)


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _explain(error: jsonschema.ValidationError) -> str:
    """A readable one-line explanation of a schema error, with a did-you-mean hint for unknown keys."""
    where = _path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        parts = []
        for key in extra:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            parts.append(f"unknown key {key!r}{hint}")
        noun = "region" if where == "regions" else "key"
        text = "; ".join(p.replace("key", noun, 1) for p in parts)
        return f"{where}: {text}; allowed: {', '.join(allowed)}"
    if error.validator == "type":
        return f"{where}: {error.instance!r} has the wrong type, expected {error.validator_value}"
    if error.validator == "enum":
        return f"{where}: {error.instance!r} is not one of {error.validator_value}"
    return f"{where}: {error.message}"


def validate_config(config: dict, source: str = "config") -> dict:
    """Validate ``config`` against the schema, fill defaults, run cross-field checks; return a new dict."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping, got {type(config).__name__}")
    root = schema()
    validator = jsonschema.Draft202012Validator(root)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        raise ConfigError(f"{source}: " + "\n  ".join(_explain(e) for e in errors))
    filled = copy.deepcopy(config)
    _fill_defaults(filled, root, root)
    check_consistency(filled, source)
    return filled


def check_consistency(config: dict, source: str = "config") -> None:
    """Cross-field rules: window order, points inside their region, solver slots dividing the batch."""
    period = config["period"]
    try:
        start = dt.date.fromisoformat(period["start"])
        end = dt.date.fromisoformat(period["end"])
    except ValueError as err:
        raise ConfigError(f"{source}: period: {err}") from None
    if end < start:
        raise ConfigError(f"{source}: period.end {end} is before period.start {start}")
    da = config.get("assimilation", {})
    slots, batch = da.get("solver_slots"), da.get("pixels_per_batch")
    if slots is not None and batch is not None and batch % slots:
        raise ConfigError(
            f"{source}: assimilation.solver_slots {slots} does not divide "
            f"assimilation.pixels_per_batch {batch}"
        )
    for name, region_cfg in config["regions"].items():
        region = get_region(name)
        for lon, lat in region_cfg.get("points", []):
            if not region.contains_lonlat(lon, lat):
                raise ConfigError(
                    f"{source}: regions.{name}.points: ({lon}, {lat}) lies outside the {name} box "
                    f"lon {region.lon_min}..{region.lon_max}, lat {region.lat_min}..{region.lat_max}"
                )


def load_config(path: str | Path) -> dict:
    """Read a YAML config file, validate it and fill defaults."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return validate_config(data if data is not None else {}, source=str(path))


def planned_tiles(config: dict, region: str) -> list[Tile]:
    """The tiles of ``region`` a run processes: those containing the configured points, or all of them."""
    region_cfg = config["regions"][region]
    tile_km = region_cfg["tile_km"]
    points = region_cfg.get("points", [])
    if not points:
        return tiles_for_region(region, tile_km, config["grid"]["resolution_m"])
    tiles = {}
    for lon, lat in points:
        tile = tile_containing(lon, lat, tile_km, config["grid"]["resolution_m"])
        tiles[tile.name] = tile
    return list(tiles.values())
