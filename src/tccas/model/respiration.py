"""Autotrophic respiration (model_spec §3.7).

Option A ("bethy", default): maintenance from leaf dark respiration, growth as a fixed fraction [B],
consistent with inference 1 of model_spec §0 (f_auto inert in D&B v1.0). Option B ("fauto"): the DALEC2
fixed fraction Ra = f_auto GPP [C]. Which one D&B uses is open ([?] model_spec §8 item 1).
"""

from __future__ import annotations

import jax.numpy as jnp

from tccas.model import constants as c


def ra_bethy(a_c, rd_c, cold, gp):
    """Option A: Ra = (R_m + R_g) M_C C(T_c) with R_m = Rd_c/f_RL, R_g = (A_c − R_m) c_g (model_spec §3.7).

    ``a_c``, ``rd_c`` canopy gross assimilation and dark respiration [µmol m-2 s-1]; returns Ra in
    gC m-2 h-1. R_g is negative when A_c < R_m (night); daily sums are what DALEC sees (§3.8).
    """
    r_m = rd_c / gp.f_rl
    r_g = (a_c - r_m) * gp.c_g
    return (r_m + r_g) * cold * umol_s_to_gc_h()


def ra_fauto(gpp, tp):
    """Option B: Ra = f_auto GPP (model_spec §3.7) [C]; any units."""
    return tp.f_auto * gpp


def umol_s_to_gc_h():
    """Conversion µmol CO2 m-2 s-1 → gC m-2 h-1 (M_C = 12 g mol-1, 3600 s)."""
    return 1e-6 * c.M_CARBON * c.SECONDS_PER_HOUR


def canopy_sum(x_layer, lai):
    """Σ_l x_l LAI_l over the 3 equal-LAI layers, layer axis first (model_spec §3.5 canopy integration)."""
    return jnp.sum(x_layer, axis=0) * (lai / c.N_LAYERS)
