"""AD checks (model_spec §6.7): JAX gradient vs central finite differences for every parameter and
initial pool, a Taylor (tangent-linear) test, finite gradients in the singular regimes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from tccas import model as M

FD_STEPS = (1e-6, 1e-5, 1e-4)  # relative central-difference steps
SPINUP_ONLY = {"eta_woo", "eta_som"}  # tile parameters of the post-spin-up relaxation only


def _fd_points(x):
    """All perturbed parameter vectors of the FD check, one vmapped batch: (steps × ± × n, n)."""
    eye = np.eye(x.size)
    pts = [x * (1.0 + sign * rel * eye) for rel in FD_STEPS for sign in (1.0, -1.0)]
    return np.concatenate(pts)


def _objective(unravel):
    """Scalar touching every output family of one tile (the pft code is a traced argument, so C3 and
    C4 tiles share one compilation)."""

    def j(x, forcing, site, pft):
        tp, gp, pools = unravel(x)
        h, d, _ = M.run_tile(tp, gp, pools, forcing, site, pft)
        c_total = sum(d[k] for k in ("c_lab", "c_fol", "c_roo", "c_woo", "c_lit", "c_som"))
        return (
            jnp.sum(d["gpp"])
            + jnp.sum(d["nee"])
            + jnp.sum(d["lai"])
            + 1e-3 * jnp.sum(c_total)
            + jnp.sum(d["theta_surface"])
            + 0.01 * jnp.sum(d["w_r"])
            + jnp.sum(d["snow_swe"])
            + jnp.sum(d["f_e"])
            + 1e-3 * jnp.sum(h["j_a"])
            + 0.01 * jnp.sum(h["t_canopy"])
            + jnp.sum(h["fapar"])
        )

    return j


def _x0(pft, gp):
    return ravel_pytree((M.default_tile_params(pft), gp, M.default_pools(pft)))


@pytest.fixture(scope="session")
def ad_setup(gp):
    x0, unravel = _x0(4, gp)
    j = _objective(unravel)
    return x0, unravel, jax.jit(jax.grad(j)), jax.jit(jax.vmap(j, in_axes=(0, None, None, None)))


def _names(x0):
    names = [*M.TileParams._fields, *M.GlobalParams._fields, *(f"c_{n}0" for n in M.Pools._fields)]
    assert len(names) == x0.size  # ravel_pytree flattens the NamedTuples field by field
    return names


@pytest.fixture(scope="session")
def spring_sodankyla():
    """Sodankylä in snow-melt season (snow, frozen-soil transition and photosynthesis)."""
    return M.synthetic_forcing(67.37, 26.63, "2018-05-08", 6, seed=11), M.default_site(67.37, 26.63)


@pytest.mark.parametrize(("case", "pft"), [("summer", 4), ("summer", 10), ("spring", 5)])
def test_gradient_matches_central_fd(case, pft, ad_setup, forcing_summer, spring_sodankyla, gp):
    """Every tile parameter, global parameter and initial pool, for a C3 tree with N scaling (TmSg), a C4
    grass and a boreal conifer in snow melt (model_spec §6.7)."""
    _, _, grad, batched = ad_setup
    x0, _ = _x0(pft, gp)
    forcing, site = forcing_summer if case == "summer" else spring_sodankyla
    names = _names(x0)
    g = np.asarray(grad(x0, forcing, site, pft))
    x = np.asarray(x0)
    s_ad = g * x  # sensitivities dJ/dln x
    scale = np.abs(s_ad).max()
    vals = np.asarray(batched(jnp.asarray(_fd_points(x)), forcing, site, pft)).reshape(
        len(FD_STEPS), 2, x.size
    )
    errs = []
    for k, rel in enumerate(FD_STEPS):
        s_fd = (vals[k, 0] - vals[k, 1]) / (2 * rel)  # central difference in ln x
        errs.append(np.abs(s_ad - s_fd) / np.maximum(np.abs(s_ad), 1e-6 * scale))
    # FD step chosen per parameter: the best of three relative steps (round-off vs truncation)
    err = np.min(errs, axis=0)
    bad = [(names[i], s_ad[i], err[i]) for i in np.flatnonzero(err > 1e-5)]
    assert not bad, bad
    assert np.isfinite(g).all()
    # the check is not vacuous: most parameters the run uses move J (eta_woo, eta_som act only in the
    # steady-state relaxation after a spin-up, tccas.model.core.relax_steady_state, never in run_tile)
    used = np.array([n not in SPINUP_ONLY for n in names])
    assert np.count_nonzero(np.abs(s_ad[used]) > 1e-8 * scale) > 0.7 * used.sum()


def test_taylor_tangent_linear(ad_setup, forcing_summer):
    """|J(x + εδ) − J(x) − ε ∇J·δ| = O(ε²) (model_spec §6.7)."""
    x0, _, grad, batched = ad_setup
    forcing, site = forcing_summer
    rng = np.random.default_rng(0)
    delta = np.asarray(x0) * rng.normal(0.0, 1.0, x0.size) * 0.1
    eps = np.array([1.25e-2, 6.25e-3, 3.125e-3, 1.5625e-3])
    n_batch = 2 * len(FD_STEPS) * x0.size  # reuse the compiled FD batch shape
    xs = np.tile(np.asarray(x0), (n_batch, 1))
    xs[1 : 1 + eps.size] += eps[:, None] * delta
    vals = np.asarray(batched(jnp.asarray(xs), forcing, site, 4))
    lin = eps * float(np.dot(np.asarray(grad(x0, forcing, site, 4)), delta))
    resid = np.abs(vals[1 : 1 + eps.size] - vals[0] - lin)
    ratios = resid[:-1] / resid[1:]
    assert np.all((ratios > 3.5) & (ratios < 4.6)), (ratios, resid)  # halving ε quarters the residual


def _snow_onset_window():
    f = M.synthetic_forcing(67.37, 26.63, "2018-09-15", 80, seed=5)
    t, p = f.t_air.mean(1), f.precip.sum(1)
    day = int(np.flatnonzero((t < -1.0) & (p > 2.0))[0])  # first clearly snowy day
    window = slice(day - 2, day + 4)
    return M.Forcing(*(x[window] for x in f))


@pytest.mark.parametrize("regime", ["lai0", "polar_night", "snow_onset", "dry_soil"])
def test_no_nan_gradients(regime, ad_setup, forcing_polar_night):
    x0, unravel, grad, _ = ad_setup
    tp, gp_, pools = unravel(x0)
    if regime == "lai0":
        forcing, site = M.synthetic_forcing(52.17, 5.74, "2018-06-01", 6, seed=3), M.default_site(52.17, 5.74)
        pools = pools._replace(fol=jnp.zeros(()), lab=jnp.zeros(()))
    elif regime == "polar_night":
        forcing, site = forcing_polar_night
    elif regime == "snow_onset":
        forcing, site = _snow_onset_window(), M.default_site(67.37, 26.63)
        t_day, p_day = forcing.t_air.mean(1), forcing.precip.sum(1)
        assert t_day[2] < -1.0 and p_day[2] > 2.0  # snow falls on day 3 onto bare ground (swe0 = 0)
    else:
        forcing = M.synthetic_forcing(39.94, -5.77, "2018-07-15", 6, seed=9)
        site = M.default_site(39.94, -5.77)._replace(w_max=np.float64(3.0))
    x, _ = ravel_pytree((tp, gp_, pools))
    g = np.asarray(grad(x, forcing, site, 4))
    assert np.isfinite(g).all()
    assert np.abs(g).max() > 0.0
