"""The site-mode configuration (``workflow/schemas/sites.schema.yaml``): loading, validation, settings.

Validated like the regional config (:func:`tccas.config.validate_against`: defaults filled, unknown keys
refused with a did-you-mean hint), plus the cross-field rules JSON Schema cannot express: known site ids
and PFT names, cover fractions summing to at most 1, dates in order.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml

from tccas import model
from tccas.config import ConfigError, fill_defaults, schema, validate_against
from tccas.da import AssimilationSettings
from tccas.da.controls import DEFAULT_ACTIVE
from tccas.io.flux import known_sites


def validate_sites_config(config: dict, source: str = "sites config") -> dict:
    """Validate a site config, fill its defaults and check its cross-field rules; return a new dict."""
    filled = validate_against(config, schema("sites"), source)
    known = known_sites()
    for site_id, entry in filled["sites"].items():
        where = f"{source}: sites.{site_id}"
        if site_id not in known:
            raise ConfigError(f"{where}: unknown site; the site table knows {', '.join(sorted(known))}")
        pfts = entry.get("pfts")
        if pfts:
            for name, _ in pfts:
                if name not in model.PFT_NAMES:
                    raise ConfigError(
                        f"{where}.pfts: unknown PFT {name!r}; known {', '.join(model.PFT_NAMES)}"
                    )
            if sum(f for _, f in pfts) > 1.0 + 1e-9:
                raise ConfigError(f"{where}.pfts: cover fractions sum to more than 1")
        for key in ("start", "end"):
            if key in entry:
                try:
                    dt.date.fromisoformat(entry[key])
                except ValueError as err:
                    raise ConfigError(f"{where}.{key}: {entry[key]!r} is not a date ({err})") from None
        if "start" in entry and "end" in entry and entry["end"] < entry["start"]:
            raise ConfigError(f"{where}: end {entry['end']} is before start {entry['start']}")
    return filled


def load_sites_config(path) -> dict:
    """Read, validate and fill a site config file (:func:`validate_sites_config`)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    if data is None:
        raise ConfigError(f"{path}: the file is empty; a site config needs at least 'sites'")
    return validate_sites_config(data, source=str(path))


#: Default controls of a site assimilation: those of a regional one (:data:`tccas.da.controls.DEFAULT_ACTIVE`)
#: and the departures η_woo, η_som of the wood and soil pools from the spun-up steady state
#: (:func:`tccas.model.core.relax_steady_state`, Carvalhais et al. 2008): five years of tower NEE show a
#: stand's sink or source, which the steady-state initial pools (the c_woo0, c_lit0, c_som0 controls are
#: replaced by the spin-up) cannot represent.
SITE_DEFAULT_CONTROLS: tuple[str, ...] = (*DEFAULT_ACTIVE, "eta_woo", "eta_som")


def site_settings(config: dict) -> AssimilationSettings:
    """:class:`tccas.da.AssimilationSettings` of a validated site config: the tower streams, the solver
    settings, the model switches with the spin-up of ``spinup`` (cycles, steady state), and the active
    controls (default :data:`SITE_DEFAULT_CONTROLS`; the layout drops the operator parameters of the
    streams not enabled, ``tccas.da.controls.build_layout``)."""
    a = config["assimilation"]
    options = model.ModelOptions.from_config(
        {
            **config.get("model", {}),
            "spinup_cycles": int(config["spinup"]["cycles"]),
            "steady_state_spinup": bool(config["spinup"]["steady_state"]),
        }
    )
    return AssimilationSettings(
        max_iter=int(a["max_iter"]),
        tol_pg=float(a["tol_pg"]),
        streams=tuple(config["streams"]),
        model_options=options,
        controls=SITE_DEFAULT_CONTROLS if a.get("controls") is None else tuple(a["controls"]),
    )


def settings(
    *,
    streams=None,
    max_iter: int | None = None,
    spinup_cycles: int | None = None,
    steady_state: bool | None = None,
    controls=None,
    model_options: dict | None = None,
) -> AssimilationSettings:
    """:func:`site_settings` from keyword arguments for use from Python; every argument left out takes the
    site schema's default (``streams`` [nee, le, h], 20 iterations, 3 spin-up passes with the steady
    state)."""
    cfg: dict = {"model": dict(model_options or {}), "spinup": {}, "assimilation": {}}
    if streams is not None:
        cfg["streams"] = list(streams)
    if max_iter is not None:
        cfg["assimilation"]["max_iter"] = int(max_iter)
    if controls is not None:
        cfg["assimilation"]["controls"] = list(controls)
    if spinup_cycles is not None:
        cfg["spinup"]["cycles"] = int(spinup_cycles)
    if steady_state is not None:
        cfg["spinup"]["steady_state"] = bool(steady_state)
    return site_settings(fill_defaults(cfg, schema("sites")))
