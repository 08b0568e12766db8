"""Whole-region scale of the map jobs (issue #28): peak RSS and wall time of every stage, each a subprocess.

A full Netherlands region (``whole_region: true``, 100 km tiles: 11 tiles, 4000 × 4000 cells = 16 M cells)
through ``tccas init-store`` → ``tccas write-tile`` (every tile) → ``tccas finalize-store`` → ``tccas
overviews`` → ``tccas quicklook`` (the last two when the CLI has them; else a note is printed). The per-tile
result is fabricated once for the I/O path: one 100 km tile of 1 M land pixels (every cell land, smooth
synthetic values, 50 controls, daily series of the period) written by the streamed assembly of
``assimilate-tile`` (:func:`tccas.io.output_store.write_tile_result` from a pixel ``fetch``), and written into
every tile of the region. The first ``write-tile`` is the "one 100 km tile of 1 M land pixels" number.

Usage: ``nice -n 10 .venv/bin/python benchmarks/bench_scale.py [--workdir /tmp/bench_scale] [--days 90]``.
Peak RSS is ``/usr/bin/time -v``'s maximum resident set size of each stage's process. Targets: every job
≤ 4 GB peak RSS; the Netherlands finalisation ≤ 10 min.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

TCCAS = str(Path(sys.executable).with_name("tccas"))
REGION = "netherlands"
RSS_TARGET_GB = 4.0


def config_dict(root: Path, days: int) -> dict:
    end = np.datetime64("2018-01-01") + np.timedelta64(days - 1, "D")
    return {
        "run_id": "bench-scale",
        "period": {"start": "2018-01-01", "end": str(end), "spinup_years": 1},
        "regions": {REGION: {"tile_km": 100, "whole_region": True}},
        "outputs": {"root": str(root / "results"), "time_step": "monthly"},
        "assimilation": {"store_covariance": False},
    }


def fabricate(config_path: Path, output: Path) -> None:
    """Write a fabricated per-tile result of one full-land 100 km tile (every cell a pixel) through the
    streamed assembly of assimilate-tile; values are smooth functions of the pixel index."""
    from tccas.config import load_config, planned_tiles
    from tccas.io import output_store as store_io
    from tccas.pipeline.products import store_control_names, time_axis

    config = load_config(config_path)
    tile = planned_tiles(config, REGION)[0]
    names = store_control_names(config)
    dates, _ = time_axis(config["period"]["start"], config["period"]["end"], "daily")
    rows, cols = (a.ravel() for a in np.indices(tile.shape))
    targets = ("sif743_mean", "woody_biomass", "nee_mean", "nee_total", "gpp_mean", "lai_mean")
    season = np.sin(np.linspace(0, np.pi, dates.size))

    def fetch(p0: int, p1: int) -> dict[str, np.ndarray]:
        p = np.arange(p0, p1, dtype=np.float64)
        h = 1.0 + 0.5 * np.sin(p / 977.0) + 0.25 * np.cos(p / 131.0)
        n = p.size
        out = {
            "status": (p % 50 == 0).astype(np.int32),
            "n_iter": (5 + p % 15).astype(np.int32),
            "n_eval": (20 + p % 20).astype(np.int32),
            "cost_prior": 100 * h,
            "cost_post": 40 * h,
            "dfs": 2 * h,
        }
        for s in ("fapar", "sif", "vod", "sm"):
            out[f"n_obs_{s}"] = (40 + p % 60).astype(np.int32)
            out[f"cost_post_{s}"] = 5 * h
        for t in targets:
            out[t] = h * (-1.0 if t.startswith("nee") else 1.0)
            out[f"{t}_sd"] = 0.2 * h
            out[f"{t}_prior"] = 1.1 * out[t]
            out[f"{t}_prior_sd"] = 0.5 * h
            out[f"{t}_ur"] = 1 - out[f"{t}_sd"] / out[f"{t}_prior_sd"]
        x = h[:, None] * np.linspace(0.5, 1.5, len(names))
        out.update(
            x_post=x, x_prior=1.1 * x, x_sd_post=0.1 * x, x_sd_prior=0.3 * x, x_ur=np.full_like(x, 0.6)
        )
        for k in ("sif743", "gpp", "nee", "lai", "woody_biomass"):
            out[f"series_{k}"] = h[:, None] * season
        out["pfts"] = np.tile(np.array([5, 9], np.int32), (n, 1))
        out["fractions"] = np.tile(np.array([0.7, 0.3]), (n, 1))
        return out

    attrs = {"region": REGION, "wall_seconds": 0.0}
    chunk = config["outputs"]["io_chunk_mb"]
    store_io.write_tile_result(output, tile, rows, cols, fetch, dates, names, attrs, chunk)


def measured(label: str, cmd: list[str], table: list[dict]) -> None:
    """Run ``cmd`` under ``/usr/bin/time -v``; record its wall time and peak RSS."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"{label} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    row = {"stage": label, "wall_s": round(wall, 1), "peak_rss_gb": round(rss_kb / 2**20, 2)}
    table.append(row)
    print(json.dumps(row), flush=True)


def has_command(name: str, flag: str | None = None) -> bool:
    proc = subprocess.run([TCCAS, name, "--help"], capture_output=True, text=True, check=False)
    return proc.returncode == 0 and (flag is None or flag in proc.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_scale"))
    parser.add_argument("--days", type=int, default=90, help="length of the period (daily series) [days]")
    parser.add_argument(
        "--fabricate", nargs=2, type=Path, metavar=("CONFIG", "OUTPUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.fabricate:
        fabricate(*args.fabricate)
        return
    from tccas.config import planned_tiles, validate_config

    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cfg = config_dict(work, args.days)
    config_path = work / "config.yaml"
    config_path.write_text(yaml.safe_dump(cfg))
    tiles = [t.name for t in planned_tiles(validate_config(cfg), REGION)]
    maps = work / "results" / "maps"
    store, sentinels = maps / f"{REGION}.zarr", maps / f"{REGION}.sentinels"
    result = work / "results" / "assimilate" / REGION / f"{tiles[0]}.zarr"
    common = ["--config", str(config_path), "--region", REGION]
    table: list[dict] = []
    print(f"{REGION}: {len(tiles)} tiles of 100 km, {args.days} days; workdir {work}", flush=True)
    measured(
        "per-tile result of 1 M pixels (assimilate-tile assembly, fabricated)",
        [sys.executable, __file__, "--fabricate", str(config_path), str(result)],
        table,
    )
    measured(
        "init-store",
        [TCCAS, "init-store", *common, "--store", str(store), "--sentinel", str(sentinels / "template.json")],
        table,
    )
    t0 = time.perf_counter()
    for i, tile in enumerate(tiles):
        label = "write-tile, one 100 km tile of 1 M land pixels" if i == 0 else f"write-tile {tile}"
        measured(
            label,
            [
                TCCAS,
                "write-tile",
                *common,
                "--tile",
                tile,
                "--result",
                str(result),
                "--store",
                str(store),
                "--sentinel",
                str(sentinels / f"{tile}.json"),
            ],
            table,
        )
    write_rows = [r for r in table if r["stage"].startswith("write-tile")]
    table.append(
        {
            "stage": f"write-tile, all {len(tiles)} tiles (16 M cells)",
            "wall_s": round(time.perf_counter() - t0, 1),
            "peak_rss_gb": max(r["peak_rss_gb"] for r in write_rows),
        }
    )
    measured(
        "finalize-store (16 M cells)",
        [
            TCCAS,
            "finalize-store",
            *common,
            "--store",
            str(store),
            "--sentinels",
            *[str(sentinels / f"{t}.json") for t in tiles],
            "--summary",
            str(maps / f"{REGION}.summary.json"),
        ],
        table,
    )
    overviews = maps / f"{REGION}.overviews.zarr"
    if has_command("overviews"):
        measured("overviews", [TCCAS, "overviews", "--store", str(store), "--output", str(overviews)], table)
    else:
        print("note: no `tccas overviews` command in this tree: skipped", flush=True)
    outdir = work / "results" / "quicklook" / REGION
    if has_command("quicklook", "--overviews") and overviews.exists():
        measured(
            "quicklook",
            [TCCAS, "quicklook", *common, "--overviews", str(overviews), "--outdir", str(outdir)],
            table,
        )
    elif has_command("quicklook", "--store"):
        measured(
            "quicklook", [TCCAS, "quicklook", *common, "--store", str(store), "--outdir", str(outdir)], table
        )
    else:
        print("note: quicklook needs an overview store that was not built: skipped", flush=True)
    print(f"\n| stage | wall time [s] | peak RSS [GB] | ≤ {RSS_TARGET_GB:g} GB |\n|---|---|---|---|")
    for r in table:
        ok = "yes" if r["peak_rss_gb"] <= RSS_TARGET_GB else "**no**"
        print(f"| {r['stage']} | {r['wall_s']} | {r['peak_rss_gb']} | {ok} |")
    (work / "bench_scale.json").write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
