from __future__ import annotations

import csv

import pytest

from tccas.io.flux import known_sites, site_info
from tccas.model.parameters import PFT_NAMES

SITES = ("DE-Hai", "FI-Hyy", "FR-Pue", "NL-Loo", "RU-Fyo", "US-SRG", "US-Var")
UTC_OFFSETS = {"DE-Hai": 1, "FI-Hyy": 2, "FR-Pue": 1, "NL-Loo": 1, "RU-Fyo": 3, "US-SRG": -7, "US-Var": -8}


def test_site_table_covers_the_seven_towers_with_valid_pft_mixes():
    assert known_sites() == SITES
    for site in SITES:
        info = site_info(site)
        assert info["site"] == site
        assert all(name in PFT_NAMES for name, _ in info["pfts"]), info["pfts"]
        assert sum(f for _, f in info["pfts"]) == pytest.approx(1.0)
        assert all(0 < f <= 1 for _, f in info["pfts"])
        assert info["utc_offset_h"] == UTC_OFFSETS[site]
        assert info["reference"] and info["vegetation"]
    assert site_info("FR-Pue")["pfts"] == [("TmEv", 1.0)]
    assert site_info("DE-Hai")["pfts"] == [("TmSg", 1.0)]
    assert site_info("US-Var")["pfts"] == [("C3Gr", 1.0)]
    assert {n for n, _ in site_info("US-SRG")["pfts"]} == {"C4Gr", "DShr"}
    for site in ("FI-Hyy", "NL-Loo", "RU-Fyo"):
        assert site_info(site)["pfts"] == [("EvCn", 1.0)]


def test_site_table_matches_the_differland_site_coordinates(real_data_dir):
    with (real_data_dir / "differland" / "site_coords.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["SITE_ID"] for r in rows} == set(SITES)
    for r in rows:
        info = site_info(r["SITE_ID"])
        assert info["lat"] == pytest.approx(float(r["lat"]), abs=1e-6)
        assert info["lon"] == pytest.approx(float(r["lon"]), abs=1e-6)
        assert info["elevation"] == pytest.approx(float(r["ELEV"]))
        assert info["igbp"] == r["IGBP"]


def test_unknown_site_lists_the_known_ones_and_lookup_ignores_case():
    with pytest.raises(KeyError, match=r"XX-Nop.*DE-Hai, FI-Hyy"):
        site_info("XX-Nop")
    assert site_info("fr-pue")["site"] == "FR-Pue"
