"""Quick-look PNGs of 2-D map variables (matplotlib, Agg backend; ecosystem_aesthetics §5 "Quick-look plots").

Styles (from the ``quicklook`` column of the output-variable registry):

* ``sequential``: posterior means, perceptually uniform ``viridis``;
* ``uncertainty``: posterior standard deviations, ``magma``, from 0;
* ``reduction``: uncertainty reduction 1 − σ_post/σ_prior, ``cividis`` on [min(0, data), 1];
* ``diverging``: signed fluxes (NEE), ``RdBu_r`` with :class:`~matplotlib.colors.TwoSlopeNorm` centred at 0
  (blue = sink, red = source);
* ``status``: solver status flags, a categorical map labelled with the CF ``flag_meanings``.

NaN (water, no data, not yet written) is masked and drawn light grey; the colour-bar label is
``long_name [units]``. The region quick-looks draw a level of the region's overview pyramid
(:mod:`tccas.io.overviews`, chosen by :func:`tccas.pipeline.overviews.overview_quicklooks`), so they never
read a full-resolution map; a map still larger than ``max_pixels`` along an axis (e.g. the scenario's effect
maps) is block-averaged here with the pyramid's NaN-aware block mean (:func:`tccas.io.overviews.block_mean`).
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors

from tccas.io.overviews import block_mean

STYLES = ("sequential", "uncertainty", "reduction", "diverging", "status")
_CMAPS = {
    "sequential": "viridis",
    "uncertainty": "magma",
    "reduction": "cividis",
    "diverging": "RdBu_r",
    "status": "tab10",
}


def colour_label(long_name: str, units: str) -> str:
    """Colour-bar label ``long_name [units]`` (units ``1`` shown as dimensionless ``[-]``)."""
    return f"{long_name} [{'-' if units in ('1', '') else units}]"


def _norm(style: str, data: np.ndarray, flag_values: Sequence[int] | None):
    finite = data[np.isfinite(data)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if style == "diverging":
        span = max(abs(lo), abs(hi), 1e-12)
        return colors.TwoSlopeNorm(vcenter=0.0, vmin=-span, vmax=span)
    if style == "uncertainty":
        return colors.Normalize(vmin=0.0, vmax=max(hi, 1e-12))
    if style == "reduction":
        return colors.Normalize(vmin=min(0.0, lo), vmax=1.0)
    if style == "status":
        values = list(flag_values or [])
        edges = np.arange(len(values) + 1) - 0.5 + (values[0] if values else 0)
        return colors.BoundaryNorm(edges, len(values))
    if hi <= lo:
        hi = lo + 1e-12
    return colors.Normalize(vmin=lo, vmax=hi)


def write_quicklook(
    path: str | Path,
    data: np.ndarray,
    extent_m: tuple[float, float, float, float],
    long_name: str,
    units: str,
    style: str,
    title: str,
    flag_values: Sequence[int] | None = None,
    flag_meanings: Sequence[str] | None = None,
    max_pixels: int = 1000,
) -> Path:
    """Write one PNG of the north-up map ``data (y, x)``; ``extent_m = (x_min, x_max, y_min, y_max)`` [m]."""
    if style not in STYLES:
        raise ValueError(f"quick-look style {style!r} is not one of {STYLES}")
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"quick-look of {long_name!r} needs a 2-D map, got shape {data.shape}")
    if style != "status":
        data = block_mean(data, int(np.ceil(max(data.shape) / max_pixels)))
    lut = len(flag_values) if style == "status" and flag_values else None
    cmap = plt.get_cmap(_CMAPS[style], lut).with_extremes(bad="lightgrey")
    norm = _norm(style, data, flag_values)
    x0, x1, y0, y1 = extent_m
    fig, ax = plt.subplots(figsize=(6.4, 5.2), dpi=100)
    image = ax.imshow(
        np.ma.masked_invalid(data),
        cmap=cmap,
        norm=norm,
        extent=(x0 / 1e3, x1 / 1e3, y0 / 1e3, y1 / 1e3),
        origin="upper",
        interpolation="nearest",
    )
    ax.set_xlabel("x, EPSG:3035 [km]")
    ax.set_ylabel("y, EPSG:3035 [km]")
    ax.set_title(title, fontsize=9)
    ax.ticklabel_format(useOffset=False, style="plain")
    bar = fig.colorbar(image, ax=ax, shrink=0.85)
    bar.set_label("\n".join(textwrap.wrap(colour_label(long_name, units), 70)), fontsize=8)
    if style == "status" and flag_values:
        bar.set_ticks(list(flag_values))
        bar.set_ticklabels(list(flag_meanings or flag_values))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
