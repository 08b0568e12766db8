"""Linear (Laplace) propagation of control covariances to scenario targets (obs_da_spec §6.7, §8 step 5).

For a differentiable target vector ``y = N(x)`` of the controls ``x`` [physical units]:

``C_y,post = A C_x,post Aᵀ`` with ``A = ∂N/∂x`` at ``x_post``, and ``C_y,prior = A0 C0 A0ᵀ`` with
``A0 = ∂N/∂x`` at the prior mean ``x0`` (obs_da_spec §6.7 [D]: both Jacobians are stated). The uncertainty
reduction is ``UR = 1 − σ_post/σ_prior``.

Conventions for degenerate targets (documented choice):

* ``σ_prior = 0`` (e.g. conversion fraction 0, or a target that does not depend on any uncertain control):
  ``UR = 0`` (no information gained, and no division by zero in value or gradient);
* a pixel without observations has ``x_post = x0`` and ``C_post = C0``, hence ``A = A0`` and ``UR = 0``
  exactly.

``UR`` can be negative in a strongly nonlinear pixel where the Jacobian at ``x_post`` is larger than at
``x0`` (the linearisations differ); it is reported as computed — clipping would hide that the Laplace
approximation is poor there (obs_da_spec §8 caveats; check with an ensemble).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp


class Propagated(NamedTuple):
    """Targets with their propagated uncertainty; every field has the target vector's shape.

    ``value``/``value_prior``: ``N(x_post)`` and ``N(x0)``; ``sd_post``/``sd_prior``: 1-σ [target units];
    ``ur``: ``1 − sd_post/sd_prior`` [1]. ``jacobian_post`` ``(n_targets, n_controls)`` is kept for
    combinations of targets (:func:`combination_sd`).
    """

    value: jax.Array
    value_prior: jax.Array
    sd_post: jax.Array
    sd_prior: jax.Array
    ur: jax.Array
    jacobian_post: jax.Array
    jacobian_prior: jax.Array


def quadratic_sd(jacobian: jax.Array, cov: jax.Array) -> jax.Array:
    """``sqrt(diag(A C Aᵀ))`` for ``A`` ``(n_targets, n)`` and a covariance ``C`` ``(n, n)`` (§6.7).

    The variance is floored at 0 before the square root (round-off of an indefinite-looking product) with a
    gradient-safe square root (``sqrt`` of exactly 0 has an infinite derivative).
    """
    var = jnp.einsum("ti,ij,tj->t", jacobian, cov, jacobian)
    var = jnp.maximum(var, 0.0)
    positive = var > 0.0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, var, 1.0)), 0.0)


def reduction(sd_post: jax.Array, sd_prior: jax.Array) -> jax.Array:
    """Uncertainty reduction ``UR = 1 − σ_post/σ_prior`` (obs_da_spec §6.7); 0 where ``σ_prior = 0``."""
    positive = sd_prior > 0.0
    return jnp.where(positive, 1.0 - sd_post / jnp.where(positive, sd_prior, 1.0), 0.0)


def propagate(
    target: Callable[[jax.Array], jax.Array],
    x_post: jax.Array,
    cov_post: jax.Array,
    x_prior: jax.Array,
    cov_prior: jax.Array,
) -> Propagated:
    """Propagate ``C_post`` (at ``x_post``) and ``C0`` (at ``x_prior``) through ``target`` (obs_da_spec §6.7).

    ``target`` maps the control vector ``(n,)`` to a target vector ``(n_targets,)``; its Jacobian is taken
    with ``jax.jacrev`` (one forward pass and ``n_targets`` vectorised adjoints), once at each point.
    Pure JAX: jit- and vmap-able.
    """
    value, jac_post = value_and_jacobian(target, x_post)
    value_prior, jac_prior = value_and_jacobian(target, x_prior)
    sd_post = quadratic_sd(jac_post, cov_post)
    sd_prior = quadratic_sd(jac_prior, cov_prior)
    return Propagated(
        value, value_prior, sd_post, sd_prior, reduction(sd_post, sd_prior), jac_post, jac_prior
    )


def combination_sd(weights: jax.Array, jacobian: jax.Array, cov: jax.Array) -> jax.Array:
    """1-σ of the linear combinations ``W y`` of targets, ``W`` ``(n_comb, n_targets)`` (obs_da_spec §6.7)."""
    return quadratic_sd(weights @ jacobian, cov)


def value_and_jacobian(fn: Callable, x: jax.Array, has_aux: bool = False):
    """``fn(x)`` and its reverse-mode Jacobian ``(n_targets, n)`` from ONE forward pass (``jax.vjp`` and
    vmapped unit cotangents, i.e. ``jax.jacrev`` without a second forward run). With ``has_aux`` ``fn``
    returns ``(targets, aux)`` and the result is ``(value, jacobian, aux)``."""
    if has_aux:
        value, vjp, aux = jax.vjp(fn, x, has_aux=True)
    else:
        value, vjp = jax.vjp(fn, x)
    (jac,) = jax.vmap(vjp)(jnp.eye(value.shape[0], dtype=value.dtype))
    return (value, jac, aux) if has_aux else (value, jac)
