"""Tile split and new-tile pools (obs_da_spec §8 step 3): pure bookkeeping, no model run."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from tccas.model import Pools
from tccas.scenario import new_tile_pools, split_tiles, tree_source
from tccas.scenario.conversion import weighted

GRASS = (9, 10)


def test_split_covers_and_weights():
    split = split_tiles(jnp.array([0.2, 0.5, 0.3]), jnp.array([3, 9, 10]), GRASS, 0.4)
    np.testing.assert_allclose(split.grass_weight, [0.0, 0.625, 0.375])
    np.testing.assert_allclose(split.delta_fraction, [0.0, -0.2, -0.12, 0.32])
    assert float(jnp.sum(split.delta_fraction)) == pytest.approx(0.0, abs=1e-15)
    assert float(split.grass_area) == pytest.approx(0.8)
    zero = split_tiles(jnp.array([0.2, 0.8]), jnp.array([3, 9]), GRASS, 0.0)
    assert np.all(np.asarray(zero.delta_fraction) == 0.0)


def test_split_without_grass_is_finite_and_inert():
    split = split_tiles(jnp.array([0.6, 0.4]), jnp.array([3, 5]), GRASS, 0.7)
    np.testing.assert_array_equal(split.delta_fraction, 0.0)
    np.testing.assert_array_equal(split.grass_weight, [1.0, 0.0])


def test_tree_source():
    has, idx = tree_source(jnp.array([0.3, 0.7]), jnp.array([9, 3]), 3)
    assert bool(has) and int(idx) == 1
    has, _ = tree_source(jnp.array([0.0, 1.0]), jnp.array([3, 9]), 3)  # tree tile of cover 0 = padding
    assert not bool(has)


@pytest.mark.parametrize("mode", ["litter", "export"])
def test_new_tile_pools_conserve_carbon(mode):
    fractions = jnp.array([0.3, 0.5, 0.2])
    pfts = jnp.array([3, 9, 10])
    per_area = Pools(
        *(
            jnp.array(v)
            for v in (
                [30.0, 60, 50],
                [40.0, 25, 20],
                [35.0, 10, 30],
                [7000.0, 90, 50],
                [13.0, 16, 30],
                [11800.0, 15000, 5000],
            )
        )
    )
    phi = 0.6
    split = split_tiles(fractions, pfts, GRASS, phi)
    grass = weighted(per_area, split.grass_weight)
    adult = Pools(*(getattr(per_area, f)[0] for f in Pools._fields))
    new = new_tile_pools(grass, adult, split, 0.01, mode)
    np.testing.assert_allclose([new.pools.lab, new.pools.woo], [0.3, 70.0])
    stocks = jnp.stack([jnp.asarray(p) for p in per_area], axis=-1).sum(axis=1)  # per tile
    before = float(fractions @ stocks)
    cover_after = fractions + split.delta_fraction[:3]
    after = float(cover_after @ stocks + split.converted * sum(float(p) for p in new.pools))
    assert after - before == pytest.approx(float(new.planted - new.exported), abs=1e-9)
    living = float(grass.lab + grass.fol + grass.roo + grass.woo)
    if mode == "export":
        assert float(new.exported) == pytest.approx(float(split.converted) * living)
        assert float(new.pools.lit) == pytest.approx(float(grass.lit))
    else:
        assert float(new.exported) == 0.0
        assert float(new.pools.lit + new.pools.som) == pytest.approx(float(grass.lit + grass.som) + living)


def test_unknown_removed_biomass_mode():
    split = split_tiles(jnp.array([1.0]), jnp.array([9]), GRASS, 0.5)
    pools = Pools(*(jnp.array(1.0) for _ in Pools._fields))
    with pytest.raises(ValueError, match="removed_biomass"):
        new_tile_pools(pools, pools, split, 0.01, "burn")
