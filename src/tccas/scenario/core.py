"""Intervention and counterfactual runs of one pixel and their difference (obs_da_spec §8 steps 2–4).

Everything happens inside ONE pure-JAX function of explicit pytrees (:func:`run_scenario`), so that a wrapper
mapping the control vector to these pytrees (:mod:`tccas.scenario.pixel`) yields an effect that is one
differentiable function of x (obs_da_spec §8 step 5: shared-parameter correlations cancel correctly).

Procedure
---------
1. Window run (model_spec §1.3, §2.2): the pixel's tiles from ``pools0`` over spin-up + window forcing,
   plus one *adult reference* tile of the tree PFT (from its prior pools ``tree_pools0`` with the tree
   parameters, cover 0): if the pixel has no tile of the tree PFT, its end-of-window pools are the "adult
   tree pools from a spun-up run of the tree PFT at the same pixel" of obs_da_spec §8 step 3 [D]. With
   ``initial_state="equilibrium"`` (default; :class:`~tccas.scenario.settings.ScenarioSettings`) the
   spin-up is the steady state of the pixel's climate (:func:`equilibrate`); with ``"assimilated"`` it is
   the configured spin-up from the assimilated initial pools.
2. Conversion at the end of the window (:mod:`tccas.scenario.conversion`): a new young-tree tile.
3. Horizon run: ``lax.scan`` over the ``H`` recycled forcing years (:func:`tccas.scenario.settings.
   recycle_plan`), each year one ``run_tile`` per tile (vmapped over tiles) continued from the previous
   year's state; the year body is wrapped in ``jax.checkpoint`` so reverse-mode memory is bounded by one
   year of residuals plus one state per year.
4. Effect = intervention − counterfactual. Tiles of the D&B model are independent and only their cover
   fractions couple them (model_spec §1.2: grid-cell values are cover-weighted sums; ``run_pixel`` vmaps
   ``run_tile`` over tiles), so the per-area trajectory of every existing tile is the same in both runs and
   only the covers differ. Both runs therefore come out of ONE simulation of the existing tiles plus the
   new tile: for any per-area quantity ``q_k`` the effect is ``Σ_k Δa_k q_k`` with ``Δa`` the cover
   change (``−φ a_g`` for each grass tile, ``+φ Σ a_g`` for the new tile). This halves the cost compared
   with two separate runs and makes the effect exactly 0 (value and gradient) at φ = 0.

Targets (per unit pixel area, gC m-2): ``uptake`` = ΔU = Σ_t [NEP_I − NEP_C] over the horizon (NEP = −NEE,
obs_da_spec §8 step 4), ``d_pools`` = change of each pool over the horizon (from the state right after the
conversion), ``d_total = Σ d_pools``; by carbon conservation ``d_total = uptake`` (tested), and
``uptake_annual`` = ΔU cumulated to the end of each horizon year.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from tccas.model import (
    Forcing,
    GlobalParams,
    Pools,
    Site,
    TileParams,
    TileState,
    default_pools,
    default_tile_params,
    run_pixel,
    run_tile,
)
from tccas.scenario.conversion import new_tile_pools, split_tiles, tree_source, weighted
from tccas.scenario.settings import ScenarioSettings, recycle_plan

#: daily per-tile variables recorded for the time-series panels (``record_series``), model daily keys
SERIES_KEYS: tuple[str, ...] = ("w_r", "lai", "gpp", "ra", "nee", "c_lab", "c_woo", "c_som")
_SAFE_PFT = 9  # C3Gr: parameters substituted into padding tiles (cover 0), as tccas.model.run_pixel does


class ScenarioInputs(NamedTuple):
    """Explicit model inputs of ONE pixel (every float leaf differentiable).

    ``tile_params``/``pools0``: stacked over the pixel's ``n_tiles`` tiles (pools at the start of the
    spin-up); ``tree_params``/``tree_pools0``: unstacked parameters and initial pools of the tree PFT, used
    for the new tile and the adult reference tile when the pixel has no tile of the tree PFT; ``fractions``
    ``(n_tiles,)``, ``pfts`` int ``(n_tiles,)``; ``forcing`` (window) and ``spinup_forcing``: model
    ``Forcing``; ``site``: model ``Site``; ``tree_pft``: int32 scalar, the PFT code planted (one of
    :data:`~tccas.scenario.settings.TREE_PFTS`). The tree PFT is an input, not a static setting, so one
    compiled scenario serves every region whatever tree it plants.
    """

    tile_params: TileParams
    global_params: GlobalParams
    pools0: Pools
    tree_params: TileParams
    tree_pools0: Pools
    fractions: jax.Array
    pfts: jax.Array
    forcing: Forcing
    spinup_forcing: Forcing
    site: Site
    tree_pft: jax.Array


class ScenarioRun(NamedTuple):
    """Result of :func:`run_scenario` for one pixel (gC m-2 pixel area unless noted).

    ``uptake``, ``d_pools`` ``(6,)`` (lab, fol, roo, woo, lit, som), ``d_total``, ``uptake_annual`` ``(H,)``:
    the effects. ``planted``/``exported``: conversion bookkeeping; ``converted``: converted pixel fraction
    φ Σ a_g [1]; ``grass_area`` Σ a_g [1]; ``has_tree``: the pixel had a tile of the tree PFT [1/0].
    ``stock_c0``/``stock_c1``, ``stock_i0``/``stock_i1``: pixel total carbon of the counterfactual and the
    intervention at the start (just after the conversion) and end of the horizon; ``nep_c``/``nep_i``:
    cumulative pixel NEP of both over the horizon. ``new_woo`` ``(H + 1,)``: per-area wood of the new tile
    at the conversion and at the end of each year [gC m-2 tile]. ``series``: dict of daily per-tile series
    ``(n_tiles + 1, n_window_days + H·block)`` (window + horizon; last tile = new tile, which during the
    window holds the adult reference tile) when ``record_series``, else empty.
    """

    uptake: jax.Array
    d_pools: jax.Array
    d_total: jax.Array
    uptake_annual: jax.Array
    planted: jax.Array
    exported: jax.Array
    converted: jax.Array
    grass_area: jax.Array
    has_tree: jax.Array
    stock_c0: jax.Array
    stock_c1: jax.Array
    stock_i0: jax.Array
    stock_i1: jax.Array
    nep_c: jax.Array
    nep_i: jax.Array
    new_woo: jax.Array
    series: dict


def _stack_one(stacked, single):
    """Append one unstacked pytree as a last tile to a stacked pytree."""
    return jax.tree_util.tree_map(
        lambda a, b: jnp.concatenate([jnp.asarray(a), jnp.asarray(b)[None]]), stacked, single
    )


def _pick(tree, index):
    return jax.tree_util.tree_map(lambda a: jnp.asarray(a)[index], tree)


def _select(flag, a, b):
    return jax.tree_util.tree_map(lambda x, y: jnp.where(flag, x, y), a, b)


def _safe_params(tile_params: TileParams, real) -> TileParams:
    """Padding tiles (cover 0) get C3-grass parameters, exactly as ``run_pixel`` does inside the window,
    so the horizon continues them with the parameters that produced their (finite) state."""
    safe = default_tile_params(_SAFE_PFT)
    return TileParams(*(jnp.where(real, jnp.asarray(x), s) for x, s in zip(tile_params, safe, strict=True)))


def _pool_matrix(pools: Pools) -> jax.Array:
    """``(n_tiles, 6)`` matrix of stacked pools (order lab, fol, roo, woo, lit, som)."""
    return jnp.stack([jnp.asarray(p) for p in pools], axis=-1)


def equilibrate(tile_params: TileParams, global_params, pools0: Pools, real, pfts, forcing, site, options):
    """Pools of every tile at the steady state of the pixel's climate (the ``"equilibrium"`` initial state).

    The analytic steady state of the slow pools (model_spec §6.2, :func:`tccas.model.spinup` with
    ``steady_state_spinup``) is computed from the mean NPP of a pass over ``forcing``; from the assimilated
    initial pools that NPP belongs to a canopy still far from its own equilibrium (a grass canopy of LAI 0.35
    that grows to 1.8), and the SOM "steady state" taken from it is a third short, so the counterfactual grass
    would be a sink of ~100 gC m-2 yr-1 for decades. Two stages: a steady-state pass plus one adjusting pass
    bring the fast pools near equilibrium; the window run (:attr:`ScenarioSettings.window_options`) then
    recomputes the steady state from them. ``real``: tiles with cover > 0 (others run with the harmless
    C3-grass values of ``tccas.model.run_pixel``). Returns the stacked pools [gC m-2]."""
    from tccas.model import initial_state, spinup

    tp = _safe_params(tile_params, real)
    pools = Pools(*(jnp.where(real, jnp.asarray(x), y) for x, y in zip(pools0, default_pools(_SAFE_PFT),
                                                                        strict=True)))  # fmt: skip
    first = replace(options, steady_state_spinup=True, spinup_cycles=1)

    def one(tp_i, pools_i, pft_i):
        state = initial_state(pools_i, tp_i, site, forcing, global_params)
        return spinup(state, forcing, tp_i, global_params, pft_i, site, first).pools

    return jax.vmap(one)(tp, pools, jnp.where(real, pfts, _SAFE_PFT))


def run_scenario(inputs: ScenarioInputs, fraction, settings: ScenarioSettings) -> ScenarioRun:
    """Window run, conversion, horizon run and effects of one pixel (obs_da_spec §8 steps 1–4).

    ``fraction``: φ, share of the grass area converted (traced scalar in [0, 1]); ``settings`` static.
    Pure JAX: jit with ``settings`` static, vmap over pixels outside, differentiable w.r.t. every float
    leaf of ``inputs`` and ``fraction``.
    """
    s = settings
    fractions = jnp.asarray(inputs.fractions, dtype=jnp.float64)
    pfts = jnp.asarray(inputs.pfts, dtype=jnp.int32)
    n_tiles = fractions.shape[0]
    real = fractions > 0.0

    # --- 1. window run: existing tiles + adult reference tile of the tree PFT --------------------------
    tree_pft = jnp.asarray(inputs.tree_pft, dtype=jnp.int32)
    has_tree, tree_idx = tree_source(fractions, pfts, tree_pft)
    tree_tp = _select(has_tree, _pick(inputs.tile_params, tree_idx), inputs.tree_params)
    tp_w = _stack_one(inputs.tile_params, tree_tp)
    pools_w = _stack_one(inputs.pools0, inputs.tree_pools0)
    pfts_w = jnp.concatenate([pfts, tree_pft[None]])
    # the reference tile is given cover 1 here only so run_pixel does not treat it as padding; the pixel
    # aggregates of this call are not used
    cover_w = jnp.concatenate([fractions, jnp.ones((1,))])
    if s.initial_state == "equilibrium":
        pools_w = equilibrate(
            tp_w, inputs.global_params, pools_w, cover_w > 0.0, pfts_w, inputs.forcing, inputs.site, s.options
        )
    window = run_pixel(
        tp_w,
        inputs.global_params,
        pools_w,
        cover_w,
        inputs.forcing,
        inputs.site,
        options=s.window_options(),
        spinup_forcing=inputs.forcing if s.initial_state == "equilibrium" else inputs.spinup_forcing,
        pfts=pfts_w,
    )
    end: TileState = window.final
    end_tiles = _pick(end, jnp.arange(n_tiles))

    # --- 2. conversion -----------------------------------------------------------------------------
    split = split_tiles(fractions, pfts, s.grass_pfts, fraction)
    grass_state = weighted(end_tiles, split.grass_weight)
    adult_pools = _select(has_tree, _pick(end.pools, tree_idx), _pick(end.pools, n_tiles))
    new = new_tile_pools(grass_state.pools, adult_pools, split, s.sapling_fraction, s.removed_biomass)
    new_state = TileState(new.pools, grass_state.water)
    state_h = _stack_one(end_tiles, new_state)
    tp_h = _stack_one(_safe_params(inputs.tile_params, real), tree_tp)
    pfts_h = jnp.concatenate([jnp.where(real, pfts, _SAFE_PFT), tree_pft[None]])

    # --- 3. horizon run over recycled forcing years --------------------------------------------------
    n_window = np.shape(inputs.forcing.day_number)[0]
    block, cycle_index, shift = recycle_plan(n_window, s.horizon_years)
    n_cycles = n_window // block

    def cut(a):
        a = jnp.asarray(a)
        return a[: n_cycles * block].reshape((n_cycles, block, *a.shape[1:]))

    cycles = Forcing(*(cut(a) for a in inputs.forcing))

    def year(state, xs):
        k_cycle, k_shift = xs
        f = Forcing(*(a[k_cycle] for a in cycles))
        f = f._replace(day_number=f.day_number + k_shift)

        def one(tp_i, state_i, pft_i):
            _, daily, final = run_tile(
                tp_i, inputs.global_params, state_i.pools, f, inputs.site, pft_i, s.options, state0=state_i
            )
            return daily, final

        daily, final = jax.vmap(one)(tp_h, state, pfts_h)
        out = {"nee": jnp.sum(daily["nee"], axis=1), "pools": _pool_matrix(final.pools)}
        if s.record_series:
            out["series"] = {k: daily[k] for k in SERIES_KEYS}
        return final, out

    year_body = jax.checkpoint(year) if s.options.checkpoint else year
    _, per_year = jax.lax.scan(year_body, state_h, (jnp.asarray(cycle_index), jnp.asarray(shift)))

    # --- 4. effects ----------------------------------------------------------------------------------
    delta = split.delta_fraction  # (n_tiles + 1,)
    cover_c = jnp.concatenate([fractions, jnp.zeros((1,))])
    cover_i = cover_c + delta
    pools0_h = _pool_matrix(state_h.pools)  # (n_tiles + 1, 6) just after the conversion
    pools1_h = per_year["pools"][-1]
    nep_tile = -jnp.sum(per_year["nee"], axis=0)  # (n_tiles + 1,) cumulative per-area NEP
    nep_annual = -jnp.cumsum(per_year["nee"], axis=0)  # (H, n_tiles + 1)

    keep = (cover_c > 0.0) | (jnp.arange(n_tiles + 1) == n_tiles)

    def masked(m):  # padding tiles (cover 0 in both runs) never contribute, even if non-finite
        return jnp.where(keep.reshape(keep.shape + (1,) * (m.ndim - 1)), m, 0.0)

    d_pools = delta @ masked(pools1_h - pools0_h)
    uptake = delta @ masked(nep_tile)
    uptake_annual = masked(nep_annual.T).T @ delta
    total0 = jnp.sum(masked(pools0_h), axis=1)
    total1 = jnp.sum(masked(pools1_h), axis=1)
    series = {}
    if s.record_series:
        series = {
            k: jnp.concatenate(
                [window.daily[k], jnp.moveaxis(per_year["series"][k], 0, 1).reshape(n_tiles + 1, -1)], axis=1
            )
            for k in SERIES_KEYS
        }
    return ScenarioRun(
        uptake=uptake,
        d_pools=d_pools,
        d_total=jnp.sum(d_pools),
        uptake_annual=uptake_annual,
        planted=new.planted,
        exported=new.exported,
        converted=split.converted,
        grass_area=split.grass_area,
        has_tree=has_tree.astype(jnp.float64),
        stock_c0=cover_c @ total0,
        stock_c1=cover_c @ total1,
        stock_i0=cover_i @ total0,
        stock_i1=cover_i @ total1,
        nep_c=cover_c @ masked(nep_tile),
        nep_i=cover_i @ masked(nep_tile),
        new_woo=jnp.concatenate([state_h.pools.woo[-1:], per_year["pools"][:, -1, 3]]),
        series=series,
    )
