"""Propagation of prior and posterior uncertainty to target quantities (obs_da_spec §6.7).

For targets ``y = N(x)`` with Jacobians in u-space ``A = ∂N/∂u`` (= ∂N/∂x · diag(σ0)):
``C_y,post = A_post C_u A_postᵀ`` and ``C_y,prior = A_prior A_priorᵀ`` (prior C_u = I); the prior
Jacobian is taken at the prior and the posterior one at the posterior [D: both stated, §6.7].
``UR = 1 − σ_post/σ_prior``.
"""

from __future__ import annotations

import jax.numpy as jnp


def target_covariance(a, c_u):
    """``A C_u Aᵀ`` for the target Jacobian ``a`` (n_targets, n_u) in u-space (obs_da_spec §6.7)."""
    return a @ c_u @ a.T


def target_sd(a, c_u=None):
    """Target 1-σ: ``sqrt(diag(A C_u Aᵀ))``; ``c_u=None`` means the prior (identity in u-space)."""
    var = jnp.sum(a * a, axis=1) if c_u is None else jnp.sum((a @ c_u) * a, axis=1)
    return jnp.sqrt(jnp.clip(var, 0.0, None))


def uncertainty_reduction(sd_post, sd_prior):
    """``UR = 1 − σ_post/σ_prior`` (0 where the prior σ is 0: nothing to reduce)."""
    return jnp.where(sd_prior > 0, 1.0 - sd_post / jnp.where(sd_prior > 0, sd_prior, 1.0), 0.0)
