"""Leaf-nitrogen scaling of photosynthetic capacities with canopy depth (model_spec §3.4, NSCALE [B])."""

from __future__ import annotations

import jax.numpy as jnp

from tccas.model import constants as c
from tccas.model.radiation import layer_depths
from tccas.model.smooth import maxx, minx


def nitrogen_scaling(lai, mu_noon, nscale_flag, gp):
    """Relative capacity n_l of the 3 layers, shape (3, …) (layer axis first; model_spec §3.4) [B].

    k_N = 0.5/max(μ_noon, 1e-3); x = LAI smoothly clipped to [lailim, laimax];
    n_l = e^{−k_N L_{l−1}} (x − lailim)/(laimax − lailim) + (laimax − x)/(laimax − lailim).
    The upper clip at laimax is added here [D]: without it n_l turns negative below the top layer for
    LAI > laimax. Grasses, tundra and wetlands (``nscale_flag`` = 0) have n_l = 1.
    """
    k_n = 0.5 / jnp.maximum(mu_noon, 1e-3)
    x = minx(maxx(lai, gp.lai_lim, 0.1), gp.lai_max, 0.1)
    span = gp.lai_max - gp.lai_lim
    l_top = layer_depths(c.N_LAYERS, jnp.ndim(lai)) * lai
    n_tree = jnp.exp(-k_n * l_top) * ((x - gp.lai_lim) / span) + (gp.lai_max - x) / span
    return nscale_flag * n_tree + (1.0 - nscale_flag)
