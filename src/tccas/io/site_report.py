"""Site-mode outputs for a person: the site figure, the skill tables and the per-site report page.

- :func:`plot_site` (PNG, matplotlib Agg backend; ecosystem_aesthetics §5): one row per variable, on the left
  the daily series (tower values as points, the prior run as a line, the posterior run as a line with its
  ±1σ band) with the calibration / validation periods shaded, on the right the mean seasonal cycle, i.e. the
  calendar-month climatology of the daily values over the whole record (a tower month needs
  :data:`MIN_CLIMATOLOGY_DAYS` valid days over all years, else it is left out);
- :func:`write_skill_table`: the tidy skill table of :func:`tccas.site.metrics.skill_table` (one row per
  site × variable × period × run × scale) as CSV, and as a Markdown table with the runs side by side
  (NSE, r, RMSE, bias for the prior and the posterior, then the annual values of the tower and each run);
- :func:`write_site_report`: one Markdown page per site: a header (site, PFT, position, periods), that
  skill table, the figures (linked relative to the page) and the controls table (name, prior, posterior,
  σ prior, σ posterior, and any further columns such as the uncertainty reduction).

Tables and pages are written atomically (a temporary sibling renamed into place).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.patches import Patch

import tccas
from tccas.io._util import atomic_path

#: Variables drawn by default, where a run or the tower has them.
PLOT_VARIABLES: tuple[str, ...] = ("gpp", "nee", "et", "le", "h")
#: Fewest valid tower days (all years together) for a calendar month of the tower climatology.
MIN_CLIMATOLOGY_DAYS = 5
_NAMES = {
    "gpp": "GPP",
    "reco": "ecosystem respiration",
    "nee": "NEE (+ = source)",
    "et": "evapotranspiration",
    "le": "latent heat LE",
    "h": "sensible heat H",
    "lai": "LAI",
}
_PRIOR, _POST, _OBS = "tab:blue", "tab:red", "0.15"
_PERIOD_COLOURS = ("#e6e6e6", "#fde8c8", "#d8ecd5", "#e3dcf2")
#: Columns a skill table must have (those of tccas.site.metrics.skill_table).
SKILL_COLUMNS: tuple[str, ...] = (
    "site",
    "variable",
    "period",
    "run",
    "scale",
    "nse",
    "r",
    "rmse",
    "bias",
    "annual_model",
    "annual_obs",
    "n",
)
#: Columns a controls table must have (as tccas.site.run.Fit.controls).
CONTROL_COLUMNS: tuple[str, ...] = ("name", "prior", "posterior", "sigma_prior", "sigma_posterior")
_SCORES = (("nse", "NSE"), ("r", "r"), ("rmse", "RMSE"), ("bias", "bias"))
_CONTROL_HEADERS = {"sigma_prior": "σ prior", "sigma_posterior": "σ posterior", "uncertainty_reduction": "UR"}
_RUN_ORDER = ("prior", "posterior")


def _series(ds: xr.Dataset | None, name: str) -> tuple[np.ndarray, np.ndarray] | None:
    if ds is None or name not in ds:
        return None
    time = np.asarray(ds["time"].values, dtype="datetime64[ns]")
    return time, np.asarray(ds[name].values, dtype=np.float64)


def monthly_climatology(time: np.ndarray, values: np.ndarray, min_days: int = 1) -> np.ndarray:
    """Mean of the finite daily ``values`` per calendar month (12 values, January first); a month with
    fewer than ``min_days`` finite days over all years is NaN."""
    months = pd.DatetimeIndex(time).month.to_numpy() - 1
    finite = np.isfinite(values)
    sums = np.bincount(months[finite], weights=values[finite], minlength=12)
    counts = np.bincount(months[finite], minlength=12)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts >= max(min_days, 1), sums / np.maximum(counts, 1), np.nan)


def _units(name: str, *datasets) -> str:
    for ds in datasets:
        if ds is not None and name in ds and ds[name].attrs.get("units"):
            return str(ds[name].attrs["units"])
    return ""


def plot_site(
    run_prior: xr.Dataset | None,
    run_post: xr.Dataset | None,
    obs: xr.Dataset | None,
    path: str | Path,
    variables: Sequence[str] | None = None,
    periods: Mapping[str, tuple] | None = None,
    *,
    title: str | None = None,
) -> Path:
    """Write the site figure (module docstring) to the PNG file ``path`` (atomic) and return the path.

    ``run_prior``, ``run_post``: daily site runs (either may be None); the posterior band is drawn where
    ``run_post`` has ``<var>_sigma``. ``obs``: the tower's daily values (or None). ``variables`` default to
    the :data:`PLOT_VARIABLES` present in any input; a named variable that no input has is an error.
    ``periods``: name → inclusive (start, end) dates, shaded on the daily panels. ``title`` defaults to the
    runs' ``site`` and ``pft`` attributes.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"plot_site: the figure path must name a .png file, got {path}")
    inputs = (run_prior, run_post, obs)
    if variables is None:
        variables = [v for v in PLOT_VARIABLES if any(ds is not None and v in ds for ds in inputs)]
    for v in variables:
        if not any(ds is not None and v in ds for ds in inputs):
            raise KeyError(f"plot_site: no run and no observation has the variable {v!r}")
    if not variables:
        raise ValueError("plot_site: nothing to draw (no variable of the runs or the observations)")
    if title is None:
        attrs = next((ds.attrs for ds in inputs if ds is not None and "site" in ds.attrs), {})
        title = f"{attrs.get('site', 'site')}" + (
            f" ({_text(attrs['pft'])})" if attrs.get("pft") is not None else ""
        )
    periods = dict(periods or {})
    n = len(variables)
    fig, axes = plt.subplots(
        n, 2, figsize=(13, 2.5 * n + 0.8), dpi=100, squeeze=False, gridspec_kw={"width_ratios": (3.4, 1)}
    )
    months = np.arange(1, 13)
    for row, v in enumerate(variables):
        ax, axc = axes[row]
        label = f"{_NAMES.get(v, v)} [{_units(v, *inputs) or '-'}]"
        for k, (start, end) in enumerate(periods.values()):
            ax.axvspan(
                pd.Timestamp(start),
                pd.Timestamp(end) + pd.Timedelta(days=1),
                color=_PERIOD_COLOURS[k % len(_PERIOD_COLOURS)],
                zorder=0,
                lw=0,
            )
        tower = _series(obs, v)
        if tower is not None:
            ax.plot(*tower, ls="none", marker=".", ms=2.0, color=_OBS, alpha=0.6, zorder=2)
            axc.plot(
                months, monthly_climatology(*tower, MIN_CLIMATOLOGY_DAYS), "o", color=_OBS, ms=4, zorder=3
            )
        prior = _series(run_prior, v)
        if prior is not None:
            ax.plot(*prior, color=_PRIOR, lw=0.7, zorder=3)
            axc.plot(months, monthly_climatology(*prior), color=_PRIOR, lw=1.4)
        post = _series(run_post, v)
        if post is not None:
            t, y = post
            sigma = _series(run_post, f"{v}_sigma")
            if sigma is not None:
                ax.fill_between(t, y - sigma[1], y + sigma[1], color=_POST, alpha=0.25, lw=0, zorder=2)
            ax.plot(t, y, color=_POST, lw=0.7, zorder=4)
            axc.plot(months, monthly_climatology(t, y), color=_POST, lw=1.4)
        if v == "nee":
            for a in (ax, axc):
                a.axhline(0.0, color="0.5", lw=0.6, zorder=1)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=8)
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        axc.set_xticks(months, ["J", "F", "M", "A", "M", "J", "J", "A", "S", "O", "N", "D"])
        axc.tick_params(labelsize=8)
        axc.set_xlim(0.5, 12.5)
    axes[0, 0].set_title("daily values", fontsize=9)
    axes[0, 1].set_title("mean seasonal cycle", fontsize=9)
    handles = []
    if obs is not None:
        handles.append(plt.Line2D([], [], ls="none", marker="o", ms=4, color=_OBS, label="tower"))
    if run_prior is not None:
        handles.append(plt.Line2D([], [], color=_PRIOR, lw=1.4, label="prior"))
    if run_post is not None:
        handles.append(plt.Line2D([], [], color=_POST, lw=1.4, label="posterior"))
        if any(f"{v}_sigma" in run_post for v in variables):
            handles.append(Patch(color=_POST, alpha=0.25, lw=0, label="posterior ±1σ"))
    for k, (name, (start, end)) in enumerate(periods.items()):
        span = f"{pd.Timestamp(start).date()} – {pd.Timestamp(end).date()}"
        handles.append(Patch(color=_PERIOD_COLOURS[k % len(_PERIOD_COLOURS)], label=f"{name} {span}"))
    height = fig.get_figheight()  # inches: title, legend row, then the panels
    fig.suptitle(title, fontsize=10, y=1.0 - 0.1 / height)
    fig.legend(handles=handles, loc="upper center", ncol=min(len(handles), 6), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 1.0 - 0.3 / height))  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1.0 - 0.42 / height))
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


def _num(x, digits: int = 3) -> str:
    """A table number: NaN → "–", |x| ≥ 100 without decimals, else ``digits`` significant digits."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if isinstance(x, int | bool) or (hasattr(x, "dtype") and x.dtype.kind in "iub"):
        return str(int(x))
    x = float(x)
    return f"{x:.0f}" if abs(x) >= 100 else f"{x:.{digits}g}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _check_columns(df: pd.DataFrame, required: Sequence[str], what: str) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks the columns {missing} (has {list(df.columns)})")


def skill_markdown(df: pd.DataFrame) -> str:
    """The skill table ``df`` as Markdown with the runs side by side (module docstring); a ``site`` column
    only where ``df`` holds more than one site. ``n`` is shown once where all runs share it."""
    _check_columns(df, SKILL_COLUMNS, "skill table")
    runs = [r for r in _RUN_ORDER if r in set(df["run"])] + [
        r for r in dict.fromkeys(df["run"]) if r not in _RUN_ORDER
    ]
    several_sites = df["site"].nunique() > 1
    keys = ["site", "variable", "period", "scale"]
    header = (["site"] if several_sites else []) + ["variable", "period", "scale", "n"]
    header += [f"{label} {r}" for _, label in _SCORES for r in runs]
    header += ["annual obs"] + [f"annual {r}" for r in runs]
    rows = []
    for key, group in df.groupby(keys, sort=False):
        by_run = {r: g.iloc[0] for r, g in group.groupby("run", sort=False)}
        ns = list(dict.fromkeys(int(g["n"]) for g in by_run.values()))
        row = ([key[0]] if several_sites else []) + [key[1], key[2], key[3]]
        row.append(
            str(ns[0])
            if len(ns) == 1
            else " / ".join(str(by_run[r]["n"]) if r in by_run else "–" for r in runs)
        )
        for col, _ in _SCORES:
            row += [_num(by_run[r][col]) if r in by_run else "–" for r in runs]
        annual_obs = group["annual_obs"].dropna()
        row.append(_num(annual_obs.iloc[0]) if annual_obs.size else "–")
        row += [_num(by_run[r]["annual_model"]) if r in by_run else "–" for r in runs]
        rows.append(row)
    return _markdown(header, rows)


def write_skill_table(df: pd.DataFrame, csv_path: str | Path, md_path: str | Path) -> tuple[Path, Path]:
    """Write the skill table ``df`` (columns :data:`SKILL_COLUMNS`) as CSV (tidy, full precision) to
    ``csv_path`` and as Markdown (:func:`skill_markdown`) to ``md_path``; both atomic."""
    _check_columns(df, SKILL_COLUMNS, "skill table")
    csv_path, md_path = Path(csv_path), Path(md_path)
    with atomic_path(csv_path) as tmp:
        df.loc[:, list(SKILL_COLUMNS)].to_csv(tmp, index=False)
    with atomic_path(md_path) as tmp:
        tmp.write_text(skill_markdown(df), encoding="utf-8")
    return csv_path, md_path


def controls_markdown(controls: pd.DataFrame) -> str:
    """The controls table (columns :data:`CONTROL_COLUMNS` first, then any others) as Markdown."""
    _check_columns(controls, CONTROL_COLUMNS, "controls table")
    columns = [*CONTROL_COLUMNS, *(c for c in controls.columns if c not in CONTROL_COLUMNS)]
    header = [_CONTROL_HEADERS.get(c, c) for c in columns]
    rows = [
        [str(rec[c]) if c == "name" else _num(rec[c], 4) for c in columns]
        for rec in controls.loc[:, columns].to_dict("records")
    ]
    return _markdown(header, rows)


def _text(value) -> str:
    """An attribute as text: a list of names (e.g. the PFTs of a site's tiles) comma-separated."""
    return value if isinstance(value, str) else ", ".join(str(v) for v in np.atleast_1d(value))


def _date(value) -> str:
    return pd.Timestamp(value).date().isoformat()


def write_site_report(
    path: str | Path,
    *,
    site: str | Mapping[str, object],
    skill: pd.DataFrame,
    figures: str | Path | Sequence[str | Path] | Mapping[str, str | Path],
    controls: pd.DataFrame | None,
    meta: Mapping[str, object] | None = None,
    periods: Mapping[str, tuple] | None = None,
    title: str | None = None,
) -> Path:
    """Write the Markdown report page of one site to ``path`` (atomic) and return the path.

    ``site``: the site code, or the run's attributes (``site`` and optionally ``pft``, ``lat``, ``lon``,
    ``elevation``); ``meta``: further site attributes for the header (``site`` wins over them);
    ``skill``: its skill table (prior and posterior rows, :func:`skill_markdown`); ``figures``: one image
    path, several (captioned by file name) or caption → path, each an existing file, linked relative to the
    page; ``controls``: the controls table (:func:`controls_markdown`) or None for a run without
    assimilation; ``periods``: name → inclusive (start, end) dates for the header.
    """
    path = Path(path)
    attrs = {**(meta or {}), **({"site": site} if isinstance(site, str) else dict(site))}
    if not attrs.get("site"):
        raise ValueError("site report: the site attributes have no 'site' code")
    code = str(attrs["site"])
    if isinstance(figures, str | Path):
        figures = [figures]
    figs = dict(figures) if isinstance(figures, Mapping) else {Path(f).stem: f for f in figures}
    for caption, fig in figs.items():
        if not Path(fig).is_file():
            raise FileNotFoundError(f"site report of {code}: figure {caption!r} not found at {fig}")
    info = [("site", code)]
    if attrs.get("pft") is not None:
        info.append(("PFT", _text(attrs["pft"])))
    if attrs.get("lat") is not None and attrs.get("lon") is not None:
        info.append(("position", f"{float(attrs['lat']):.4f} N, {float(attrs['lon']):.4f} E"))
    if attrs.get("elevation") is not None:
        info.append(("elevation", f"{float(attrs['elevation']):.0f} m"))
    for name, (start, end) in (periods or {}).items():
        info.append((f"{name} period", f"{_date(start)} to {_date(end)}"))
    parts = [f"# {title or f'Site report: {code}'}\n\n", _markdown(["field", "value"], info)]
    parts += ["\n## Skill against the tower\n\n"]
    parts += [
        "Daily, monthly and annual scores of the runs against the tower over the days with an observation "
        "(NSE = 1 - Σ(m-o)²/Σ(o-ō)², Nash & Sutcliffe 1970; bias = model - tower; annual values are totals "
        "for daily rates, in per-year units).\n\n",
        skill_markdown(skill),
    ]
    if figs:
        parts.append("\n## Figures\n")
        for caption, fig in figs.items():
            rel = Path(os.path.relpath(Path(fig).resolve(), path.parent.resolve())).as_posix()
            parts.append(f"\n![{_cell(caption)}]({rel})\n")
    if controls is not None:
        parts += ["\n## Controls\n\n", controls_markdown(controls)]
    stamp = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts.append(f"\n---\nWritten by tccas {tccas.__version__} on {stamp}.\n")
    with atomic_path(path) as tmp:
        tmp.write_text("".join(parts), encoding="utf-8")
    return path


#: Columns of the validation table ``docs/validation/site_skill.csv`` (issue #25 item 8).
VALIDATION_COLUMNS: tuple[str, ...] = tuple(c for c in SKILL_COLUMNS if c not in ("scale", "n"))
VALIDATION_VARIABLES: tuple[str, ...] = ("gpp", "et", "nee")


def validation_table(skill: pd.DataFrame) -> pd.DataFrame:
    """The daily-scale rows of GPP, ET and NEE of the sites' skill tables, columns :data:`VALIDATION_COLUMNS`,
    sorted by site, variable, period (calibration first) and run (prior first)."""
    _check_columns(skill, SKILL_COLUMNS, "skill table")
    t = skill[(skill["scale"] == "daily") & skill["variable"].isin(VALIDATION_VARIABLES)].copy()
    t["_v"] = t["variable"].map(VALIDATION_VARIABLES.index)
    t["_p"] = t["period"].map({"calibration": 0, "validation": 1}).fillna(2)
    t["_r"] = t["run"].map({r: i for i, r in enumerate(_RUN_ORDER)}).fillna(len(_RUN_ORDER))
    t = t.sort_values(["site", "_v", "_p", "_r"], kind="stable")
    return t.loc[:, list(VALIDATION_COLUMNS)].reset_index(drop=True)


def validation_markdown(table: pd.DataFrame, differland: pd.DataFrame | None = None) -> str:
    """Markdown of the validation table: the withheld years per site and variable, prior and posterior NSE,
    r, RMSE, bias and annual values beside DifferLand v1.0's baseline and hybrid (``differland``: its
    test-skill table, columns ``site, variable, baseline_nse, hybrid_nse, …``), then the mean NSE over the
    sites, and the calibration years."""
    _check_columns(table, VALIDATION_COLUMNS, "validation table")
    dl = {}
    if differland is not None:
        _check_columns(
            differland, ("site", "variable", "baseline_nse", "hybrid_nse"), "DifferLand skill table"
        )
        dl = {(r["site"], r["variable"]): r for r in differland.to_dict("records")}
    out = []
    for period in ("validation", "calibration"):
        sub = table[table["period"] == period]
        if sub.empty:
            continue
        header = ["site", "variable"]
        header += [f"{s} {r}" for s in ("NSE", "r", "RMSE", "bias") for r in _RUN_ORDER]
        header += ["annual obs", "annual prior", "annual posterior"]
        if dl and period == "validation":
            header += ["NSE DifferLand baseline", "NSE DifferLand hybrid"]
        rows = []
        for (site, var), g in sub.groupby(["site", "variable"], sort=False):
            by = {r["run"]: r for r in g.to_dict("records")}
            row = [site, var]
            for col in ("nse", "r", "rmse", "bias"):
                row += [_num(by[r][col]) if r in by else "–" for r in _RUN_ORDER]
            row.append(_num(g["annual_obs"].iloc[0]))
            row += [_num(by[r]["annual_model"]) if r in by else "–" for r in _RUN_ORDER]
            if dl and period == "validation":
                ref = dl.get((site, var))
                row += [_num(ref["baseline_nse"]), _num(ref["hybrid_nse"])] if ref else ["–", "–"]
            rows.append(row)
        means = sub.groupby(["variable", "run"])["nse"].mean()
        for var in VALIDATION_VARIABLES:
            if var not in set(sub["variable"]):
                continue
            row = ["mean", var]
            row += [_num(means.get((var, r), float("nan"))) for r in _RUN_ORDER]
            row += ["–"] * (2 * 3 + 3)
            if dl and period == "validation":
                sites = set(sub.loc[sub["variable"] == var, "site"])
                refs = [dl[(s, var)] for s in sites if (s, var) in dl]
                row += (
                    [
                        _num(np.mean([r["baseline_nse"] for r in refs])),
                        _num(np.mean([r["hybrid_nse"] for r in refs])),
                    ]
                    if refs
                    else ["–", "–"]
                )
            rows.append(row)
        out.append(f"### {period.capitalize()} years (daily)\n\n" + _markdown(header, rows))
    return "\n".join(out)


def write_validation_table(
    skill: pd.DataFrame, csv_path: str | Path, md_path: str | Path, differland: pd.DataFrame | None = None
) -> tuple[Path, Path]:
    """Write :func:`validation_table` of the sites' concatenated skill tables as CSV and its Markdown
    rendering (:func:`validation_markdown`) beside it; both atomic."""
    table = validation_table(skill)
    csv_path, md_path = Path(csv_path), Path(md_path)
    with atomic_path(csv_path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4g")
    head = (
        "# Site skill of the D&B model (tccas site mode)\n\n"
        "Daily Nash-Sutcliffe efficiency, correlation, RMSE and bias (model - tower) of GPP (gC m-2 d-1),\n"
        "ET (mm d-1) and NEE (gC m-2 d-1); annual values in gC m-2 yr-1 and mm yr-1. prior: the default\n"
        "prior (no site data); posterior: after assimilating the site's calibration years. Regenerate with\n"
        "`snakemake -s workflow/sites.smk --cores 2 validation_table` (machine-readable: site_skill.csv).\n\n"
    )
    with atomic_path(md_path) as tmp:
        tmp.write_text(head + validation_markdown(table, differland), encoding="utf-8")
    return csv_path, md_path
