"""Regridding throughput per product for one 10 km tile (100 × 100 cells of 100 m) and one day.

Writes a synthetic world in the real file layouts (:func:`tccas.io.synthetic.world.write_world`) and times
``tccas.pipeline.regrid.run_regrid`` for every product (read native files → membership tables / downscaling
weights → atomic Zarr store). Reports s/tile and cells/s (tile cells divided by wall time).

    .venv/bin/python benchmarks/bench_regrid.py [--tile-km 10] [--days 1] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

from tccas.config import validate_config
from tccas.grid import tile_containing
from tccas.io.synthetic.world import write_world
from tccas.pipeline.regrid import run_regrid

PRODUCTS = ("forcing", "landcover", "sif", "smos", "fapar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-km", type=int, default=10)
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    region, lon, lat = "netherlands", 5.74, 52.17
    tile = tile_containing(lon, lat, args.tile_km)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        write_world(root / "resources" / region, region, tile, "2018-07-01", args.days, seed=1)
        t_write = time.perf_counter() - t0
        end = f"2018-07-{args.days:02d}"
        config = validate_config(
            {
                "period": {"start": "2018-07-01", "end": end, "spinup_years": 0},
                "regions": {region: {"tile_km": args.tile_km, "points": [[lon, lat]]}},
                "data": {"source": "synthetic", "root": str(root / "resources"), "seed": 1},
                "outputs": {"root": str(root / "results")},
            }
        )
        rows = []
        for product in PRODUCTS:
            times = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                run_regrid(config, region, tile.name, product)
                times.append(time.perf_counter() - t0)
            best = min(times)
            rows.append({"product": product, "s_per_tile": best, "cells_per_s": tile.nx * tile.ny / best})
    print(
        f"tile {tile.name} ({tile.nx}×{tile.ny} cells), {args.days} day(s), best of {args.repeat}; "
        f"{platform.processor() or platform.machine()}; synthetic files written in {t_write:.1f} s"
    )
    print(f"{'product':<10} {'s/tile':>8} {'cells/s':>12}")
    for r in rows:
        print(f"{r['product']:<10} {r['s_per_tile']:>8.3f} {r['cells_per_s']:>12.0f}")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"tile": tile.name, "days": args.days, "results": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
