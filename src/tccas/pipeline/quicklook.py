"""Quick-look PNGs of a finalized region store (rule ``quicklook``; ecosystem_aesthetics §5).

One PNG per registry variable with a ``quicklook`` style: posterior mean, posterior σ and uncertainty
reduction of each target, plus the solver status map; written to ``results/quicklook/{region}/{name}.png``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from tccas.io import output_store as store_io
from tccas.io.quicklook import write_quicklook

log = logging.getLogger(__name__)


def quicklooks(config: Mapping[str, Any], region: str, store: str | Path, outdir: str | Path) -> list[Path]:
    """Write the quick-look PNGs of ``store`` into ``outdir``; returns their paths."""
    ds = store_io.open_store(store)
    grid = store_io.grid_of_store(ds)
    extent = (grid.x0, grid.x0 + grid.nx * grid.res, grid.y0, grid.y0 + grid.ny * grid.res)
    period = f"{config['period']['start']} to {config['period']['end']}"
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for spec in store_io.load_registry():
        if spec.quicklook is None or spec.name not in ds:
            continue
        data = np.asarray(ds[spec.name].values, dtype=np.float64)
        meanings = spec.flag_meanings.split() if spec.flag_meanings else None
        title = f"{spec.name}: {region}, {period}, run {config.get('run_id', '')}"
        written.append(
            write_quicklook(
                outdir / f"{spec.name}.png",
                data,
                extent,
                spec.long_name,
                spec.units,
                spec.quicklook,
                title,
                flag_values=spec.flag_values,
                flag_meanings=meanings,
            )
        )
    log.info("%d quick-looks written to %s", len(written), outdir)
    return written
