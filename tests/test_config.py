import subprocess
import sys

import pytest
import yaml

from tccas.config import (
    ConfigError,
    load_config,
    planned_tiles,
    read_config_file,
    settings_digest,
    validate_config,
)

NL = {"regions": {"netherlands": {"tile_km": 1, "points": [[5.74, 52.17]]}}}


def test_demo_config_validates_and_plans_one_tile_per_region(repo_root):
    config = load_config(repo_root / "config" / "config.yaml")
    assert set(config["regions"]) == {"lapland", "iberia", "netherlands"}
    names = {r: [t.name for t in planned_tiles(config, r)] for r in config["regions"]}
    assert names == {
        "lapland": ["1kmE5034N5002"],
        "iberia": ["1kmE2976N2012"],
        "netherlands": ["1kmE4029N3237"],
    }


def test_defaults_are_filled():
    config = validate_config({"regions": {"netherlands": {"whole_region": True}}})
    assert config["assimilation"]["memory"] == 10
    assert config["regions"]["netherlands"]["tile_km"] == 100
    assert config["scenario"]["tree_pft"]["iberia"] == "TmEv"
    assert len(planned_tiles(config, "netherlands")) == 11  # the 100 km tiles holding Dutch land
    assert set(config["regions"]) == {"netherlands"}  # regions not configured are not added


@pytest.mark.parametrize(
    ("config", "pattern"),
    [
        (
            {"regions": {"lapland": {"tile_kmm": 1}}},
            r"regions\.lapland: unknown key 'tile_kmm' \(did you mean 'tile_km'\?\)",
        ),
        (
            {"assimilation": {"max_iter": "ten"}},
            r"assimilation\.max_iter: 'ten' has the wrong type, expected integer",
        ),
        ({"regions": {"lapand": {}}}, r"regions: unknown region 'lapand' \(did you mean 'lapland'\?\)"),
        ({**NL, "period": {"start": "2018-05-01", "end": "2018-01-01"}}, r"period\.end .* before"),
        (
            {"regions": {"iberia": {"points": [[26.6, 67.3]]}}},
            r"\(26\.6, 67\.3\) lies outside the iberia region: mainland Spain and mainland Portugal",
        ),
        (
            {**NL, "assimilation": {"posterior": "laplace"}},
            r"assimilation\.posterior: 'laplace' is not one of",
        ),
        (
            {**NL, "assimilation": {"pixels_per_batch": 25, "solver_slots": 10}},
            r"solver_slots 10 does not divide assimilation\.pixels_per_batch 25",
        ),
        ({"run_id": "x"}, r"<top level>: required key 'regions' missing"),
        (
            {"regions": {"netherlands": {"tile_km": 1, "points": []}}},
            r"regions\.netherlands: no points; .*\.whole_region: true .* \(38131 tiles of 1 km\)",
        ),
        (
            {"regions": {"netherlands": {"points": [[5.74, 52.17]], "whole_region": True}}},
            r"regions\.netherlands: points and whole_region: true exclude each other",
        ),
        ({**NL, "period": {"start": "2018-02-30"}}, r"period\.start: '2018-02-30' is not a date"),
        ({**NL, "period": {"end": "2018-13-01"}}, r"period\.end: '2018-13-01' is not a date"),
    ],
)
def test_bad_configs_are_rejected_with_readable_messages(config, pattern):
    with pytest.raises(ConfigError, match=pattern):
        validate_config(config)


def test_files_source_needs_an_existing_root_with_manifests(tmp_path):
    config = {**NL, "data": {"source": "files", "root": str(tmp_path / "nope")}}
    with pytest.raises(ConfigError, match=r"data\.root: .*nope does not exist \(data\.source is files\)"):
        validate_config(config)
    config["data"]["root"] = str(tmp_path)
    with pytest.raises(ConfigError, match=r"data\.root: .*netherlands/manifest\.yaml not found"):
        validate_config(config)
    (tmp_path / "netherlands").mkdir()
    (tmp_path / "netherlands" / "manifest.yaml").write_text("products: {}\n")
    assert validate_config(config)["data"]["source"] == "files"


def test_whole_region_plans_every_tile_with_land():
    config = validate_config({"regions": {"netherlands": {"tile_km": 100, "whole_region": True}}})
    assert len(planned_tiles(config, "netherlands")) == 11


def test_points_at_sea_or_abroad_are_rejected():
    for lon, lat in [(4.0, 52.5), (4.40, 51.22)]:  # North Sea; Antwerp
        with pytest.raises(ConfigError, match=rf"\({lon}, {lat}\) lies outside the netherlands region"):
            validate_config({"regions": {"netherlands": {"tile_km": 1, "points": [[lon, lat]]}}})


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("", r"empty\.yaml: the file is empty; a configuration needs at least `regions`"),
        ("# only a comment\n", r"empty\.yaml: the file is empty"),
        (
            "regions:\n  netherlands: {tile_km: 1\n  points: [[5.7, 52.1]]\n",
            r"empty\.yaml:3:9: not valid YAML: expected ',' or '\}', but got ':'",
        ),
        ("- 1\n- 2\n", r"empty\.yaml: the configuration must be a mapping, got list"),
    ],
)
def test_unreadable_files_name_the_file_and_line(tmp_path, text, pattern):
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        read_config_file(path)
    with pytest.raises(ConfigError, match=pattern):
        load_config(path)


def test_settings_digest_follows_only_its_keys():
    config = validate_config({"regions": {"netherlands": {"points": [[5.74, 52.17]]}}})
    edited = validate_config(
        {"regions": {"netherlands": {"points": [[5.74, 52.17]]}}, "assimilation": {"max_iter": 7}}
    )
    machinery = validate_config(
        {"regions": {"netherlands": {"points": [[5.74, 52.17]]}}, "dask": {"n_workers": 7}}
    )
    keys = ["period", "assimilation"]
    assert settings_digest(config, keys) != settings_digest(edited, keys)
    assert settings_digest(config, ["grid", "regions.netherlands"]) == settings_digest(
        edited, ["grid", "regions.netherlands"]
    )
    assert settings_digest(config) != settings_digest(edited)
    assert settings_digest(config) == settings_digest(machinery)  # dask never changes a result
    moved = validate_config({"regions": {"netherlands": {"points": [[5.8, 52.2]]}}})
    assert settings_digest(config, ["regions.netherlands"]) != settings_digest(moved, ["regions.netherlands"])


def test_cli_validate_config_exit_codes(tmp_path, repo_root):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"regions": {"lapland": {"tile_kmm": 1}}}))
    run = subprocess.run(
        [sys.executable, "-m", "tccas", "validate-config", str(bad)], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert "tile_kmm" in run.stderr and "bad.yaml" in run.stderr
    good = subprocess.run(
        [sys.executable, "-m", "tccas", "validate-config", str(repo_root / "config" / "config.yaml")],
        capture_output=True,
        text=True,
    )
    assert good.returncode == 0, good.stderr


@pytest.mark.parametrize(("region", "count"), [("iberia", 80), ("lapland", 43), ("netherlands", 11)])
def test_cli_plan_tiles_counts(region, count):
    run = subprocess.run(
        [sys.executable, "-m", "tccas", "plan-tiles", "--region", region, "--tile-km", "100"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == f"total: {count} tiles"


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
