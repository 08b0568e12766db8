import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tccas import model as M
from tccas.model import hydrology
from tccas.model.hydrology import WaterState

GP = M.default_global_params()
SITE = M.default_site(60.0, 20.0)


def _storage(w: WaterState):
    return w.w_r + w.w_s + w.w_i + w.swe


CASES = [
    # w_r, w_s, w_i, swe, depth, precip, t_mean, e_t, e_pc, e_ps, lai
    (150.0, 12.0, 0.1, 0.0, 0.0, 12.0, 12.0, 2.0, 3.0, 1.5, 3.0),  # rain on a canopy
    (
        224.9,
        16.8,
        0.0,
        0.0,
        0.0,
        150.0,
        15.0,
        1.0,
        2.0,
        1.0,
        2.0,
    ),  # flood: infiltration and saturation excess
    (0.05, 0.01, 0.0, 0.0, 0.0, 0.0, 25.0, 0.5, 6.0, 5.0, 1.0),  # dry soil: smooth floor booked to E_s
    (200.0, 15.0, 0.0, 80.0, 0.4, 5.0, -8.0, 0.0, -0.3, 0.4, 1.0),  # snowfall on a pack
    (200.0, 15.0, 0.0, 30.0, 0.1, 0.0, 6.0, 0.3, 1.0, 2.0, 0.0),  # melt, LAI 0
    (200.0, 15.0, 0.0, 0.0, 0.0, 4.0, 1.0, 0.0, 0.0, 0.0, 0.0),  # snow onset from bare ground
]


@pytest.mark.parametrize("case", CASES)
def test_water_balance_and_bounds(case):
    """ΔW_r + ΔW_s + ΔW_i + ΔS = P − E_t − E_s − E_i − E_sn − R_off, |err| < 1e-9 (model_spec §6.3)."""
    w_r, w_s, w_i, swe, depth, p, t, e_t, e_pc, e_ps, lai = case
    ws = WaterState(*(jnp.asarray(v) for v in (w_r, w_s, w_i, swe, depth, 0.5, t)))
    w_max = 225.0
    new, fl = hydrology.hydrology_step(ws, p, t, e_t, e_pc, e_ps, jnp.asarray(lai), 1.0, w_max, 0.2, SITE, GP)
    out = fl.transpiration + fl.evap_soil + fl.evap_interception + fl.sublimation + fl.runoff
    err = float(_storage(new) - _storage(ws) - (p - out))
    assert abs(err) < 1e-9
    w_s_max, _w_s_fc = hydrology.surface_capacities(SITE, GP)
    assert -1e-9 <= float(new.w_r) <= w_max + 1e-9
    assert -1e-9 <= float(new.w_s) <= float(w_s_max) + 1e-9
    assert float(new.swe) >= -1e-9 and float(new.snow_depth) >= -1e-12
    assert float(new.w_i) <= 0.1 * lai + 1e-6 and float(new.w_i) >= -1e-12
    assert float(fl.runoff) >= -1e-12 and float(fl.transpiration) >= -1e-9
    assert float(fl.evap_soil) >= -1e-3  # smooth-floor correction may make it (barely) negative
    assert 0.1 <= float(new.snow_albedo) <= 0.9


def test_snow_accumulates_below_zero_and_melts_above():
    ws = WaterState(*(jnp.asarray(v) for v in (200.0, 15.0, 0.0, 0.0, 0.0, 0.3, -5.0)))
    new, _fl = hydrology.hydrology_step(
        ws, 10.0, -5.0, 0.0, 0.0, 0.0, jnp.asarray(1.0), 1.0, 225.0, 0.2, SITE, GP
    )
    assert float(new.swe) == pytest.approx(10.0, rel=1e-6)
    assert float(new.snow_albedo) > 0.5
    _warm, fl2 = hydrology.hydrology_step(
        new, 0.0, 5.0, 0.0, 0.0, 0.0, jnp.asarray(1.0), 1.0, 225.0, 0.2, SITE, GP
    )
    assert float(fl2.melt) == pytest.approx(min(10.0, 3.22 * 5.0), rel=0.05)


def test_frozen_soil_switch():
    f_frozen = hydrology.f_soil_available(200.0, 225.0, -5.0, GP, True)
    f_warm = hydrology.f_soil_available(200.0, 225.0, 5.0, GP, True)
    assert float(f_frozen) < 1e-6
    assert float(f_warm) == pytest.approx(200.0 / 225.0, rel=1e-6)
    assert float(hydrology.f_soil_available(200.0, 225.0, -5.0, GP, False)) == pytest.approx(200.0 / 225.0)


def test_gradients_finite_dry_soil_and_snow_onset():
    def f(x):
        ws = WaterState(x[0], x[1], x[2], x[3], x[4], jnp.asarray(0.5), jnp.asarray(0.5))
        new, fl = hydrology.hydrology_step(
            ws, 4.0, 0.5, 0.2, 1.0, 2.0, jnp.asarray(0.0), 1.0, 225.0, 0.2, SITE, GP
        )
        return sum(jnp.sum(v) for v in new) + sum(fl)

    for x0 in ([0.0, 0.0, 0.0, 0.0, 0.0], [1e-4, 1e-3, 0.0, 0.0, 0.0]):
        g = jax.grad(f)(jnp.asarray(x0))
        assert np.isfinite(np.asarray(g)).all()
