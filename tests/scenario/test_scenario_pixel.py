"""Effect uncertainty as one differentiable function of the control vector (obs_da_spec §6.7, §8 step 5).

All tests share ONE compiled ``intervention_pixel`` (short configuration; one xdist worker per file).
"""

from __future__ import annotations

import numpy as np
import pytest
from scenario_inputs import TMEV, pixel_problem

from tccas.da.pixel import layout_for
from tccas.scenario import TARGET_NAMES, output_keys, unconverted_result


def _bayes_posterior(sd_prior: np.ndarray, seed: int = 0) -> np.ndarray:
    """A Gaussian-update posterior C = (C0⁻¹ + Gᵀ G)⁻¹ ≤ C0 (random informative 'observations')."""
    rng = np.random.default_rng(seed)
    n = sd_prior.size
    g = rng.normal(size=(8, n)) / sd_prior[None, :]
    h = np.diag(1.0 / sd_prior**2) + g.T @ g
    return np.linalg.inv(h)


@pytest.fixture(scope="module")
def informed(pixel_short, short_inputs, short_prior):
    x0, sd0 = (np.asarray(a) for a in short_prior)
    cov = _bayes_posterior(sd0)
    return pixel_short(pixel_problem(short_inputs), x0, cov, x0, sd0, 0.5, TMEV)


def test_fraction_zero_effect_and_sigma_are_exactly_zero(pixel_short, short_inputs, short_prior):
    x0, sd0 = (np.asarray(a) for a in short_prior)
    out = pixel_short(pixel_problem(short_inputs), x0, _bayes_posterior(sd0), x0, sd0, 0.0, TMEV)
    for name in TARGET_NAMES:
        for suffix in ("", "_sd", "_prior", "_prior_sd", "_ur"):
            assert float(out[f"{name}{suffix}"]) == 0.0, f"{name}{suffix}"
    assert np.all(np.asarray(out["uptake_annual"]) == 0.0)


def test_closed_form_for_unconverted_pixels_matches_the_model(
    pixel_short, short_inputs, short_prior, short_settings
):
    """The pipeline skips pixels without grass; their closed-form result must be what the model gives when
    nothing is converted (fraction 0): every key, except the grass area (0 without grass) and the undefined
    young-tree wood (NaN)."""
    x0, sd0 = (np.asarray(a) for a in short_prior)
    out = pixel_short(pixel_problem(short_inputs), x0, _bayes_posterior(sd0), x0, sd0, 0.0, TMEV)
    assert set(out) == set(output_keys(short_settings))
    closed = unconverted_result(float(out["has_tree"]), short_settings)
    assert set(closed) == set(out)
    for key, value in closed.items():
        if key.startswith("new_woo"):
            assert np.isnan(value)
        elif key == "grass_area":
            assert value == 0.0
        else:
            np.testing.assert_array_equal(np.asarray(out[key]), value, err_msg=key)


def test_uncertainty_reduction_in_unit_interval(informed):
    for name in TARGET_NAMES:
        ur = float(informed[f"{name}_ur"])
        assert 0.0 <= ur <= 1.0, name
        assert float(informed[f"{name}_sd"]) <= float(informed[f"{name}_prior_sd"]) + 1e-12
    assert float(informed["uptake_prior_sd"]) > 0.0
    assert float(informed["uptake_ur"]) > 0.0  # the random observations inform the controls
    # ΔU and the total-carbon effect are the same quantity (carbon conservation): same value and σ
    assert float(informed["d_total"]) == pytest.approx(float(informed["uptake"]), rel=1e-9)
    assert float(informed["d_total_sd"]) == pytest.approx(float(informed["uptake_sd"]), rel=1e-6)


def test_pixel_without_observations_has_zero_reduction(pixel_short, short_inputs, short_prior):
    x0, sd0 = (np.asarray(a) for a in short_prior)
    out = pixel_short(pixel_problem(short_inputs), x0, np.diag(sd0**2), x0, sd0, 0.5, TMEV)
    assert float(out["uptake_prior_sd"]) > 0.0
    for name in TARGET_NAMES:
        assert float(out[f"{name}_ur"]) == 0.0, name
        assert float(out[f"{name}_sd"]) == float(out[f"{name}_prior_sd"])
        # the posterior value comes from the Jacobian's forward pass, the prior one from a plain run: two XLA
        # programs, equal up to round-off (1 ulp apart with the 2018 Majadas forcing)
        assert float(out[name]) == pytest.approx(float(out[f"{name}_prior"]), rel=1e-12), name


def test_sigma_matches_finite_difference_propagation(pixel_short, short_inputs, short_prior, da_settings):
    """σ² = aᵀ C a: a covariance with one non-zero variance σ_i² (grass V_cmax25) must give |∂ΔU/∂x_i| σ_i,
    checked against a central finite difference of the effect itself."""
    x0, sd0 = (np.asarray(a) for a in short_prior)
    n = x0.size
    i = layout_for(2, da_settings).index("vcmax25", 1)
    cov = np.zeros((n, n))
    cov[i, i] = sd0[i] ** 2
    out = pixel_short(pixel_problem(short_inputs), x0, cov, x0, sd0, 0.5, TMEV)
    h = 1e-4 * abs(x0[i]) + 1e-8
    plus, minus = x0.copy(), x0.copy()
    plus[i] += h
    minus[i] -= h
    up = float(pixel_short(pixel_problem(short_inputs), plus, cov, plus, sd0, 0.5, TMEV)["uptake"])
    down = float(pixel_short(pixel_problem(short_inputs), minus, cov, minus, sd0, 0.5, TMEV)["uptake"])
    slope = (up - down) / (2 * h)
    assert slope != 0.0
    assert float(out["uptake_sd"]) == pytest.approx(abs(slope) * sd0[i], rel=1e-4, abs=1e-10)
