"""The observation-stream registry (issue #24): one definition of the streams, complete stream modules, the
config schema in step with the modules, unknown streams refused."""

import re
import types
from pathlib import Path

import pytest

import tccas
from tccas import obs
from tccas.config import ConfigError, schema, validate_config
from tccas.da import AssimilationSettings, controls
from tccas.obs import common, registry
from tccas.pipeline import problem as pipeline_problem

#: Options of a stream section that are not error-model terms (read by the settings or the pipeline).
STREAM_OPTIONS = {"enabled", "overpass_hour_local", "pass"}


def config(streams: dict | None = None) -> dict:
    """A validated one-point regional config with the given ``streams`` section."""
    raw = {"regions": {"lapland": {"tile_km": 1, "points": [[26.64, 67.36]]}}}
    return validate_config({**raw, "streams": streams or {}})


def test_streams_defined_once_in_registry_order():
    assert obs.STREAMS is registry.STREAMS is pipeline_problem.STREAMS
    assert obs.STREAMS == ("fapar", "sif", "vod", "sm", "nee", "le", "h", "gpp", "lai")
    assert obs.EO_STREAMS == obs.DEFAULT_STREAMS == ("fapar", "sif", "vod", "sm")
    assert obs.TOWER_STREAMS == ("nee", "le", "h", "gpp", "lai")
    assert [registry.BY_NAME[s].NAME for s in obs.STREAMS] == list(obs.STREAMS)
    # no other module of the package spells out its own stream tuple
    root = Path(tccas.__file__).parent
    owners = [
        p.relative_to(root).as_posix()
        for p in root.rglob("*.py")
        if re.search(r"^(EO_|TOWER_|DEFAULT_)?STREAMS\s*(:[^=]*)?=", p.read_text(), re.MULTILINE)
    ]
    assert owners == ["obs/registry.py"]


@pytest.mark.parametrize("name", registry.STREAMS)
def test_every_stream_module_is_complete(name):
    mod = registry.stream_module(name)
    registry.check_stream_module(mod)  # raises on a missing or malformed attribute
    for attr in registry.REQUIRED_ATTRIBUTES:
        assert hasattr(mod, attr), attr
    assert mod.NAME == name and mod.KIND in registry.KINDS and mod.UNITS and mod.LONG_NAME
    assert isinstance(mod.ERROR_MODEL, common.StreamErrorModel)
    assert mod.VALID_RANGE[0] < mod.VALID_RANGE[1]
    assert mod.DEFAULT_ENABLED == (mod.KIND == "eo")
    assert all(p.name.startswith(f"{name}_") for p in mod.PARAMETERS)
    assert mod.__doc__ and ("obs_da_spec" in mod.__doc__ or "et al." in mod.__doc__)


def test_a_broken_stream_module_is_refused():
    fake = types.ModuleType("tccas.obs.fake")
    for attr in registry.REQUIRED_ATTRIBUTES:
        setattr(fake, attr, getattr(obs.nee, attr))
    fake.NAME = "fake"
    registry.check_stream_module(fake)
    del fake.UNITS
    with pytest.raises(TypeError, match=r"tccas.obs.fake: missing \['UNITS'\]"):
        registry.check_stream_module(fake)
    fake.UNITS, fake.KIND = "1", "radar"
    with pytest.raises(TypeError, match="KIND"):
        registry.check_stream_module(fake)
    fake.KIND, fake.PARAMETERS = "tower", obs.sif.PARAMETERS
    with pytest.raises(TypeError, match="fake_"):
        registry.check_stream_module(fake)
    fake.PARAMETERS, fake.CONFIG_ERROR_KEYS = (), {"sigma": "sigma_modl"}
    with pytest.raises(TypeError, match="sigma_modl"):
        registry.check_stream_module(fake)


def test_operator_controls_collected_from_the_stream_modules_in_historical_order():
    assert controls.OPERATOR_NAMES == (
        "fapar_zeta",
        "fapar_rg",
        "sif_scale",
        "sif_q_l",
        "vod_l_wd",
        "vod_l_fol",
        "vod_l_s",
        "vod_l_f",
        "sm_b0",
        "sm_b1",
    )
    assert controls.spec("sif_q_l") is obs.sif.PARAMETERS[1]
    assert controls.stream_of("sm_b0") == "sm" and controls.stream_of("vcmax25") is None
    assert all(controls.stream_of(p.name) == s for s in obs.STREAMS for p in registry.BY_NAME[s].PARAMETERS)


def test_schema_has_one_entry_per_stream_matching_the_module_defaults():
    sections = schema()["properties"]["streams"]["properties"]
    assert tuple(sections) == registry.STREAMS
    for name, section in sections.items():
        mod = registry.stream_module(name)
        props = section["properties"]
        assert props["enabled"]["default"] is mod.DEFAULT_ENABLED, name
        assert set(props) - STREAM_OPTIONS == set(mod.CONFIG_ERROR_KEYS), name
        for key, field in mod.CONFIG_ERROR_KEYS.items():
            assert props[key]["default"] == getattr(mod.ERROR_MODEL, field), (name, key)
    # the schema defaults reproduce every module's default error model
    defaults = AssimilationSettings.from_config(config())
    for name in registry.STREAMS:
        assert defaults.error_model(name) == registry.stream_module(name).ERROR_MODEL, name
    assert defaults.streams == registry.DEFAULT_STREAMS


def test_unknown_stream_in_config_is_refused():
    with pytest.raises(ConfigError, match=r"streams: unknown key 'co2'"):
        config({"co2": {"enabled": True}})
    with pytest.raises(ValueError, match=r"config streams: unknown stream\(s\) \['co2'\]"):
        AssimilationSettings.from_config({"streams": {"co2": {"enabled": True}}})
    with pytest.raises(ValueError, match="registered streams"):
        AssimilationSettings(streams=("nee", "fluxes"))
    with pytest.raises(ValueError, match="unknown observation stream 'ch4'"):
        registry.stream_module("ch4")


def test_tower_streams_from_config():
    cfg = config(
        {
            "fapar": {"enabled": False},
            "nee": {"enabled": True, "sigma_model_abs": 0.7},
            "le": {"enabled": True, "sigma_model_rel": 0.5},
            "h": {"enabled": True, "sigma_floor": 8.0},
        }
    )
    s = AssimilationSettings.from_config(cfg)
    assert s.streams == ("sif", "vod", "sm", "nee", "le", "h")
    assert s.error_model("nee") == common.StreamErrorModel(0.7, 0.2, 0.2)
    assert s.error_model("le") == common.StreamErrorModel(10.0, 0.5, 5.0)
    assert s.error_model("h") == common.StreamErrorModel(15.0, 0.3, 8.0)
    assert s.error_model("gpp") == obs.gpp.ERROR_MODEL
    assert registry.error_model_from_config("fapar", {"sigma_model": 0.1}) == common.StreamErrorModel(
        0.1, 0.0, 0.02
    )
