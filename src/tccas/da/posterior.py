"""Posterior covariance at the optimum (obs_da_spec §6.6), in u-space (``u = x/σ0``, prior C0 = I).

- Gauss–Newton: ``H_GN = I + Gᵀ G`` with ``G = ∂r/∂u`` the Jacobian of the normalised residuals
  ``r = mask (M(x) − d)/σ_d`` (so ``Gᵀ G = Jᵀ C_d⁻¹ J``); always SPD.
- Full Hessian ``∂²J/∂u²`` (forward-over-reverse); if it is not SPD at the optimum the Gauss–Newton
  Hessian is used instead and the fallback is reported.
- ``C_u = H⁻¹`` via Cholesky; physical space ``C_x = S C_u S``, ``S = diag(σ0)``; posterior σ, correlations,
  uncertainty reduction ``UR = 1 − σ_post/σ_prior``, degrees of freedom for signal ``DFS = tr(I − H⁻¹)``
  and the data-information spectrum (eigenvalues of ``H − I``).
All functions are pure JAX and branch-free (vmappable).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import jax.scipy.linalg as jsl


def gauss_newton_hessian(g_res):
    """``H_GN = I + Gᵀ G`` for the normalised-residual Jacobian ``g_res`` (n_obs, n_u) (obs_da_spec §6.6)."""
    n = g_res.shape[1]
    return jnp.eye(n) + g_res.T @ g_res


def is_spd(h):
    """True where the symmetric matrix ``h`` is positive definite (Cholesky succeeds with finite factor)."""
    chol = jnp.linalg.cholesky(0.5 * (h + h.T))
    return jnp.all(jnp.isfinite(chol)) & jnp.all(jnp.diagonal(chol) > 0)


def choose_hessian(h_full, h_gn):
    """Full Hessian where SPD, else Gauss–Newton (obs_da_spec §6.6). Returns ``(H, used_full: bool)``."""
    ok = is_spd(h_full)
    return jnp.where(ok, 0.5 * (h_full + h_full.T), h_gn), ok


def covariance(h):
    """``C_u = H⁻¹`` via Cholesky (obs_da_spec §6.6); symmetric by construction."""
    n = h.shape[0]
    chol = jnp.linalg.cholesky(0.5 * (h + h.T))
    inv_l = jsl.solve_triangular(chol, jnp.eye(n), lower=True)
    return inv_l.T @ inv_l


class PosteriorSummary(NamedTuple):
    """Posterior statistics in physical units (obs_da_spec §6.6)."""

    cov_u: jnp.ndarray  # (n, n) C_u = H⁻¹ (u-space)
    cov_x: jnp.ndarray  # (n, n) C_x = S C_u S
    sd_post: jnp.ndarray  # (n,)
    sd_prior: jnp.ndarray  # (n,)
    corr: jnp.ndarray  # (n, n)
    ur: jnp.ndarray  # (n,) 1 − σ_post/σ_prior
    dfs: jnp.ndarray  # scalar tr(I − H⁻¹)
    info_spectrum: jnp.ndarray  # (n,) eigenvalues of H − I, ascending


def summarise(h, sigma0) -> PosteriorSummary:
    """Posterior σ, correlations, UR, DFS and data-information spectrum from the u-space Hessian ``h``."""
    c_u = covariance(h)
    sd_u = jnp.sqrt(jnp.clip(jnp.diagonal(c_u), 0.0, None))
    cov_x = c_u * sigma0[:, None] * sigma0[None, :]
    corr = c_u / jnp.maximum(sd_u[:, None] * sd_u[None, :], 1e-300)
    n = h.shape[0]
    return PosteriorSummary(
        cov_u=c_u,
        cov_x=cov_x,
        sd_post=sigma0 * sd_u,
        sd_prior=sigma0,
        corr=corr,
        ur=1.0 - sd_u,
        dfs=n - jnp.trace(c_u),
        info_spectrum=jnp.linalg.eigvalsh(0.5 * (h + h.T) - jnp.eye(n)),
    )
