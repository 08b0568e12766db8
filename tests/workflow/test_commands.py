"""Every command of README.md and profiles/README.md, run as written from the repository root (issue #29):
the quick ones in full, the workflow ones up to a dry run (``-n``; the finished-run ones, ``--report``, in
test_workflow.py). Each command is first found verbatim in its README, so a changed README fails here until
its test follows."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
PROFILES_README = (REPO / "profiles" / "README.md").read_text()
BIN = Path(sys.executable).parent


def run(command: str, *extra: str, cwd: Path = REPO, timeout: int = 600) -> subprocess.CompletedProcess:
    """``command`` (a README line) split like a shell and run from ``cwd`` with this environment's tools
    (tccas, snakemake, dask) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [*shlex.split(command), *extra],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def documented(command: str, text: str = README) -> str:
    assert command in text, f"{command!r} is no longer in the README: update this test"
    return command


def test_validate_config_of_the_readme():
    proc = run(documented("tccas validate-config config/config.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "config/config.yaml: valid"


@pytest.mark.parametrize(("region", "count"), [("iberia", 80), ("lapland", 43), ("netherlands", 11)])
def test_plan_tiles_of_the_readme(region, count):
    documented("tccas plan-tiles --region iberia --tile-km 100  # 80 land tiles; lapland 43; netherlands 11")
    proc = run(f"tccas plan-tiles --region {region} --tile-km 100")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == f"total: {count} tiles"


def test_plan_tiles_of_the_demo_config():
    proc = run(documented("tccas plan-tiles --config config/config.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "total: 3 tiles"


def test_show_versions():
    proc = run(documented("tccas show-versions"))
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^tccas: \d+\.\d+", proc.stdout, re.M) and "snakemake: 9." in proc.stdout


def test_help_lists_every_subcommand_of_the_rules():
    proc = run(documented("tccas --help"))
    assert proc.returncode == 0, proc.stderr
    rules = "".join(p.read_text() for p in (REPO / "workflow" / "rules").glob("*.smk"))
    used = set(re.findall(r'"tccas ([a-z-]+) ', rules))
    assert used >= {"assimilate-tile", "regrid", "write-tile", "finalize-store", "make-demo-data"}
    listed = set(re.findall(r"^    ([a-z-]+)\s", proc.stdout, re.M))
    assert used <= listed, used - listed


def test_spec_sections_are_found_by_grep():
    proc = run(documented('grep -rn "§3.5" src/tccas'))
    assert proc.returncode == 0 and "photosynthesis" in proc.stdout


def test_quick_look_command_dry_run_in_the_repo_root(jobs):
    """The README's quick look, from the repository root (where config/config.yaml also exists)."""
    command = documented(
        "snakemake --cores 2 --configfile tests/workflow/config.yaml --replace-workflow-config"
    )
    proc = run(command, "-n")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    counts = jobs(out)
    if counts:  # a finished quick look in the root says "Nothing to be done" instead
        assert counts["assimilate_tile"] == 1 and counts["regrid_product"] == 5, counts
    else:
        assert "Nothing to be done" in out


@pytest.mark.parametrize(
    ("command", "extra"),
    [("snakemake -n", ()), ("snakemake --cores 2", ("-n",))],
    ids=["dry-run", "demo-run"],
)
def test_local_commands_of_the_profiles_readme(command, extra, jobs):
    proc = run(documented(command, PROFILES_README), *extra)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    counts = jobs(out)
    assert not counts or counts["assimilate_tile"] == 3, counts


def test_another_configuration_as_in_the_profiles_readme(tmp_path):
    documented("snakemake --cores 8 --configfile my_region.yaml --replace-workflow-config", PROFILES_README)
    mine = tmp_path / "my_region.yaml"
    mine.write_text((REPO / "tests" / "workflow" / "config.yaml").read_text().replace("ci-tiny", "mine"))
    proc = run(f"snakemake --cores 8 --configfile {mine} --replace-workflow-config", "-n")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


def test_slurm_region_config_of_the_profiles_readme(tmp_path):
    """The HPC region configuration of profiles/README.md validates once its data root holds a manifest
    (without one it is refused: item 5 of issue #29) and plans the 11 land tiles it promises."""
    (block,) = [b for b in _yaml_blocks(PROFILES_README) if "netherlands" in b]
    config = yaml.safe_load(block)
    path = tmp_path / "netherlands.yaml"
    path.write_text(yaml.safe_dump(config))
    refused = run(f"tccas validate-config {path}")
    assert refused.returncode == 2 and "data.root" in refused.stderr
    config["data"]["root"] = str(tmp_path / "inputs")
    (tmp_path / "inputs" / "netherlands").mkdir(parents=True)
    (tmp_path / "inputs" / "netherlands" / "manifest.yaml").write_text("products: {}\n")
    path.write_text(yaml.safe_dump(config))
    proc = run(f"tccas plan-tiles --config {path}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "total: 11 tiles"
    documented(
        "snakemake --workflow-profile profiles/slurm --configfile netherlands.yaml --replace-workflow-config",
        PROFILES_README,
    )


def test_slurm_profile_dry_run(tmp_path):
    """`--workflow-profile profiles/slurm` needs snakemake-executor-plugin-slurm (the `slurm` extra)."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    proc = run(
        "snakemake --workflow-profile profiles/slurm --configfile tests/workflow/config.yaml "
        "--replace-workflow-config",
        "-n",
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]


def test_dask_worker_command_of_the_profiles_readme():
    documented("dask worker tcp://host:8786 --nworkers 32 --nthreads 1", PROFILES_README)
    proc = run("dask worker --help")
    assert proc.returncode == 0, proc.stderr
    assert "--nworkers" in proc.stdout and "--nthreads" in proc.stdout


def test_environment_commands_of_the_profiles_readme():
    """`conda env create -f envs/tccas.yaml` and `pip install -e ".[slurm]"`: no conda or network here, so
    check what they install: the conda file lists every dependency of pyproject.toml and the SLURM plugin."""
    documented("conda env create -f envs/tccas.yaml", PROFILES_README)
    documented('pip install -e ".[slurm]"', PROFILES_README)
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(
        d.startswith("snakemake-executor-plugin-slurm") for d in project["optional-dependencies"]["slurm"]
    )
    conda = yaml.safe_load((REPO / "envs" / "tccas.yaml").read_text())["dependencies"]
    names = {re.split(r"[<>=! ]", d)[0].lower() for d in conda if isinstance(d, str)}
    renamed = {"flatbuffers": "python-flatbuffers", "matplotlib": "matplotlib-base"}
    for dep in project["dependencies"]:
        name = re.split(r"[<>=!\[ ]", dep)[0].lower()
        assert renamed.get(name, name) in names, name
    assert "snakemake-executor-plugin-slurm" in names


def test_make_targets_of_the_readme():
    """`make demo` and `make test` as make would run them (`-n`: the full runs are CI's and the demo's)."""
    documented("make demo")
    documented("make test")
    demo = run("make -n demo")
    assert demo.returncode == 0, demo.stderr
    for line in ("tccas validate-config config/config.yaml", "tccas plan-tiles --config config/config.yaml"):
        assert line in demo.stdout
    assert "snakemake --cores 2" in demo.stdout and "--report results/report.html" in demo.stdout
    test = run("make -n test")
    assert test.returncode == 0 and "-m pytest" in test.stdout, test.stderr
