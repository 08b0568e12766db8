import pytest

from tccas import model as M
from tccas.model import snow

GP = M.default_global_params()


def test_phase_partition_and_fresh_density():
    assert float(snow.snow_fraction_of_precip(-5.0)) == 1.0
    assert float(snow.snow_fraction_of_precip(5.0)) == 0.0
    assert float(snow.snow_fraction_of_precip(1.1)) == pytest.approx(0.5)
    assert float(snow.fresh_snow_density(-20.0)) == pytest.approx(10 + 2.667 * 10)
    assert float(snow.fresh_snow_density(0.0)) == pytest.approx(50 + 1.7 * 15**1.5)


def test_snow_step_mass_balance_and_albedo_ageing():
    st = snow.snow_step(40.0, 0.2, 0.8, 0.0, 3.0, 0.5, 0.2, GP)
    assert float(st.swe) == pytest.approx(40.0 - float(st.melt) - float(st.sublimation), abs=1e-12)
    assert float(st.melt) == pytest.approx(3.22 * 3.0, rel=0.01)
    assert float(st.albedo) < 0.8  # shallow thawing snow ages
    assert 0.0 < float(st.depth) < 0.2
    empty = snow.snow_step(0.0, 0.0, 0.2, 0.0, 10.0, 2.0, 0.2, GP)
    assert abs(float(empty.swe)) < 1e-12 and abs(float(empty.melt)) < 1e-12
