import pytest

from tccas import model as M
from tccas.model import respiration

GP = M.default_global_params()


def test_bethy_ra_maintenance_plus_growth():
    conv = respiration.umol_s_to_gc_h()
    assert conv == pytest.approx(12e-6 * 3600)
    ra = respiration.ra_bethy(10.0, 0.4, 1.0, GP)
    r_m = 0.4 / 0.4
    assert float(ra) == pytest.approx((r_m + (10.0 - r_m) * 0.2) * conv)
    assert float(respiration.ra_bethy(10.0, 0.4, 0.0, GP)) == 0.0  # frozen canopy: no Ra (C(T_c))


def test_fauto():
    tp = M.default_tile_params(5)
    assert float(respiration.ra_fauto(5.0, tp)) == pytest.approx(5.0 * 0.42)
