"""Loading real flux-tower sites into SiteData (tccas.site.load) and the site config."""

from __future__ import annotations

import numpy as np
import pytest

from tccas.config import ConfigError
from tccas.site import calibration_period, load_site, validate_sites_config
from tccas.site.load import read_site_file

CALLMIP_PUE = "callmip/FR-Pue_daily_aggregated_2000-2014_FLUXNET2015_Flux.nc"
CO2 = "callmip/CO2_1700_2024_TRENDYv2025.txt"


def test_fr_pue_drivers_and_fluxes(real_data_dir):
    sd = load_site(
        "FR-Pue",
        real_data_dir / "differland/FR-Pue.nc",
        fluxes=[real_data_dir / CALLMIP_PUE],
        co2=real_data_dir / CO2,
        end="2002-12-31",
    )
    assert sd.dates[0] == np.datetime64("2001-01-01") and sd.dates.size == 730
    assert sd.forcing.t_air.shape == (730, 24) and sd.pft_names == ("TmEv",)
    # daily means survive the disaggregation (SSRD in MJ m-2 d-1 → W m-2)
    drivers = read_site_file(real_data_dir / "differland/FR-Pue.nc").sel(
        time=slice("2001-01-01", "2002-12-31")
    )
    assert np.allclose(sd.forcing.sw_down.mean(axis=1)[1:-1], drivers["sw_down"].values[1:-1], rtol=0.02)
    # global CO2 (TRENDY 2001 ≈ 371 ppm), not the tower's
    assert 365e-6 < sd.forcing.co2.mean() < 376e-6
    obs = sd.obs
    # CalLMIP measured NEE first, DifferLand's tower NEE on the other days: every day has a value
    callmip = read_site_file(real_data_dir / CALLMIP_PUE).sel(time=slice("2001-01-01", "2002-12-31"))
    measured = np.isfinite(callmip["nee"].values)
    assert measured.sum() > 50
    assert np.allclose(obs["nee"].values[measured], callmip["nee"].values[measured])
    assert np.isfinite(obs["nee"].values).mean() > 0.9
    # LE from DifferLand ET where CalLMIP has none: LE = λ ET / 86400 s
    assert np.isfinite(obs["le"].values).mean() > 0.9
    ratio = obs["le"].values / obs["et"].values
    ok = np.isfinite(ratio) & (obs["et"].values > 0.5) & ~np.isfinite(callmip["le"].values)
    assert np.allclose(ratio[ok], 2.45e6 / 86400, rtol=0.02)
    assert "callmip" in sd.attrs["observation_sources"] and sd.attrs["pft"] == "TmEv"


def test_calibration_period(real_data_dir):
    sd = load_site(
        "US-Var", real_data_dir / "differland/US-Var.nc", co2=real_data_dir / CO2, end="2004-12-31"
    )
    assert calibration_period(sd, 2) == ("2002-01-01", "2003-12-31")
    with pytest.raises(ValueError, match="record ends 2004-12-31"):
        calibration_period(sd, 4)
    assert sd.pft_names == ("C3Gr",) and "le" in sd.obs and "h" not in sd.obs


def test_bad_site_inputs(real_data_dir, tmp_path):
    with pytest.raises(KeyError, match="FR-Pue"):
        load_site("XX-Nop", real_data_dir / "differland/FR-Pue.nc", co2=real_data_dir / CO2)
    with pytest.raises(ValueError, match="unknown site file type"):
        read_site_file(tmp_path / "drivers.grib")
    with pytest.raises(ValueError, match="no day between"):
        load_site(
            "FR-Pue", real_data_dir / "differland/FR-Pue.nc", co2=real_data_dir / CO2, start="2015-01-01"
        )


def test_sites_config_errors():
    ok = validate_sites_config({"sites": {"FR-Pue": {"drivers": "differland/FR-Pue.nc"}}})
    assert ok["split"]["calibration_years"] == 5 and ok["streams"] == ["nee", "le", "h"]
    bad = [
        ({"sites": {}}, "sites"),
        ({"sites": {"XX-Nop": {"drivers": "a.nc"}}}, "unknown site"),
        ({"sites": {"FR-Pue": {"driver": "a.nc"}}}, "did you mean 'drivers'"),
        ({"sites": {"FR-Pue": {"drivers": "a.nc", "pfts": [["Oak", 1.0]]}}}, "unknown PFT 'Oak'"),
        ({"sites": {"FR-Pue": {"drivers": "a.nc", "pfts": [["TmEv", 0.7], ["C3Gr", 0.6]]}}}, "sum to more"),
        ({"sites": {"FR-Pue": {"drivers": "a.nc"}}, "streams": ["fapar"]}, "streams"),
        ({"sites": {"FR-Pue": {"drivers": "a.nc", "start": "2001-02-30"}}}, "sites.FR-Pue.start"),
    ]
    for cfg, message in bad:
        with pytest.raises(ConfigError, match=message):
            validate_sites_config(cfg)
