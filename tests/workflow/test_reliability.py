"""Reliability of the regional workflow on the tiny CI run (issue #29, "no silent wrong maps"): stale results
rerun after a config edit or a replaced product file, bad forcing stops the run with a clear error, an
interrupted region write is redone exactly, and the user is told how to recover. Each test damages a private
copy of the finished run (``tiny_copy``); the table of these cases is in docs/reliability.md. The Dask side
(lost workers, stalls, scratch folders) is tested in tests/pipeline/test_cluster.py, the finalisation checks
in tests/pipeline/test_products.py, the input checks in tests/io and tests/pipeline/test_regrid.py."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr
import yaml
import zarr

from tccas.io import output_store as store_io

pytestmark = [pytest.mark.workflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
TILE = "1kmE4029N3237"
STORE = Path("results/maps/netherlands.zarr")
SENTINEL = Path(f"results/maps/netherlands.sentinels/{TILE}.json")
SUMMARY = Path("results/maps/netherlands.summary.json")


def edited_config(workdir: Path, tiny_config: Path, **sections) -> Path:
    """The tiny config with ``sections`` merged in, written to a new path in ``workdir``."""
    config = yaml.safe_load(tiny_config.read_text())
    for section, values in sections.items():
        config[section] = {**config.get(section, {}), **values} if isinstance(values, dict) else values
    path = workdir / f"edited-{len(list(workdir.glob('edited-*')))}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def dry_run(smk, tiny, workdir: Path, config: Path) -> str:
    proc = smk(*tiny[0]("-n", config=config), workdir=workdir, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def store_values(workdir: Path) -> xr.Dataset:
    with xr.open_zarr(workdir / STORE, consolidated=False) as ds:
        return ds.load().drop_attrs(deep=False)


def test_a_config_edit_reruns_what_it_makes_stale(tiny_copy, smk, tiny, jobs):
    """Settings are rule params (digests of the sections each rule reads): an edit reruns exactly the rules
    that read the edited setting, and everything downstream; the config's path and the Dask machinery do
    not count."""
    same = edited_config(tiny_copy, tiny[1])
    assert "Nothing to be done" in dry_run(smk, tiny, tiny_copy, same)
    assert "Nothing to be done" in dry_run(
        smk, tiny, tiny_copy, edited_config(tiny_copy, tiny[1], dask={"n_workers": 2})
    )

    counts = jobs(
        dry_run(smk, tiny, tiny_copy, edited_config(tiny_copy, tiny[1], assimilation={"max_iter": 4}))
    )
    assert counts.get("assimilate_tile") == 1 and counts.get("write_tile") == 1, counts
    assert counts.get("finalize_store") == 1 and counts.get("quicklook") == 1, counts
    assert "make_demo_data" not in counts and "regrid_product" not in counts, counts

    counts = jobs(
        dry_run(smk, tiny, tiny_copy, edited_config(tiny_copy, tiny[1], outputs={"time_step": "daily"}))
    )
    assert counts.get("init_store") == 1 and counts.get("write_tile") == 1, counts
    assert "assimilate_tile" not in counts and "regrid_product" not in counts, counts

    counts = jobs(dry_run(smk, tiny, tiny_copy, edited_config(tiny_copy, tiny[1], data={"seed": 8})))
    assert counts.get("make_demo_data") == 1 and counts.get("assimilate_tile") == 1, counts


def test_a_replaced_product_file_reruns_its_regrid(tiny_copy, smk, tiny, jobs):
    """The product files a regrid job reads are its inputs (from the manifest): replacing one reruns that
    product's regrid and what depends on it, and nothing else."""
    manifest = yaml.safe_load((tiny_copy / "resources/netherlands/manifest.yaml").read_text())
    smos = tiny_copy / "resources/netherlands" / manifest["products"]["smos"]["files"][0]
    later = time.time() + 5
    os.utime(smos, (later, later))
    counts = jobs(dry_run(smk, tiny, tiny_copy, tiny[1]))
    assert counts.get("regrid_product") == 1 and counts.get("assimilate_tile") == 1, counts
    assert "make_demo_data" not in counts
    out = dry_run(smk, tiny, tiny_copy, tiny[1])
    assert f"output: results/regrid/netherlands/{TILE}/smos.zarr" in out
    assert f"output: results/regrid/netherlands/{TILE}/forcing.zarr" not in out


def _celsius_without_units(nc):
    nc["t2m"][:] = nc["t2m"][:] - 273.15
    nc["t2m"].delncattr("units")


def _nan_day(nc):
    nc["t2m"][24:48] = np.nan  # the card's fill for 24 hours


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_celsius_without_units, r"\[t2m@units\]: missing field: no units attribute"),
        (_nan_day, r"\[t2m\]: gap in the data: 24 hours without a value"),
    ],
    ids=["celsius-without-units", "nan-for-24-hours"],
)
def test_bad_forcing_stops_the_run_with_a_clear_error(tiny_copy, smk, tiny, damage, message):
    """Issue #29 (a) and (b): the damaged ERA5 file is refused by its regrid job; the run fails (exit code,
    the job's log shown, the recovery hint) instead of finishing a map of zeros or NaN."""
    manifest = yaml.safe_load((tiny_copy / "resources/netherlands/manifest.yaml").read_text())
    era5 = tiny_copy / "resources/netherlands" / manifest["products"]["forcing"]["files"][0]
    with netCDF4.Dataset(era5, "a") as nc:
        nc.set_auto_maskandscale(False)
        damage(nc)
    proc = smk(*tiny[0](), workdir=tiny_copy, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert re.search(message, out), out[-4000:]
    assert "tccas: the workflow stopped with a failed job" in out and "--unlock" in out
    log = (tiny_copy / f"logs/regrid/netherlands/{TILE}/forcing.log").read_text()
    assert "tccas regrid: error:" in log
    assert not (tiny_copy / f"results/regrid/netherlands/{TILE}/forcing.zarr").exists()


def _start(smk_args: list[str], workdir: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
    ]
    return subprocess.Popen(
        [*cmd, *smk_args],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_an_interrupted_region_write_is_redone_exactly(tiny_copy, smk, tiny):
    """Issue #29: `snakemake -R write_tile` killed (SIGKILL to the whole process group) while the tile is
    written into the finalised region store. The store is then not final (summary removed, write marker
    left); the next run needs `--unlock`, then rewrites the tile and finalises again, and the store equals
    the one of the undisturbed run."""
    reference = store_values(tiny_copy)
    marker = store_io.write_marker(tiny_copy / SENTINEL)
    proc = _start(tiny[0]("-R", "write_tile"), tiny_copy)
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert marker.exists(), "the write finished before it could be interrupted"
    assert not (tiny_copy / SENTINEL).exists() and not (tiny_copy / SUMMARY).exists()
    # what a half-written tile looks like: some of its chunks already hold other values
    chunk = store_values(tiny_copy)["nee_mean"].values.copy()
    zarr.open_group(tiny_copy / STORE, mode="r+")["nee_mean"][:] = np.where(np.isfinite(chunk), 99.0, chunk)

    locked = smk(*tiny[0](), workdir=tiny_copy, timeout=600)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    unlock = smk(*tiny[0]("--unlock"), workdir=tiny_copy, timeout=600)
    assert unlock.returncode == 0, unlock.stderr[-3000:]
    rerun = smk(*tiny[0](), workdir=tiny_copy, timeout=1200)
    out = rerun.stdout + rerun.stderr
    assert rerun.returncode == 0, out[-4000:]
    assert "write_tile" in out and "finalize_store" in out and "assimilate_tile" not in out
    assert not marker.exists() and (tiny_copy / SUMMARY).exists()
    xr.testing.assert_identical(store_values(tiny_copy), reference)
    assert "Nothing to be done" in dry_run(smk, tiny, tiny_copy, tiny[1])
