"""Tile split and initial state of the new young-tree tile (obs_da_spec §8 step 3). Pure JAX, one pixel.

At the end of the assimilation window ``t_end`` a fraction ``φ`` of every grass tile's area is converted:

* areas: grass tile ``g`` keeps ``(1 − φ) a_g``; the new tile gets ``a_new = φ Σ_g a_g`` (its per-area state
  below is the area-weighted mean over the grass tiles, which conserves carbon and water when the pixel has
  more than one grass tile, e.g. C3Gr + C4Gr). The per-area state of every existing tile is unchanged.
* dead pools (litter, SOM) of the new tile = the grass tiles' per-area dead pools [brief];
* living pools (labile, foliage, fine roots, wood) = ``sapling_fraction`` (1 %) of the adult tree tile's
  per-area pools at ``t_end`` [brief];
* the removed grass living biomass either stays on site (``"litter"``: labile, foliage and fine roots to the
  litter pool, grass wood to SOM — DALEC2's own turnover routing, model_spec §3.8, since DALEC2 has no
  coarse-woody-debris pool) or leaves the pixel (``"export"``);
* water and snow state of the new tile = the grass tiles' per-area state (same soil) [D].

Bookkeeping (per unit pixel area): ``planted = a_new Σ living_new`` enters the pixel with the saplings,
``exported = φ Σ_g a_g Σ living_g`` leaves it (0 with ``"litter"``), so that the pixel carbon right after the
conversion equals the counterfactual's plus ``planted − exported`` (tested).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from tccas.model import Pools

LIVING = ("lab", "fol", "roo", "woo")


class Split(NamedTuple):
    """Area bookkeeping of the conversion (scalars unless noted).

    ``grass_weight`` ``(n_tiles,)``: each tile's share of the grass area (sums to 1 when there is grass, else
    one-hot on tile 0 so the new tile's state stays finite); ``delta_fraction`` ``(n_tiles + 1,)``: cover
    change intervention − counterfactual of the existing tiles and, last, the new tile; ``grass_area``
    ``Σ_g a_g``; ``converted`` ``φ Σ_g a_g``.
    """

    grass_weight: object
    delta_fraction: object
    grass_area: object
    converted: object


def split_tiles(fractions, pfts, grass_pfts: tuple[int, ...], fraction) -> Split:
    """Areas of the intervention relative to the counterfactual (obs_da_spec §8 step 3).

    ``fractions`` ``(n_tiles,)`` cover fractions, ``pfts`` ``(n_tiles,)`` int codes, ``fraction`` φ ∈ [0, 1]
    (traced). ``delta_fraction`` is exactly 0 at φ = 0, so every effect vanishes exactly there.
    """
    fractions = jnp.asarray(fractions, dtype=jnp.float64)
    pfts = jnp.asarray(pfts)
    is_grass = jnp.zeros(fractions.shape, dtype=bool)
    for code in grass_pfts:
        is_grass = is_grass | (pfts == code)
    grass_f = jnp.where(is_grass, fractions, 0.0)
    area = jnp.sum(grass_f)
    has = area > 0.0
    one_hot = (jnp.arange(fractions.shape[0]) == 0).astype(jnp.float64)
    weight = jnp.where(has, grass_f / jnp.where(has, area, 1.0), one_hot)
    converted = fraction * area
    delta = jnp.concatenate([-fraction * grass_f, converted[None]])
    return Split(weight, delta, area, converted)


def tree_source(fractions, pfts, tree_pft):
    """``(has_tree, index)``: whether the pixel has a tile of ``tree_pft`` (int, may be traced) with cover > 0
    and its index (the largest such tile; 0 if none)."""
    fractions = jnp.asarray(fractions, dtype=jnp.float64)
    candidate = jnp.where(jnp.asarray(pfts) == tree_pft, fractions, 0.0)
    return jnp.max(candidate) > 0.0, jnp.argmax(candidate)


def weighted(tree, weight):
    """Area-weighted mean over the tile axis of every leaf of a stacked per-tile pytree."""
    import jax

    return jax.tree_util.tree_map(lambda a: jnp.tensordot(weight, jnp.asarray(a), axes=(0, 0)), tree)


class NewPools(NamedTuple):
    """Per-area pools of the new tile and the per-pixel-area bookkeeping [gC m-2]."""

    pools: Pools
    planted: object
    exported: object


def new_tile_pools(
    grass_pools: Pools, adult_pools: Pools, split: Split, sapling_fraction: float, removed_biomass: str
) -> NewPools:
    """Carbon pools of the young-tree tile (obs_da_spec §8 step 3).

    ``grass_pools``: area-weighted per-area grass pools at ``t_end`` (:func:`weighted`); ``adult_pools``:
    per-area pools of the adult tree tile at ``t_end``. Units gC m-2 (tile area for pools, pixel area for
    ``planted``/``exported``).
    """
    living = {p: sapling_fraction * getattr(adult_pools, p) for p in LIVING}
    lit = grass_pools.lit
    som = grass_pools.som
    grass_living = grass_pools.lab + grass_pools.fol + grass_pools.roo + grass_pools.woo
    if removed_biomass == "litter":
        lit = lit + grass_pools.lab + grass_pools.fol + grass_pools.roo
        som = som + grass_pools.woo
        exported = jnp.zeros_like(split.converted)
    elif removed_biomass == "export":
        exported = split.converted * grass_living
    else:
        raise ValueError(f"removed_biomass must be 'litter' or 'export', got {removed_biomass!r}")
    pools = Pools(living["lab"], living["fol"], living["roo"], living["woo"], lit, som)
    planted = split.converted * (living["lab"] + living["fol"] + living["roo"] + living["woo"])
    return NewPools(pools, planted, exported)
