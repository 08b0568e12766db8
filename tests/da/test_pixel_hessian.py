"""The full-Hessian posterior of ``assimilate_pixel`` (``posterior="hessian"``, obs_da_spec §6.6).

Its own file so that pytest-xdist (``--dist loadfile``) runs it beside test_pixel.py: it compiles the
posterior with forward-over-reverse Hessian columns and a vmapped cost gradient (≈ 3–5 min on 2 cores);
the optimum it linearises at comes from the session's twin batch (tests/da/conftest.py).
"""

import numpy as np
from da_twin import PFTS, SETTINGS

from tccas.da import cost


def test_full_hessian_posterior_is_the_inverse_finite_difference_hessian(batch_result):
    """posterior="hessian" (obs_da_spec §6.6): C_x = diag(σ0) H⁻¹ diag(σ0) with H the full Hessian of the
    cost in u-space (forward-over-reverse columns), checked against central finite differences of the
    cost gradient at the Gauss–Newton optimum of the twin pixel, where it differs from the Gauss–Newton
    covariance by the second-order residual terms. (At the prior of this pixel the full Hessian is
    indefinite and the setting falls back to Gauss–Newton, tests/da/test_posterior.py.)"""
    import dataclasses

    import jax
    import jax.numpy as jnp

    from tccas.da import assimilate_finish, controls, solver_start
    from tccas.da.pixel import layout_for

    settings = dataclasses.replace(SETTINGS, posterior="hessian", jacobian_chunk=25)
    members, gn = batch_result  # member 0: the twin pixel with all four streams
    problem = jax.tree_util.tree_map(jnp.asarray, members[0])
    layout = layout_for(PFTS.shape[0], settings)
    pr = controls.prior(layout, PFTS)
    sigma0 = np.asarray(pr.sigma0)
    u_hat = gn["x_post"][0] / sigma0

    def finish(p, u):
        return assimilate_finish(solver_start(p, settings)._replace(x=u), p, settings)

    out = jax.jit(finish)(problem, jnp.asarray(u_hat))
    j = cost.make_cost(problem, layout, pr, settings)
    n, eps = layout.size, 1e-4
    steps = np.concatenate([np.eye(n), -np.eye(n)]) * eps
    g = np.asarray(jax.jit(jax.vmap(jax.grad(j)))(jnp.asarray(u_hat + steps)))
    h = (g[:n] - g[n:]) / (2 * eps)
    h = 0.5 * (h + h.T)
    expected = sigma0[:, None] * np.linalg.inv(h) * sigma0[None, :]
    assert np.all(np.linalg.eigvalsh(h) > 0.0)
    scale = np.sqrt(np.outer(np.diag(expected), np.diag(expected)))
    np.testing.assert_allclose(np.asarray(out["x_cov_post"]) / scale, expected / scale, atol=1e-5)
    np.testing.assert_allclose(np.asarray(out["x_sd_post"]), np.sqrt(np.diag(expected)), rtol=1e-5)
    assert np.max(np.abs(gn["x_cov_post"][0] - expected) / scale) > 1e-3  # not the Gauss–Newton one
