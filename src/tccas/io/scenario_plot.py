"""PNG writers of the intervention scenario (obs_da_spec §8; ecosystem_aesthetics §5 "Quick-look plots").

* :func:`write_effect_quicklooks`: one map per scenario variable with a quick-look style (effect, σ, UR,
  converted fraction, status), through :func:`tccas.io.quicklook.write_quicklook` (same colour conventions as
  the DA maps: effects diverging centred at 0, σ ``magma`` from 0, UR ``cividis``).
* :func:`write_pixel_panels`: the time-series figure of one pixel in the style of the seed's Majadas panels:
  soil water, LAI, GPP, Ra, NEE, labile, wood and SOM for the young-tree tile of the intervention and the
  grass tile (and the adult tree tile where the pixel has one), over the assimilation window and the
  horizon (monthly means of the daily model output for long spans), with the conversion date marked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np

from tccas.io.output_store import VariableSpec
from tccas.io.quicklook import write_quicklook

# panel key -> (title, units); the order is the figure's reading order (2 columns)
PANELS: dict[str, tuple[str, str]] = {
    "soil_water": ("root-zone soil water W_r", "mm"),
    "lai": ("leaf area index", "m2 m-2"),
    "gpp": ("gross primary productivity", "gC m-2 d-1"),
    "ra": ("autotrophic respiration", "gC m-2 d-1"),
    "nee": ("net ecosystem exchange (+ = source)", "gC m-2 d-1"),
    "c_lab": ("labile carbon", "gC m-2"),
    "c_woo": ("wood carbon", "gC m-2"),
    "c_som": ("soil organic carbon", "gC m-2"),
}


def write_effect_quicklooks(
    outdir: str | Path,
    maps: Mapping[str, np.ndarray],
    registry: Sequence[VariableSpec],
    extent_m: tuple[float, float, float, float],
    title_suffix: str,
) -> list[Path]:
    """One PNG ``{outdir}/scenario_{name}.png`` per registry variable with a quick-look style in ``maps``."""
    outdir = Path(outdir)
    written = []
    for spec in registry:
        if spec.quicklook is None or spec.name not in maps:
            continue
        meanings = spec.flag_meanings.split() if spec.flag_meanings else None
        written.append(
            write_quicklook(
                outdir / f"scenario_{spec.name}.png",
                np.asarray(maps[spec.name], dtype=np.float64),
                extent_m,
                spec.long_name,
                spec.units,
                spec.quicklook,
                f"scenario {spec.name}: {title_suffix}",
                flag_values=spec.flag_values,
                flag_meanings=meanings,
            )
        )
    return written


def monthly_means(dates: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Calendar-month means of a daily series (``dates`` datetime64[D]), NaN days skipped (a month with no
    finite day is NaN); returns (month starts, means)."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    months = dates.astype("datetime64[M]")
    starts, inverse = np.unique(months, return_inverse=True)
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    sums = np.bincount(inverse, weights=np.where(finite, values, 0.0), minlength=starts.size)
    counts = np.bincount(inverse, weights=finite.astype(np.float64), minlength=starts.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        return starts.astype("datetime64[D]"), np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)


def write_pixel_panels(
    path: str | Path,
    dates: np.ndarray,
    series: Mapping[str, Mapping[str, np.ndarray]],
    conversion_date: np.datetime64,
    title: str,
    annual_uptake: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> Path:
    """Write the Majadas-style panel figure of one pixel.

    ``series[label][panel]`` is a daily series aligned with ``dates`` (datetime64[D]) for every panel of
    :data:`PANELS` (labels e.g. ``"young trees (converted)"``, ``"grass"``; NaN = not defined, e.g. the
    young trees before the conversion). Spans longer than two years are drawn as monthly means, shorter ones
    daily. ``annual_uptake`` = ``(year_end_dates, ΔU per year, σ_post of the horizon total)`` adds a ninth
    panel with the cumulative extra uptake and the ±1σ posterior error bar of its horizon total.
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    monthly = dates.size > 2 * 365
    n_panels = len(PANELS) + (1 if annual_uptake is not None else 0)
    n_rows = -(-n_panels // 2)
    fig, axes = plt.subplots(n_rows, 2, figsize=(11, 2.3 * n_rows), dpi=100, sharex=True)
    axes = axes.ravel()
    colours = plt.get_cmap("tab10")
    for ax, (key, (name, units)) in zip(axes, PANELS.items(), strict=False):
        for i, (label, panels) in enumerate(series.items()):
            if key not in panels:
                raise KeyError(f"pixel series {label!r} has no panel {key!r}")
            values = np.asarray(panels[key], dtype=np.float64)
            if values.shape != dates.shape:
                raise ValueError(f"pixel series {label!r}/{key}: shape {values.shape}, dates {dates.shape}")
            x, y = monthly_means(dates, values) if monthly else (dates, values)
            ax.plot(x, y, lw=1.0, color=colours(i), label=label)
        ax.axvline(conversion_date, color="0.4", ls="--", lw=0.8)
        ax.set_title(f"{name} [{units}]", fontsize=9)
        ax.tick_params(labelsize=8)
    if annual_uptake is not None:
        ax = axes[len(PANELS)]
        ends, value, sd = np.asarray(annual_uptake[0]), np.asarray(annual_uptake[1]), float(annual_uptake[2])
        ax.plot(ends, value, color="tab:green", marker="o", ms=2.5, lw=1.0, label="extra uptake ΔU")
        ax.errorbar(ends[-1:], value[-1:], yerr=[sd], color="k", capsize=3, lw=1.0, label="±1 σ posterior")
        ax.axhline(0.0, color="0.6", lw=0.6)
        ax.axvline(conversion_date, color="0.4", ls="--", lw=0.8)
        ax.set_title("cumulative extra uptake, pixel [gC m-2]", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.legend(fontsize=7, loc="upper left")
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    locator = mdates.AutoDateLocator()
    for ax in axes[:n_panels]:
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes[0].legend(fontsize=7, loc="best")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
