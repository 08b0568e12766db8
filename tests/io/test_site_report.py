"""Site figure, skill-table writers and the per-site report page (tccas.io.site_report)."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from tccas.io import site_report
from tccas.site import metrics

_UNITS = {"gpp": "gC m-2 d-1", "nee": "gC m-2 d-1", "et": "mm d-1", "h": "W m-2"}
PERIODS = {"calibration": ("2001-01-01", "2001-12-31"), "validation": ("2002-01-01", "2002-12-31")}


def _site(amplitude: float, run: str, sigma: bool = False, gaps: float = 0.0) -> xr.Dataset:
    time = pd.date_range("2001-01-01", "2002-12-31", freq="D")
    season = np.sin(2.0 * np.pi * (time.day_of_year.to_numpy(np.float64) - 100.0) / 365.0)
    base = {
        "gpp": 4.0 + 3.0 * season,
        "nee": 0.3 - 1.5 * season,
        "et": 1.5 + 1.2 * season,
        "h": 40 + 30 * season,
    }
    data = {k: ("time", amplitude * v, {"units": _UNITS[k]}) for k, v in base.items()}
    ds = xr.Dataset(data, coords={"time": time}, attrs={"site": "FR-Pue", "pft": "EBF", "run": run})
    if sigma:
        for k, v in base.items():
            ds[f"{k}_sigma"] = ("time", np.full(time.size, 0.1 * np.abs(v).mean()), {"units": _UNITS[k]})
    if gaps:
        drop = np.random.default_rng(3).random(time.size) < gaps
        for k in base:
            ds[k][drop] = np.nan
    return ds


@pytest.fixture(scope="module")
def runs():
    return _site(0.8, "prior"), _site(0.97, "posterior", sigma=True), _site(1.0, "tower", gaps=0.1)


def test_monthly_climatology_known_answer():
    time = pd.date_range("2001-01-01", "2002-12-31", freq="D").values
    months = pd.DatetimeIndex(time).month.to_numpy(np.float64)
    values = months.copy()
    values[pd.DatetimeIndex(time).month == 2] = np.nan  # no February day
    values[(pd.DatetimeIndex(time).month == 3) & (pd.DatetimeIndex(time).day > 2)] = np.nan  # 4 March days
    clim = site_report.monthly_climatology(time, values, min_days=5)
    expected = np.arange(1.0, 13.0)
    expected[1:3] = np.nan
    np.testing.assert_array_equal(clim, expected)
    assert site_report.monthly_climatology(time, values, min_days=4)[2] == 3.0


def test_plot_site_writes_a_png_with_one_row_per_variable(tmp_path, runs):
    prior, post, obs = runs
    one = site_report.plot_site(prior, post, obs, tmp_path / "one.png", variables=["gpp"], periods=PERIODS)
    four = site_report.plot_site(prior, post, obs, tmp_path / "figs" / "four.png", periods=PERIODS)
    assert four.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in four.parent.iterdir()) == ["four.png"]  # no temporary left
    img1, img4 = mpimg.imread(one), mpimg.imread(four)
    assert img4.shape[0] > 3 * img1.shape[0] * 0.8  # gpp, nee, et, h (no le anywhere)
    assert img4[..., :3].std() > 0.1  # not a blank canvas
    # prior-only, tower-only figures are valid; a variable nobody has is not
    site_report.plot_site(prior, None, None, tmp_path / "prior.png", variables=["nee"])
    site_report.plot_site(None, None, obs, tmp_path / "tower.png")
    with pytest.raises(KeyError, match="'le'"):
        site_report.plot_site(prior, post, obs, tmp_path / "x.png", variables=["le"])
    with pytest.raises(ValueError, match=r"\.png file"):
        site_report.plot_site(prior, post, obs, tmp_path / "figures")
    with pytest.raises(ValueError, match="nothing to draw"):
        site_report.plot_site(None, None, xr.Dataset(coords={"time": obs.time}), tmp_path / "y.png")


@pytest.fixture(scope="module")
def skill(runs):
    prior, post, obs = runs
    return pd.concat(
        [metrics.skill_table(r, obs, periods=PERIODS, variables=["gpp", "h"]) for r in (prior, post)],
        ignore_index=True,
    )


def test_write_skill_table_csv_round_trip_and_markdown(tmp_path, skill):
    csv, md = site_report.write_skill_table(skill, tmp_path / "skill.csv", tmp_path / "md" / "skill.md")
    back = pd.read_csv(csv)
    assert list(back.columns) == list(site_report.SKILL_COLUMNS)
    pd.testing.assert_frame_equal(back, skill, check_dtype=False)
    text = md.read_text()
    lines = text.strip().splitlines()
    assert lines[0].startswith("| variable | period | scale | n | NSE prior | NSE posterior | r prior |")
    assert len(lines) == 2 + 2 * 2 * 3  # header, rule, variables × periods × scales
    row = skill.query("variable == 'gpp' and period == 'validation' and scale == 'daily'").set_index("run")
    cells = [c.strip() for c in lines[2 + 3].strip("|").split("|")]  # gpp, validation, daily
    assert cells[:4] == ["gpp", "validation", "daily", str(row.loc["prior", "n"])]
    assert cells[4] == f"{row.loc['prior', 'nse']:.3g}" and cells[5] == f"{row.loc['posterior', 'nse']:.3g}"
    assert cells[-3] == f"{row.loc['prior', 'annual_obs']:.0f}"  # annual GPP totals, gC m-2 yr-1
    with pytest.raises(ValueError, match="lacks the columns"):
        site_report.write_skill_table(skill.drop(columns="nse"), tmp_path / "a.csv", tmp_path / "a.md")


def test_markdown_shows_missing_values_and_differing_n():
    df = pd.DataFrame(
        [
            ["XX-A", "nee", "all", "prior", "annual", np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, 0],
            ["XX-A", "nee", "all", "posterior", "annual", 0.5, 0.9, 12.5, -1234.4, 2.0, np.nan, 1],
        ],
        columns=site_report.SKILL_COLUMNS,
    )
    line = site_report.skill_markdown(df).splitlines()[2]
    assert line == "| nee | all | annual | 0 / 1 | – | 0.5 | – | 0.9 | – | 12.5 | – | -1234 | – | – | 2 |"


def test_write_site_report(tmp_path, runs, skill):
    prior, post, obs = runs
    fig = site_report.plot_site(prior, post, obs, tmp_path / "figures" / "FR-Pue.png", periods=PERIODS)
    controls = pd.DataFrame(
        {
            "name": ["f_auto|EBF", "vcmax25"],
            "prior": [0.45, 60.0],
            "posterior": [0.41, 52.5],
            "sigma_prior": [0.1, 15.0],
            "sigma_posterior": [0.02, 3.0],
            "uncertainty_reduction": [0.8, 0.8],
        }
    )
    page = site_report.write_site_report(
        tmp_path / "reports" / "FR-Pue.md",
        site="FR-Pue",
        meta={
            "site": "ignored",
            "pft": ["EBF", "C3 grass"],
            "lat": 43.7414,
            "lon": 3.5958,
            "elevation": 270.0,
        },
        skill=skill,
        figures={"daily series and seasonal cycle": fig},
        controls=controls,
        periods=PERIODS,
    )
    text = page.read_text()
    assert text.startswith("# Site report: FR-Pue\n\n| field | value |")
    for expected in (
        "| PFT | EBF, C3 grass |",
        "| position | 43.7414 N, 3.5958 E |",
        "| calibration period | 2001-01-01 to 2001-12-31 |",
        "| validation period | 2002-01-01 to 2002-12-31 |",
        "| variable | period | scale | n | NSE prior | NSE posterior |",
        "![daily series and seasonal cycle](../figures/FR-Pue.png)",
        "| name | prior | posterior | σ prior | σ posterior | UR |",
        "| f_auto\\|EBF | 0.45 | 0.41 | 0.1 | 0.02 | 0.8 |",
        "| vcmax25 | 60 | 52.5 | 15 | 3 | 0.8 |",
    ):
        assert expected in text, expected
    bare = site_report.write_site_report(
        tmp_path / "b.md", site="FR-Pue", skill=skill, figures=[], controls=None
    )
    assert "## Controls" not in bare.read_text() and "## Figures" not in bare.read_text()
    assert "PFT" not in bare.read_text()
    one = site_report.write_site_report(
        tmp_path / "figures" / "one.md", site={"site": "FR-Pue"}, skill=skill, figures=fig, controls=None
    )
    assert "![FR-Pue](FR-Pue.png)" in one.read_text()
    with pytest.raises(FileNotFoundError, match=r"missing\.png"):
        site_report.write_site_report(
            tmp_path / "c.md", site="FR-Pue", skill=skill, figures=[tmp_path / "missing.png"], controls=None
        )
    with pytest.raises(ValueError, match="sigma_posterior"):
        site_report.write_site_report(
            tmp_path / "d.md", site="FR-Pue", skill=skill, figures=[], controls=controls.iloc[:, :4]
        )
    assert not (tmp_path / "c.md").exists() and not (tmp_path / "d.md").exists()


def test_validation_table_and_markdown_beside_differland(tmp_path, runs):
    prior, post, obs = runs
    skill = pd.concat(
        [
            metrics.skill_table(r, obs, periods=PERIODS, variables=["gpp", "et", "nee", "h"])
            for r in (prior, post)
        ],
        ignore_index=True,
    )
    two = pd.concat([skill, skill.assign(site="US-Var")], ignore_index=True)
    differland = pd.DataFrame(
        {
            "site": ["FR-Pue", "US-Var", "FR-Pue"],
            "variable": ["gpp", "gpp", "et"],
            "baseline_nse": [0.27, 0.68, 0.4],
            "hybrid_nse": [0.68, 0.86, 0.7],
        }
    )
    csv, md = site_report.write_validation_table(two, tmp_path / "v.csv", tmp_path / "v.md", differland)
    back = pd.read_csv(csv)
    assert list(back.columns) == list(site_report.VALIDATION_COLUMNS)
    assert set(back["variable"]) == {"gpp", "et", "nee"} and set(back["run"]) == {"prior", "posterior"}
    assert len(back) == 2 * 3 * 2 * 2  # sites × variables × periods × runs, daily only
    first = back.iloc[0]
    assert (first["site"], first["variable"], first["period"], first["run"]) == (
        "FR-Pue",
        "gpp",
        "calibration",
        "prior",
    )
    daily = skill.query(
        "variable == 'gpp' and period == 'validation' and scale == 'daily' and run == 'prior'"
    )
    got = back.query("site == 'FR-Pue' and variable == 'gpp' and period == 'validation' and run == 'prior'")
    assert got["nse"].iloc[0] == pytest.approx(daily["nse"].iloc[0], rel=1e-3)
    text = md.read_text()
    assert "### Validation years (daily)" in text and "### Calibration years (daily)" in text
    mean_row = next(line for line in text.splitlines() if line.startswith("| mean | gpp |"))
    cells = [c.strip() for c in mean_row.strip("|").split("|")]
    assert cells[2] == f"{daily['nse'].iloc[0]:.3g}"  # both sites carry the same scores
    assert cells[-2:] == [f"{(0.27 + 0.68) / 2:.3g}", f"{(0.68 + 0.86) / 2:.3g}"]
    with pytest.raises(ValueError, match="DifferLand skill table lacks"):
        site_report.validation_markdown(back, differland.drop(columns="hybrid_nse"))
