import subprocess
import sys

import pytest
import yaml

from tccas.config import ConfigError, load_config, planned_tiles, validate_config


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
    config = validate_config({"regions": {"netherlands": {}}})
    assert config["assimilation"]["memory"] == 10
    assert config["regions"]["netherlands"]["tile_km"] == 100
    assert config["scenario"]["tree_pft"]["iberia"] == "TmEv"
    assert len(planned_tiles(config, "netherlands")) == 20
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
        ({"period": {"start": "2018-05-01", "end": "2018-01-01"}}, r"period\.end .* before"),
        ({"regions": {"iberia": {"points": [[26.6, 67.3]]}}}, r"outside the iberia box"),
        ({"assimilation": {"posterior": "laplace"}}, r"assimilation\.posterior: 'laplace' is not one of"),
        (
            {"assimilation": {"pixels_per_batch": 25, "solver_slots": 10}},
            r"solver_slots 10 does not divide assimilation\.pixels_per_batch 25",
        ),
    ],
)
def test_bad_configs_are_rejected_with_readable_messages(config, pattern):
    with pytest.raises(ConfigError, match=pattern):
        validate_config(config)


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


@pytest.mark.parametrize(("region", "count"), [("iberia", 156), ("lapland", 64), ("netherlands", 20)])
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
