"""Adjoint-performance helper: an exact identity that keeps XLA from duplicating shared cotangent work.

Why this exists (measured, see benchmarks/README.md "Process model"): in the reverse pass of the hourly
fast processes, XLA on CPU fuses the cheap elementwise cotangent graph of a value that feeds many
consumers (the photosynthetic capacities, the electron transport J, the pass-1 leaf fluxes, the canopy
water-control outputs) into *every* consumer's loop fusion, recomputing it there. A profile of one
vmapped day's VJP showed four loop fusions of ~500 ops and ~100 operands each taking ~40 % of the
backward time.
``lax.optimization_barrier`` does not help: the CPU pipeline removes it before fusion. A dot product is
never duplicated into elementwise fusions, so routing the tangent through a contraction with the identity
matrix makes XLA materialise the shared cotangent once.

The contraction is exact in IEEE arithmetic (each output is one product with 1.0 plus products with 0.0),
so the tangent and cotangent algebra is unchanged as long as tangents are finite (a non-finite entry
would spread along its last axis, 0 · inf = NaN, which the NaN-free-gradient tests of §6.7 would catch).
Forward values never see the contraction. Whole-model gradients agree with the unfenced ones to rounding
(4e-13 of the largest component over a year: XLA sums the surrounding reductions in another order).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def _identity_contraction(t):
    """t @ I over the last axis. 0-d leaves (hourly DALEC step's scalar hours) and the ``float0`` tangents
    of integer leaves (nothing to differentiate) pass unchanged."""
    if jnp.ndim(t) == 0 or t.dtype == jax.dtypes.float0:
        return t
    return jnp.einsum("...j,jk->...k", t, jnp.eye(t.shape[-1], dtype=t.dtype))


@jax.custom_jvp
def cotangent_barrier(x):
    """Identity on any pytree of arrays; its tangent (hence, transposed, its cotangent) goes through
    an exact identity contraction so that XLA computes the shared cotangent once (module docstring)."""
    return x


@cotangent_barrier.defjvp
def _cotangent_barrier_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return x, jax.tree.map(_identity_contraction, t)
