import numpy as np
import pytest

from tccas import model as M
from tccas.model import met
from tccas.model.forcing import day_numbers


def test_ga_regression_dnb():
    """D&B ga = 0.16681 m/s for h = 15 m at u = 3 m/s (model_spec §0) [T]."""
    gp = M.default_global_params()
    assert float(met.aerodynamic_conductance(3.0, 15.0, gp)) == pytest.approx(0.16681, abs=5e-6)


def test_polar_night_and_midnight_sun_at_sodankyla():
    dn_winter = day_numbers("2018-12-21", 1)[0]
    dn_summer = day_numbers("2018-06-21", 1)[0]
    hours = np.arange(24) + 0.5
    mu_w = np.asarray(met.cos_zenith(dn_winter, hours, 67.37, 26.63))
    mu_s = np.asarray(met.cos_zenith(dn_summer, hours, 67.37, 26.63))
    assert mu_w.max() < 1e-3
    assert mu_s.min() > 0.0  # midnight sun
    assert np.argmax(mu_s) in (10, 11)  # local noon ~ 10:15 UTC at 26.6 E


def test_saturation_vapour_pressure():
    es, s = met.sat_vapour_pressure(np.array([0.0, 20.0, -10.0]), np)
    assert es[0] == pytest.approx(610.78)
    assert es[1] == pytest.approx(2337.0, rel=5e-3)
    assert es[2] == pytest.approx(259.9, rel=1e-2)
    assert np.all(s > 0)


def test_par_partition_bounds():
    f = M.synthetic_forcing(52.17, 5.74, "2018-06-01", 3, seed=0)
    mu = met.cos_zenith(f.day_number[:, None], np.arange(24) + 0.5, 52.17, 5.74)
    par, f_dir, _r, _ = met.par_partition(f.sw_down, mu, f.pressure, f.day_number)
    par, f_dir = np.asarray(par), np.asarray(f_dir)
    assert np.all(f_dir >= 0) and np.all(f_dir <= 1)
    assert np.all(par[np.asarray(mu) < 0] == 0)
    ratio = par[f.sw_down > 50] / f.sw_down[f.sw_down > 50] / 4.55  # PAR fraction of SW
    assert np.all((ratio > 0.42) & (ratio < 0.7))
