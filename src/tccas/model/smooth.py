"""Smooth, differentiable replacements of min/max/step used throughout the model (model_spec §3 notation).

BETHY uses the same forms (``mo_helper.f90`` [B]). All functions are safe for reverse-mode AD at their
kinks: no ``sqrt(0)``, no overflowing exponentials in the unselected branch of ``jnp.where``.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import erf

_RADICAND_FLOOR = 1e-30


def smin(x, y, eta=0.99):
    """Co-limitation minimum ``(x+y - sqrt((x+y)^2 - 4 eta x y)) / (2 eta)`` (model_spec §3).

    The smaller root of ``eta z^2 - (x+y) z + x y = 0``; ``smin <= min(x, y)`` and ``smin(x, 0) = 0`` for
    ``x >= 0``; evaluated without cancellation when x + y > 0, so tiny x against large y keeps full
    relative precision. The radicand is floored at 1e-30 so that the gradient stays finite at ``x = y = 0``.
    """
    s = x + y
    root = jnp.sqrt(jnp.maximum(s * s - 4.0 * eta * x * y, 0.0) + _RADICAND_FLOOR)
    pos = s > 0.0
    # s > 0: cancellation-free form 2xy/(s + root) (product of the roots is xy/η); exact when x ≪ y
    stable = 2.0 * x * y / jnp.where(pos, s + root, 1.0)
    return jnp.where(pos, stable, (s - root) / (2.0 * eta))


def smax(x, y, eta=0.99):
    """Smooth maximum, the larger root of the ``smin`` quadratic (model_spec §3)."""
    s = x + y
    rad = jnp.maximum(s * s - 4.0 * eta * x * y, 0.0) + _RADICAND_FLOOR
    return (s + jnp.sqrt(rad)) / (2.0 * eta)


def minx(x, y, w):
    """Exponential-transition minimum of width ``w`` (model_spec §3, BETHY ``minx`` [B]).

    ``x - w exp((x - y)/w - 1)`` for ``x <= y + w``, else ``y``; C1-continuous, ``<= min(x, y)``.
    """
    arg = jnp.minimum((x - y) / w - 1.0, 0.0)
    return jnp.where(x <= y + w, x - w * jnp.exp(arg), y)


def maxx(x, y, w):
    """Exponential-transition maximum of width ``w``: ``-minx(-x, -y, w)``, ``>= max(x, y)`` (§3)."""
    arg = jnp.minimum((y - x) / w - 1.0, 0.0)
    return jnp.where(x >= y - w, x + w * jnp.exp(arg), y)


def step(x, w):
    """Smooth Heaviside ``(1 + erf(x/w)) / 2`` (model_spec §3, BETHY ``errf`` [B])."""
    return 0.5 * (1.0 + erf(x / w))


def safe_pos(x, floor):
    """Smooth strictly positive version of a non-negative quantity: ``sqrt(x^2 + floor^2)`` [D].

    Used as a denominator (e.g. layer LAI) where ``x`` may be exactly 0: the value is ``>= floor`` and the
    derivative stays bounded by 1.
    """
    return jnp.sqrt(x * x + floor * floor)
