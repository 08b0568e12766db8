"""Site mode end to end on real data: `workflow/sites.smk` (every `tccas site` stage as its own job) for
FR-Pue, 2001 calibrating and 2002 withheld, and the CLI's errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from tccas.io.callmip import read_callmip
from tccas.io.site_store import read_fit

REPO = Path(__file__).resolve().parents[2]


def _env():
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _config(tmp_path, real_data_dir) -> Path:
    cfg = {
        "run_id": "ci",
        "data_root": str(real_data_dir),
        "output_dir": str(tmp_path / "sites"),
        "sites": {
            "FR-Pue": {
                "drivers": "differland/FR-Pue.nc",
                "fluxes": ["callmip/FR-Pue_daily_aggregated_2000-2014_FLUXNET2015_Flux.nc"],
                "end": "2002-12-31",
            }
        },
        "split": {"calibration_years": 1},
        "spinup": {"years": 1, "cycles": 2, "steady_state": True},
        "assimilation": {"max_iter": 4},
    }
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow
@pytest.mark.workflow
def test_site_workflow_fr_pue(tmp_path, real_data_dir):
    config = _config(tmp_path, real_data_dir)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow/sites.smk"), "--cores", "2"]
    cmd += ["--configfile", str(config), "--directory", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=1800)
    logs = "\n".join(p.read_text() for p in sorted((tmp_path / "logs").rglob("*.log")))
    assert proc.returncode == 0, proc.stderr[-4000:] + logs[-4000:]
    out = tmp_path / "sites" / "FR-Pue"
    fit = read_fit(out / "fit.nc")
    assert fit["cost_post"] < fit["cost_prior"] and fit["calibration"] == ("2001-01-01", "2001-12-31")
    post = xr.open_dataset(out / "posterior.nc")
    assert post.sizes["time"] == 730 and float(post["nee_sigma"].min()) >= 0
    skill = pd.read_csv(out / "skill.csv")
    assert set(skill["period"]) == {"calibration", "validation"} and set(skill["run"]) == {
        "prior",
        "posterior",
    }
    daily = skill[skill.scale == "daily"]
    assert {"gpp", "nee", "et", "le"} <= set(daily.variable)
    nee = daily[daily.variable == "nee"]
    assert (nee["n"] > 50).all() and np.isfinite(nee[["nse", "r", "rmse", "bias"]].values).all()
    names = sorted(p.name for p in (out / "callmip").glob("*.nc"))
    assert len(names) == 4 and all(n.startswith("tccas.v0-1-0_Phase1b_Scen1_FR-Pue_") for n in names)
    cm = read_callmip(out / "callmip" / "tccas.v0-1-0_Phase1b_Scen1_FR-Pue_Val_Posterior.nc")
    assert {"nep", "gpp", "hfls", "hfss", "lai", "nep_post_unc"} <= set(cm.data_vars)
    assert (out / "figures" / "FR-Pue.png").stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert "FR-Pue" in report and "vcmax25" in report
    spin = xr.open_dataset(out / "spinup.nc")
    assert spin.sizes["cycle"] == 2 and np.isfinite(spin["drift_som"].values).all()
    # a second run has nothing to do
    again = subprocess.run([*cmd, "-n"], capture_output=True, text=True, env=_env(), timeout=600)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_site_cli_errors(tmp_path, real_data_dir):
    config = _config(tmp_path, real_data_dir)
    base = [sys.executable, "-m", "tccas", "site", "prior", "--config"]
    proc = subprocess.run([*base, str(config), "--site", "NL-Loo", "--out", str(tmp_path / "x.nc")],
                          capture_output=True, text=True, env=_env(), timeout=300)  # fmt: skip
    assert proc.returncode == 2 and "'NL-Loo' is not configured" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites:\n  FR-Pue: {drivers: a.nc, fluxs: []}\n")
    proc = subprocess.run([*base, str(bad), "--site", "FR-Pue", "--out", str(tmp_path / "x.nc")],
                          capture_output=True, text=True, env=_env(), timeout=300)  # fmt: skip
    assert proc.returncode == 2 and "did you mean 'fluxes'" in proc.stderr
    assert not (tmp_path / "x.nc").exists()


def test_sites_workflow_dry_run_of_the_readme(real_data_dir):
    """`snakemake -s workflow/sites.smk --cores 2` of the README, as a dry run from the repository root."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", "workflow/sites.smk", "--cores", "2", "-n"],
        cwd=REPO, capture_output=True, text=True, env=_env(), timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "site_assimilate" in proc.stdout and "US-Var" in proc.stdout


def test_site_stage_help_of_the_readme():
    """`tccas site {spinup,prior,assimilate,posterior,validate,report} --help` of the README."""
    assert (
        "`tccas site {spinup,prior,assimilate,posterior,validate,report} --help`"
        in (REPO / "README.md").read_text()
    )
    for stage in ("spinup", "prior", "assimilate", "posterior", "validate", "report"):
        proc = subprocess.run([sys.executable, "-m", "tccas", "site", stage, "--help"], capture_output=True,
                              text=True, env=_env(), timeout=120)  # fmt: skip
        assert proc.returncode == 0 and "--config" in proc.stdout and "--site" in proc.stdout
