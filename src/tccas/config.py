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
import hashlib
import json
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tccas.grid import get_region, tile_containing, tiles_for_region
from tccas.grid.tiles import Tile


class ConfigError(ValueError):
    """A configuration that does not validate; the message names the file, the key and the reason."""


# Config sections that say how the work is spread, never what it computes (results are invariant to the
# Dask worker count, tests/workflow): left out of :func:`settings_digest` by default.
MACHINERY_SECTIONS = ("dask",)


def schema(name: str = "config") -> dict:
    """A configuration schema as a dict: ``"config"`` (the regional workflow) or ``"sites"`` (site mode)."""
    text = resources.files("tccas").joinpath(f"data/{name}.schema.yaml").read_text()
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
    if error.validator == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        return f"{where}: required key {', '.join(map(repr, missing))} missing"
    return f"{where}: {error.message}"


def validate_config(config: dict, source: str = "config") -> dict:
    """Validate ``config`` against the schema, fill defaults, run cross-field checks; return a new dict."""
    filled = validate_against(config, schema(), source)
    check_consistency(filled, source)
    return filled


def validate_against(config: dict, root: dict, source: str = "config") -> dict:
    """Validate ``config`` against the schema ``root`` (one readable line per error) and return a copy with
    the schema's defaults filled in."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source}: the configuration must be a mapping, got {type(config).__name__}")
    validator = jsonschema.Draft202012Validator(root)
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(e.absolute_path), e.message))
    if errors:
        raise ConfigError(f"{source}: " + "\n  ".join(_explain(e) for e in errors))
    return fill_defaults(config, root)


def fill_defaults(config: dict, root: dict) -> dict:
    """A copy of ``config`` with the defaults of the schema ``root`` inserted (objects, recursively)."""
    filled = copy.deepcopy(config)
    _fill_defaults(filled, root, root)
    return filled


def _date(period: Mapping[str, Any], key: str, source: str) -> dt.date:
    try:
        return dt.date.fromisoformat(period[key])
    except ValueError as err:
        raise ConfigError(f"{source}: period.{key}: {period[key]!r} is not a date ({err})") from None


def check_consistency(config: dict, source: str = "config") -> None:
    """Cross-field rules: window order, points inside their region's land polygon (docs/regions.md) or an
    explicit ``whole_region``, solver slots dividing the batch, a ``files`` data root holding each region's
    manifest."""
    period = config["period"]
    start, end = _date(period, "start", source), _date(period, "end", source)
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
        points = region_cfg.get("points", [])
        for lon, lat in points:
            if not region.contains_lonlat(lon, lat):
                raise ConfigError(
                    f"{source}: regions.{name}.points: ({lon}, {lat}) lies outside the {name} region: "
                    f"{region.definition} (docs/regions.md)"
                )
        whole = bool(region_cfg.get("whole_region", False))
        if points and whole:
            raise ConfigError(
                f"{source}: regions.{name}: points and whole_region: true exclude each other (points: only "
                "the tiles containing them; whole_region: every tile of the region)"
            )
        if not points and not whole:
            km = region_cfg.get("tile_km", 100)
            n_tiles = len(tiles_for_region(name, km, config["grid"]["resolution_m"]))
            raise ConfigError(
                f"{source}: regions.{name}: no points; list [lon, lat] points, or set "
                f"regions.{name}.whole_region: true to process every tile of the region "
                f"({n_tiles} tiles of {km} km)"
            )
    data = config.get("data", {})
    if data.get("source") == "files":
        root = Path(data["root"])
        if not root.is_dir():
            raise ConfigError(f"{source}: data.root: {root} does not exist (data.source is files)")
        for name in config["regions"]:
            manifest = root / name / "manifest.yaml"
            if not manifest.is_file():
                raise ConfigError(
                    f"{source}: data.root: {manifest} not found (data.source files needs a manifest "
                    "per region listing its product files)"
                )


def read_config_file(path: str | Path) -> dict:
    """The mapping in a YAML config file, unvalidated; a missing, empty or malformed file raises
    :class:`ConfigError` naming the file (and the line and column of a YAML error)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read ({err})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        context = getattr(err, "context", None)
        detail = f" ({context})" if context else ""
        raise ConfigError(f"{where}: not valid YAML: {problem}{detail}") from None
    if data is None:
        raise ConfigError(
            f"{path}: the file is empty; a configuration needs at least `regions` (see config/config.yaml)"
        )
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping, got {type(data).__name__}")
    return data


def load_config(path: str | Path) -> dict:
    """Read a YAML config file, validate it and fill defaults."""
    return validate_config(read_config_file(path), source=str(path))


def planned_tiles(config: dict, region: str) -> list[Tile]:
    """The tiles of ``region`` a run processes: those containing the configured points, or every tile holding
    a cell of the region's land polygon (``whole_region: true``; :func:`tccas.grid.tiles_for_region`)."""
    region_cfg = config["regions"][region]
    tile_km = region_cfg["tile_km"]
    points = region_cfg.get("points", [])
    if region_cfg.get("whole_region", False):
        return tiles_for_region(region, tile_km, config["grid"]["resolution_m"])
    if not points:
        raise ConfigError(f"regions.{region}: no points and no whole_region: true (see check_consistency)")
    tiles = {}
    for lon, lat in points:
        tile = tile_containing(lon, lat, tile_km, config["grid"]["resolution_m"])
        tiles[tile.name] = tile
    return list(tiles.values())


def settings_digest(config: Mapping[str, Any], keys: Sequence[str] | None = None) -> str:
    """SHA-256 (hex) of the values of a validated ``config`` at the dotted ``keys`` (e.g. ``"assimilation"``,
    ``"outputs.time_step"``, ``"regions.iberia"``); ``None``: every section but :data:`MACHINERY_SECTIONS`.

    The workflow passes it as a Snakemake ``param`` of each rule, built from the sections the rule reads, so
    an edit of those settings reruns the rule (Snakemake's ``params`` rerun trigger); the region stores
    record the default digest as ``config_sha256``. A key missing from ``config`` digests as ``null``.
    """
    if keys is None:
        keys = sorted(k for k in config if k not in MACHINERY_SECTIONS)
    picked = {}
    for key in keys:
        node: Any = config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        picked[key] = node
    return hashlib.sha256(json.dumps(picked, sort_keys=True, default=str).encode()).hexdigest()
