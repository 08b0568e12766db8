"""Capacity table of docs/capacity.md: land cells, tiles, jobs, core-hours and storage for one year of each
full region at 100 m, from the packaged land polygons (docs/regions.md) and the measured per-pixel cost.

Run: ``python benchmarks/capacity.py`` (prints the Markdown table).
"""

from __future__ import annotations

import numpy as np

from tccas.grid import REGIONS, region_cell_mask, tiles_for_region

PIXELS_PER_CORE_S = 0.331  # benchmarks/README.md: 1-year window + 1-year spin-up, per core [measured]
NODE_CORES = 128
BYTES_PER_PIXEL_YEAR = 12 * 8 * 4  # monthly maps of ≈ 8 float32 outputs (outputs.time_step: monthly) [D]


def region_capacity(name: str, tile_km: int = 100) -> dict:
    """Cells of the region (cell centre in its land polygon), planned tiles, core-hours and output GB."""
    tiles = tiles_for_region(name, tile_km)
    cells = int(np.sum([region_cell_mask(name, t).sum() for t in tiles]))
    core_h = cells / PIXELS_PER_CORE_S / 3600.0
    return {
        "region": name,
        "cells_M": cells / 1e6,
        "tiles": len(tiles),
        "core_h": core_h,
        "node_days": core_h / NODE_CORES / 24.0,
        "output_GB": cells * BYTES_PER_PIXEL_YEAR / 1e9,
    }


def main() -> None:
    print("| region | cells (M) | 100 km tiles = jobs | core-hours | 128-core node-days | output GB |")
    print("|---|---|---|---|---|---|")
    for name in REGIONS:
        r = region_capacity(name)
        print(
            f"| {name} | {r['cells_M']:.1f} | {r['tiles']} | {r['core_h']:,.0f} | {r['node_days']:.1f} "
            f"| {r['output_GB']:.0f} |"
        )
    per_day = NODE_CORES * 86400 * PIXELS_PER_CORE_S
    print(f"\nOne {NODE_CORES}-core node: {per_day / 1e6:.2f} M pixel-years per day.")


if __name__ == "__main__":
    main()
