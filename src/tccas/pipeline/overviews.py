"""Map products for viewers (issue #28): the overview pyramid of a finalized region store (rule
``overviews``), quick-looks drawn from it (rule ``quicklook``), and Cloud-Optimised GeoTIFFs of its maps
(``tccas export-cog``). The files are written by :mod:`tccas.io.overviews` and :mod:`tccas.io.cog`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tccas.io import cog as cog_io
from tccas.io import overviews as overview_io
from tccas.io.output_store import grid_of_store
from tccas.pipeline.quicklook import quicklooks

log = logging.getLogger(__name__)

QUICKLOOK_PIXELS = 1000  # longest edge of a quick-look map [cells] (tccas.io.quicklook.write_quicklook)


def overviews(store: str | Path, output: str | Path, max_pixels: int = 512) -> list[str]:
    """Write the overview pyramid of ``store`` to ``output``, down to a level whose longer edge is at most
    ``max_pixels`` cells; returns the level names."""
    levels = overview_io.write_overviews(store, output, max_pixels=max_pixels)
    log.info("%s: %d overview levels written to %s", store, len(levels), output)
    return levels


def overview_quicklooks(
    config: Mapping[str, Any], region: str, overview_store: str | Path, outdir: str | Path
) -> list[Path]:
    """Quick-look PNGs of a region from its overview pyramid: the finest level that fits a quick-look
    (:data:`QUICKLOOK_PIXELS`), never the full-resolution maps."""
    level = overview_io.level_for(overview_store, QUICKLOOK_PIXELS)
    log.info("quick-looks from overview level %s", level)
    return quicklooks(config, region, level, outdir)


def export_cogs(
    store: str | Path, outdir: str | Path, variables: Sequence[str] | None = None, blocksize: int = 512
) -> list[Path]:
    """One COG per 2-D map of ``store`` (``variables``, default: all,
    :func:`tccas.io.overviews.map_variables`) in ``outdir`` as ``{variable}.tif``; raises
    :class:`tccas.io.cog.CogError` naming the store and the variable for a name that is not a 2-D map of the
    store."""
    ds = overview_io.open_maps(store)
    grid = grid_of_store(ds)
    names = overview_io.map_variables(ds) if variables is None else list(variables)
    written = []
    for name in names:
        if name not in ds:
            raise cog_io.CogError(f"{store}: no variable {name!r}")
        written.append(
            cog_io.write_cog(ds[name], grid.transform, Path(outdir) / f"{name}.tif", blocksize, source=store)
        )
        log.info("%s written", written[-1])
    return written
