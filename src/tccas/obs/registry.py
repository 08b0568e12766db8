"""The observation-stream registry: the ONE place that lists the streams (issue #24).

A stream is a module of :mod:`tccas.obs` declaring

- ``NAME`` (the stream key used by the config, the cost, the control names and the outputs), ``KIND``
  (``"eo"``: satellite products of the regional workflow; ``"tower"``: daily flux-tower data of site mode),
  ``UNITS``, ``LONG_NAME`` and ``DEFAULT_ENABLED`` (the schema's ``streams.<NAME>.enabled`` default);
- ``ERROR_MODEL`` (:class:`~tccas.obs.common.StreamErrorModel`, the default model-error term and floor) and
  ``CONFIG_ERROR_KEYS`` (config key of ``streams.<NAME>`` → error-model field it overrides);
- ``VALID_RANGE`` (QC range of a value, obs_da_spec §1.5);
- ``PARAMETERS``: its operator controls as ``tccas.model.ParamSpec`` records, named ``<NAME>_...``;
- optionally ``INDEPENDENT_EVERY_DAYS`` (daily site series only, default 1): a daily series interpolated
  from a coarser product keeps one day in that many when the site loader builds the stream;
- ``model_equivalent(...)`` (the operator on plain arrays) and the uniform entry point
  ``equivalent(out, op, problem, settings, t_hour)`` → ``(n_obs,)`` model equivalents of ONE pixel from
  its ``tccas.model.PixelOutput``, operator-control dict, ``tccas.da.PixelProblem`` and
  ``tccas.da.AssimilationSettings``.

Adding a stream = one such module, its entry in :data:`REGISTRY` and its ``streams.<NAME>`` entry in the
config schema; the cost, the control vector, the settings and the pipeline loop over :data:`STREAMS`.
The order of :data:`REGISTRY` fixes the order of the control vector's operator block, of the residual
vector and of the per-stream outputs: the four EO streams first, in their historical order.
"""

from __future__ import annotations

from types import ModuleType

from tccas import model
from tccas.obs import fapar, gpp, lai, latent_heat, nee, sensible_heat, sif, soil_moisture, vod
from tccas.obs.common import StreamErrorModel

#: Registered stream modules, in the fixed order of the control vector, the cost and the outputs.
REGISTRY: tuple[ModuleType, ...] = (fapar, sif, vod, soil_moisture, nee, latent_heat, sensible_heat, gpp, lai)

#: Attributes every stream module must declare (module docstring).
REQUIRED_ATTRIBUTES = (
    "NAME",
    "KIND",
    "UNITS",
    "LONG_NAME",
    "DEFAULT_ENABLED",
    "ERROR_MODEL",
    "CONFIG_ERROR_KEYS",
    "VALID_RANGE",
    "PARAMETERS",
    "model_equivalent",
    "equivalent",
)
KINDS = ("eo", "tower")


def check_stream_module(mod: ModuleType) -> None:
    """Raise ``TypeError`` naming the module and the attribute if ``mod`` is not a valid stream module."""
    where = mod.__name__
    missing = [a for a in REQUIRED_ATTRIBUTES if not hasattr(mod, a)]
    if missing:
        raise TypeError(f"stream module {where}: missing {missing}")
    if not isinstance(mod.NAME, str) or not mod.NAME.isidentifier():
        raise TypeError(f"stream module {where}: NAME must be an identifier string, got {mod.NAME!r}")
    if mod.KIND not in KINDS:
        raise TypeError(f"stream module {where}: KIND must be one of {KINDS}, got {mod.KIND!r}")
    if not isinstance(mod.ERROR_MODEL, StreamErrorModel):
        raise TypeError(f"stream module {where}: ERROR_MODEL must be a StreamErrorModel")
    bad = [f for f in mod.CONFIG_ERROR_KEYS.values() if f not in StreamErrorModel._fields]
    if bad:
        raise TypeError(f"stream module {where}: CONFIG_ERROR_KEYS map to unknown error-model fields {bad}")
    for p in mod.PARAMETERS:
        if not isinstance(p, model.ParamSpec) or not p.name.startswith(f"{mod.NAME}_"):
            raise TypeError(
                f"stream module {where}: operator control {p!r} must be a ParamSpec '{mod.NAME}_…'"
            )
    if not (callable(mod.equivalent) and callable(mod.model_equivalent)):
        raise TypeError(f"stream module {where}: equivalent and model_equivalent must be functions")


def _check_registry(modules) -> tuple[str, ...]:
    for mod in modules:
        check_stream_module(mod)
    names = tuple(m.NAME for m in modules)
    if len(set(names)) != len(names):
        raise TypeError(f"stream registry: duplicate stream names in {names}")
    params = [p.name for m in modules for p in m.PARAMETERS]
    if len(set(params)) != len(params):
        raise TypeError(f"stream registry: duplicate operator controls in {params}")
    return names


#: Stream keys in registry order (the one definition; ``tccas.obs.STREAMS`` is this tuple).
STREAMS: tuple[str, ...] = _check_registry(REGISTRY)
#: Stream key → module.
BY_NAME: dict[str, ModuleType] = dict(zip(STREAMS, REGISTRY, strict=True))
#: Satellite (regional) and flux-tower (site) streams, each in registry order.
EO_STREAMS: tuple[str, ...] = tuple(m.NAME for m in REGISTRY if m.KIND == "eo")
TOWER_STREAMS: tuple[str, ...] = tuple(m.NAME for m in REGISTRY if m.KIND == "tower")
#: Streams enabled when neither the settings nor the config say otherwise (the four EO streams).
DEFAULT_STREAMS: tuple[str, ...] = tuple(m.NAME for m in REGISTRY if m.DEFAULT_ENABLED)
#: Operator controls of all streams, in registry order, and the stream each belongs to.
OPERATOR_PARAMETERS: tuple[model.ParamSpec, ...] = tuple(p for m in REGISTRY for p in m.PARAMETERS)
PARAMETER_STREAM: dict[str, str] = {p.name: m.NAME for m in REGISTRY for p in m.PARAMETERS}


def stream_module(name: str) -> ModuleType:
    """The module of stream ``name``; ``ValueError`` naming the registered streams if unknown."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown observation stream {name!r}; registered streams: {STREAMS}") from None


def check_stream_names(names, where: str) -> None:
    """``ValueError`` naming ``where`` and the offenders if any of ``names`` is not a registered stream."""
    unknown = [s for s in names if s not in BY_NAME]
    if unknown:
        raise ValueError(f"{where}: unknown stream(s) {unknown}; registered streams: {STREAMS}")


def error_model_from_config(name: str, section: dict) -> StreamErrorModel:
    """Error model of stream ``name`` from its config section ``streams.<name>``: the module's default
    ``ERROR_MODEL`` with the fields named by ``CONFIG_ERROR_KEYS`` overridden where the section has them."""
    mod = stream_module(name)
    overrides = {field: float(section[key]) for key, field in mod.CONFIG_ERROR_KEYS.items() if key in section}
    return mod.ERROR_MODEL._replace(**overrides)
