"""Tests of the JRC-TIP two-stream FAPAR operator (obs_da_spec §2.3–2.4)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import expn

from tccas.obs import fapar

# obs_da_spec §2.4 table: band, LAI, SZA, FAPAR_dir, albedo_dir, FAPAR_iso, albedo_iso, Ttot_iso
TABLE = [
    ("VIS", 0.5, 30, 0.23970, 0.06904, 0.33016, 0.06585, 0.67110),
    ("VIS", 0.5, 60, 0.35848, 0.07036, 0.33016, 0.06585, 0.67110),
    ("VIS", 1.5, 30, 0.55182, 0.04559, 0.64898, 0.04645, 0.33841),
    ("VIS", 1.5, 60, 0.71804, 0.05214, 0.64898, 0.04645, 0.33841),
    ("VIS", 3.0, 30, 0.78809, 0.03660, 0.84213, 0.04016, 0.13079),
    ("VIS", 6.0, 30, 0.93338, 0.03458, 0.94218, 0.03885, 0.02108),
    ("NIR", 1.5, 30, 0.29558, 0.23844, 0.36051, 0.25357, 0.47063),
    ("NIR", 3.0, 60, 0.55101, 0.30719, 0.52882, 0.27221, 0.24265),
]


@pytest.mark.parametrize("row", TABLE)
def test_check_values(row):
    band, lai, sza, *expected = row
    p = fapar.TIP_VIS if band == "VIS" else fapar.TIP_NIR
    out = fapar.twostream(p["r_l"], p["t_l"], p["r_g"], lai, 1.0, 1.0, np.cos(np.radians(sza)))
    got = [out[k] for k in ("fapar_dir", "albedo_dir", "fapar_iso", "albedo_iso", "ttot_iso")]
    np.testing.assert_allclose(got, expected, atol=6e-6)


def test_expint_matches_scipy():
    x = np.array([1e-6, 0.01, 0.3, 0.99, 1.0, 1.01, 2.0, 5.0, 20.0, 60.0])
    np.testing.assert_allclose(fapar.expint_e1(x), expn(1, x), rtol=1e-12)
    np.testing.assert_allclose(fapar.two_e3(x), 2 * expn(3, x), rtol=1e-9, atol=1e-300)
    assert float(fapar.two_e3(0.0)) == 1.0


def test_limits_and_closure():
    vis = fapar.TIP_VIS
    small = fapar.twostream(vis["r_l"], vis["t_l"], vis["r_g"], 1e-9, 1.0, 1.0, 0.7)
    assert abs(small["fapar_iso"]) < 1e-8 and abs(small["fapar_dir"]) < 1e-8
    np.testing.assert_allclose(small["albedo_dir"], vis["r_g"], atol=1e-8)
    np.testing.assert_allclose(small["ttot_iso"], 1.0, atol=1e-8)
    rng = np.random.default_rng(1)
    r_l, t_l = rng.uniform(0.01, 0.5, 50), rng.uniform(0.01, 0.45, 50)
    r_g, lai, mu = rng.uniform(0, 0.4, 50), rng.uniform(0, 12, 50), rng.uniform(0.1, 1, 50)
    out = fapar.twostream(r_l, t_l, r_g, lai, 0.8, 0.9, mu)
    for s in ("dir", "iso"):
        closure = out[f"fapar_{s}"] + out[f"albedo_{s}"] + out[f"soil_abs_{s}"]
        np.testing.assert_allclose(closure, 1.0, atol=1e-12)
        assert np.all((out[f"fapar_{s}"] >= 0) & (out[f"fapar_{s}"] <= 1))
    # black background: albedo equals the black-background reflectance
    bb = fapar.black_background(0.085, 0.085, 0.75, 0.8)
    np.testing.assert_allclose(fapar.twostream(0.085, 0.085, 0.0, 1.5, 1.0, 1.0, 0.8)["albedo_dir"], bb.r)
    # non-scattering leaves on a black soil: FAPAR_dir = 1 - exp(-tau/mu)
    out0 = fapar.twostream(0.0, 0.0, 0.0, 2.0, 1.0, 1.0, 0.6)
    np.testing.assert_allclose(out0["fapar_dir"], 1 - np.exp(-1.0 / 0.6), atol=1e-8)


def test_large_lai_no_overflow_and_monotone():
    lai = jnp.array([0.0, 0.5, 1, 2, 4, 8, 16, 50, 200])
    f = fapar.fapar_tile(lai, 1.0, 0.1)
    assert np.all(np.isfinite(f)) and np.all(np.diff(np.asarray(f)) > 0)


def _grad_all(r_l, t_l, lai, mu):
    def f(args):
        return fapar.twostream(args[0], args[1], 0.1, args[2], 1.0, 1.0, args[3])["fapar_dir"]

    return jax.grad(f)(jnp.array([r_l, t_l, lai, mu]))


def test_finite_gradients_at_singularities():
    vis = fapar.TIP_VIS
    w = vis["r_l"] + vis["t_l"]
    g1, g2 = 2 * (1 - w / 2), 2 * (w / 2)
    k = np.sqrt(g1**2 - g2**2)
    for args in [(0.085, 0.085, 1.5, 1 / k), (0.085, 0.085, 0.0, 0.7), (1e-12, 1e-12, 2.0, 0.6)]:
        g = _grad_all(*args)
        assert np.all(np.isfinite(g)), args
    # continuity across kμ = 1
    a = fapar.twostream(0.085, 0.085, 0.1, 1.5, 1.0, 1.0, 1 / k)["fapar_dir"]
    b = fapar.twostream(0.085, 0.085, 0.1, 1.5, 1.0, 1.0, 1 / k + 1e-4)["fapar_dir"]
    assert abs(float(a - b)) < 1e-4


def test_model_equivalent_aggregates_and_selects_day():
    lai = jnp.array([[0.5, 3.0], [1.0, 1.0]])  # 2 tiles, 2 days
    mu = jnp.full((2, 2, 24), 0.5)
    t_hour = jnp.array([5, 30], dtype=jnp.int32)
    zeta = jnp.array([1.0, 1.0])
    fr = jnp.array([0.6, 0.3])
    m = fapar.model_equivalent(lai, mu, mu, zeta, 0.1, fr, t_hour)
    expect = [
        0.6 * fapar.fapar_tile(0.5, 1, 0.1) + 0.3 * fapar.fapar_tile(1.0, 1, 0.1),
        0.6 * fapar.fapar_tile(3.0, 1, 0.1) + 0.3 * fapar.fapar_tile(1.0, 1, 0.1),
    ]
    np.testing.assert_allclose(m, expect, rtol=1e-12)
    mixed = fapar.model_equivalent(lai, mu, jnp.zeros_like(mu), zeta, 0.1, fr, t_hour, illumination="mixed")
    np.testing.assert_allclose(mixed, m, rtol=1e-12)  # zero direct fraction = isotropic
    with pytest.raises(ValueError, match="illumination"):
        fapar.model_equivalent(lai, mu, mu, zeta, 0.1, fr, t_hour, illumination="bad")
