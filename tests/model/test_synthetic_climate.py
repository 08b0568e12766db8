"""The Mediterranean synthetic climate of the Iberian demo region against two Mediterranean flux towers.

The Majadas-like forcing (``synthetic_forcing`` at ES-LMa, 39.94 N 5.77 W, 260 m, the Iberian demo tile;
Köppen–Geiger Csa by :func:`climate_class`) must have a real summer drought. Its monthly climatology
(3 seeds × 10 years) is compared with that of FR-Pue (Puéchabon, 2001–09) and US-Var (Vaira Ranch, 2002–10)
computed from their daily DifferLand drivers: precipitation [mm month-1] and daily-mean VPD [hPa]. The
criteria are derived from the towers, which meet them themselves, and the latitude-only ``"zonal"`` regime
at the same place fails them (so the comparison can fail).
"""

from __future__ import annotations

import numpy as np
import pytest

from tccas import model as M
from tccas.io.flux import read_cardamom_drivers
from tccas.model.forcing import CLIMATES, climate_class
from tccas.model.met import sat_vapour_pressure

MAJADAS = (39.94, -5.77, 260.0)  # lat, lon [deg], elevation [m] of the demo DEM (io.synthetic.rasters)
TOWERS = ("FR-Pue", "US-Var")
SEEDS, N_YEARS = (0, 1, 2), 10
JJA, DJF = [5, 6, 7], [11, 0, 1]  # month indices (0 = January)
SUMMER, WINTER = [3, 4, 5, 6, 7, 8], [9, 10, 11, 0, 1, 2]  # Köppen's summer (AMJJAS) and winter half-years
DAYS_IN_MONTH = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def monthly(dates, precip, vpd) -> dict[str, np.ndarray]:
    """Monthly climatology of daily series: precipitation [mm month-1] (mean daily rate × mean month length)
    and VPD [hPa] (mean of the daily means)."""
    month = dates.astype("datetime64[M]").astype(np.int64) % 12
    p = np.array([precip[month == m].mean() for m in range(12)]) * DAYS_IN_MONTH
    v = np.array([vpd[month == m].mean() for m in range(12)])
    return {"precip": p, "vpd": v}


def synthetic_monthly(lat, lon, elevation, climate=None, seeds=SEEDS) -> dict[str, np.ndarray]:
    dates = np.arange(np.datetime64("2018-01-01"), np.datetime64(f"{2018 + N_YEARS}-01-01"))
    n_days = dates.size
    parts = []
    for seed in seeds:
        f = M.synthetic_forcing(
            lat, lon, "2018-01-01", n_days, seed=seed, elevation=elevation, climate=climate
        )
        vpd = (sat_vapour_pressure(f.t_air, np)[0] - f.vapour_pressure).mean(axis=1) / 100.0  # Pa → hPa
        parts.append(monthly(dates, f.precip.sum(axis=1), vpd))
    return {k: np.mean([p[k] for p in parts], axis=0) for k in parts[0]}


@pytest.fixture(scope="module")
def towers(real_data_dir):
    out = {}
    for site in TOWERS:
        ds = read_cardamom_drivers(real_data_dir / "differland" / f"{site}.nc")
        dates = ds.time.values.astype("datetime64[D]")
        out[site] = monthly(dates, ds.precip.values, ds.vpd.values / 100.0)  # mm d-1; Pa → hPa
    return out


def mediterranean_failures(clim, towers) -> list[str]:
    """The criteria of a Mediterranean summer drought that ``clim`` misses (empty: all met)."""
    p, v = clim["precip"], clim["vpd"]
    annual = [t["precip"].sum() for t in towers.values()]
    vpd_jja = [t["vpd"][JJA].mean() for t in towers.values()]
    vpd_djf = [t["vpd"][DJF].mean() for t in towers.values()]
    checks = {
        # annual total within the towers' range (562–893 mm) ± 15 %
        "annual precipitation": 0.85 * min(annual) <= p.sum() <= 1.15 * max(annual),
        # the towers: 11 % (FR-Pue), 1 % (US-Var)
        "JJA precipitation <= 15 % of annual": p[JJA].sum() <= 0.15 * p.sum(),
        "driest month in June-August": int(np.argmin(p)) in JJA,
        # Köppen-Geiger "s" (Kottek et al. 2006): driest summer month < 40 mm and < 1/3 of the wettest winter
        # month
        "Koppen summer-dry": p[SUMMER].min() < min(40.0, p[WINTER].max() / 3.0),
        # correlation of the 12 monthly means with each tower's about that of the two towers (0.45) or more
        "seasonal cycle of precipitation like the towers": all(
            np.corrcoef(p, t["precip"])[0, 1] >= 0.4 for t in towers.values()
        ),
        # summer VPD of the towers (13.2 hPa FR-Pue, 19.8 hPa US-Var) ± 25 %, winter (2.4–2.8 hPa) ± 50 %
        "JJA VPD": 0.75 * min(vpd_jja) <= v[JJA].mean() <= 1.25 * max(vpd_jja),
        "DJF VPD": 0.5 * min(vpd_djf) <= v[DJF].mean() <= 1.5 * max(vpd_djf),
        "JJA VPD >= 3 x DJF VPD": v[JJA].mean() >= 3.0 * v[DJF].mean(),
        "VPD maximum in June-August": int(np.argmax(v)) in JJA,
        # the towers' VPD cycles correlate at 0.94
        "seasonal cycle of VPD like the towers": all(
            np.corrcoef(v, t["vpd"])[0, 1] >= 0.9 for t in towers.values()
        ),
    }
    return [name for name, ok in checks.items() if not ok]


def _table(named: dict[str, dict[str, np.ndarray]]) -> str:
    rows = []
    for var in ("precip", "vpd"):
        for name, clim in named.items():
            rows.append(f"{var:6s} {name:10s} " + " ".join(f"{x:6.1f}" for x in clim[var]))
    return "\n".join(rows)


def test_the_towers_meet_the_criteria(towers):
    """The criteria describe real Mediterranean climates: each tower meets them against both."""
    for site, clim in towers.items():
        assert mediterranean_failures(clim, towers) == [], site


def test_majadas_like_climate_has_the_towers_summer_drought(towers):
    assert climate_class(*MAJADAS[:2]) == "Csa"
    majadas = synthetic_monthly(*MAJADAS)
    table = _table({"synthetic": majadas, **towers})
    assert mediterranean_failures(majadas, towers) == [], table


def test_the_criteria_reject_a_climate_without_summer_drought(towers):
    """The latitude-only regime (summer precipitation maximum) at the same place fails the comparison."""
    zonal = synthetic_monthly(*MAJADAS, climate="zonal")
    failed = mediterranean_failures(zonal, towers)
    assert {"JJA precipitation <= 15 % of annual", "driest month in June-August", "JJA VPD"} <= set(failed)


def test_climate_classes_of_the_demo_regions_and_towers():
    assert climate_class(39.94, -5.77) == "Csa"  # Majadas de Tiétar (Iberia demo region)
    assert climate_class(43.7413, 3.5957) == "Csa"  # FR-Pue
    assert climate_class(38.4133, -120.9507) == "Csa"  # US-Var
    assert climate_class(67.37, 26.63) == "zonal"  # Sodankylä (Lapland demo region)
    assert climate_class(52.17, 5.74) == "zonal"  # Loobos (Netherlands demo region)
    # the a/b split: the zonal table's hottest month at sea level falls below 22 °C north of ~44.3° N
    assert climate_class(44.0, 8.9) == "Csa" and climate_class(44.4, 8.9) == "Csb"
    assert climate_class(40.0, 116.4) == "zonal"  # Beijing, summer-wet (Dwa): latitude alone is no rule


def test_csb_is_summer_dry_but_milder_than_csa():
    csa = synthetic_monthly(*MAJADAS, seeds=(0, 1))
    csb = synthetic_monthly(*MAJADAS, climate="Csb", seeds=(0, 1))
    p = csb["precip"]
    assert p[SUMMER].min() < min(40.0, p[WINTER].max() / 3.0)
    assert csb["precip"][JJA].sum() > 1.5 * csa["precip"][JJA].sum()
    assert csb["vpd"][JJA].mean() < 0.85 * csa["vpd"][JJA].mean()


def test_southern_hemisphere_dry_season_is_in_december_to_february():
    chile = synthetic_monthly(-33.45, -70.67, 500.0, seeds=(0,))  # Santiago de Chile
    assert climate_class(-33.45, -70.67) in ("Csa", "Csb")
    assert int(np.argmin(chile["precip"])) in DJF and int(np.argmax(chile["vpd"])) in DJF


def test_explicit_climate_is_deterministic_and_checked():
    a = M.synthetic_forcing(39.94, -5.77, "2018-06-01", 30, seed=4, climate="zonal")
    b = M.synthetic_forcing(39.94, -5.77, "2018-06-01", 30, seed=4, climate="zonal")
    default = M.synthetic_forcing(39.94, -5.77, "2018-06-01", 30, seed=4)  # Csa by climate_class
    csa = M.synthetic_forcing(39.94, -5.77, "2018-06-01", 30, seed=4, climate="Csa")
    for name in M.Forcing._fields:
        assert getattr(a, name).dtype == np.float64
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(getattr(default, name), getattr(csa, name))
    assert not np.array_equal(a.vapour_pressure, csa.vapour_pressure)
    with pytest.raises(ValueError, match="climate"):
        M.synthetic_forcing(52.17, 5.74, "2018-06-01", 3, climate="Cfb")
    assert set(CLIMATES) == {"zonal", "Csa", "Csb"}
