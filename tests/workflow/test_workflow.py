"""Workflow gates (ecosystem_aesthetics §1.9, §6 item 13): snakefmt, lint, dry-run of the demo config, and a
tiny end-to-end run producing a valid region store; re-running does nothing; re-writing a tile gives
identical values; the assimilation is invariant to the Dask worker count."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tccas.io import output_store as store_io

pytestmark = pytest.mark.workflow

REPO = Path(__file__).resolve().parents[2]
TILE = "1kmE4029N3237"
STORE = Path("results/maps/netherlands.zarr")


def test_snakefmt_clean():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    proc = subprocess.run(
        [str(snakefmt), "--check", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_lint_clean(smk):
    proc = smk("--lint")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition" in proc.stdout + proc.stderr


def test_dry_run_demo_config(smk):
    proc = smk("-n", "--cores", "2")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for rule, count in (
        ("assimilate_tile", 3),
        ("regrid_product", 15),
        ("write_tile", 3),
        ("finalize_store", 3),
    ):
        assert any(line.split()[:2] == [rule, str(count)] for line in out.splitlines()), (rule, out[-3000:])


@pytest.mark.parametrize(
    "extra",
    [("--config", "run_id=other"), ("config/config.yaml",)],
    ids=["config-override", "two-configfiles"],
)
def test_merged_config_is_refused(smk, tiny, extra):
    """The tccas subcommands read one file: an effective config that differs from it (a --config override,
    or a second file after --configfile, which Snakemake merges) is refused."""
    proc = smk("-n", "--cores", "1", "--configfile", str(tiny[1]), *extra)
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "put the whole configuration in one file" in out and "--replace-workflow-config" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "regions:\n  netherlands: {tile_kmm: 1, points: [[5.74, 52.17]]}\n",
            r"bad\.yaml: regions\.netherlands: unknown key 'tile_kmm' \(did you mean 'tile_km'\?\)",
        ),
        ("regions:\n  netherlands: {points: []}\n", r"bad\.yaml: regions\.netherlands: no points"),
        ("run_id: x\nperiod: {start: '2018-02-30'}\n", r"bad\.yaml: <top level>: required key 'regions'"),
    ],
    ids=["unknown-key", "no-points", "no-regions"],
)
def test_config_errors_under_snakemake_read_as_validate_config(smk, tmp_path, text, message):
    """One validation path: Snakemake reports what `tccas validate-config` reports (file, key path,
    did-you-mean), in a few lines instead of a jsonschema dump, before any job."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    proc = smk("-n", "--cores", "1", "--configfile", str(bad), workdir=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and re.search(message, out), out
    assert len(out.splitlines()) < 12 and "jsonschema" not in out and "Failed validating" not in out
    cli = subprocess.run(
        [str(Path(sys.executable).with_name("tccas")), "validate-config", str(bad)],
        capture_output=True,
        text=True,
    )
    assert cli.returncode == 2 and re.search(message, cli.stderr)


def test_yaml_error_in_the_default_config_names_file_and_line(smk, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("regions:\n  netherlands: {tile_km: 1\n  points: []\n")
    proc = smk("-n", "--cores", "1", workdir=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "config/config.yaml:3:9: not valid YAML: expected ',' or '}', but got ':'" in out, out


def test_one_configfile_needs_no_replace_flag(smk, tiny):
    """A single --configfile is the whole config (the Snakefile has no configfile directive to merge)."""
    proc = smk("-n", "--cores", "1", "--configfile", str(tiny[1]))
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_tiny_run_valid_store(tiny_run):
    workdir, _ = tiny_run
    store = workdir / STORE
    assert store_io.validate_store(store) == []
    ds = xr.open_zarr(store, consolidated=True)
    for var in ("sif743_mean", "nee_mean", "woody_biomass_sd", "gpp_series"):
        assert ds[var].rio.crs.to_epsg() == 3035
        assert {"units", "long_name", "grid_mapping"} <= set(ds[var].attrs)
    status = ds["status"].values
    converged = np.isin(status, [0, 1])
    assert converged.sum() > 10
    assert np.isfinite(ds["nee_mean"].values[converged]).all()
    assert ds["time"].size == 2 and ds["nee_series"].dtype == np.float32
    pngs = {p.stem for p in (workdir / "results/quicklook/netherlands").glob("*.png")}
    assert {"nee_mean", "nee_mean_sd", "nee_mean_ur", "status"} <= pngs
    assert (workdir / "results/report/convergence.html").read_text().count("<tr>") == 2
    assert (workdir / "logs/assimilate/netherlands" / f"{TILE}.dask-report.html").stat().st_size > 1000
    log = (workdir / "logs/assimilate/netherlands" / f"{TILE}.log").read_text()
    assert "ETA" in log and "assimilate: batch" in log


@pytest.mark.slow
def test_no_dask_scratch_left_behind(tiny_shared):
    """The tile job's LocalCluster worked in its own scratch folder under the jobs' TMPDIR and removed it."""
    _, info = tiny_shared
    assert not [name for name in info["tmp_left"] if "dask" in name], info["tmp_left"]


@pytest.mark.slow
def test_report_command_of_the_readmes(tiny_run, smk, tiny):
    """`snakemake --report results/report.html` (profiles/README.md, `make demo`) on a finished run."""
    workdir, _ = tiny_run
    proc = smk(*tiny[0]("--report", "results/report.html"), workdir=workdir, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = workdir / "results" / "report.html"
    assert report.stat().st_size > 10_000


@pytest.mark.slow
def test_rerun_does_nothing(tiny_run, smk, tiny):
    workdir, _ = tiny_run
    proc = smk(*tiny[0]("-n"), workdir=workdir)
    assert proc.returncode == 0, proc.stderr
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_rewriting_a_tile_gives_identical_values(tiny_run, smk, tiny):
    workdir, _ = tiny_run
    store = workdir / STORE
    before = xr.open_zarr(store, consolidated=False).load()
    proc = smk(*tiny[0]("--forcerun", "write_tile"), workdir=workdir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "write_tile" in proc.stdout + proc.stderr
    after = xr.open_zarr(store, consolidated=False).load()
    xr.testing.assert_identical(before.drop_attrs(deep=False), after.drop_attrs(deep=False))


@pytest.mark.slow
def test_same_posterior_for_other_worker_count(tiny_run, tiny):
    """The real solver on 2 instead of 1 Dask worker (same padded batches) gives the same posterior;
    batch-size invariance of the runner is tested in tests/pipeline/test_cluster.py (a new batch size means a
    new compilation of the solver, minutes on 2 cores)."""
    workdir, _ = tiny_run
    reference = xr.open_zarr(workdir / "results/assimilate/netherlands" / f"{TILE}.zarr").load()
    other = workdir / "other.zarr"
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("tccas")),
            "assimilate-tile",
            "--config",
            str(tiny[1]),
            "--region",
            "netherlands",
            "--tile",
            TILE,
            "--output",
            str(other),
            "--workers",
            "2",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = xr.open_zarr(other).load()
    for key in ("status", "n_iter"):
        np.testing.assert_array_equal(result[key].values, reference[key].values)
    for key in ("nee_mean", "nee_mean_sd", "woody_biomass", "x_post", "series_gpp"):
        np.testing.assert_allclose(result[key].values, reference[key].values, rtol=1e-9, atol=1e-12)
