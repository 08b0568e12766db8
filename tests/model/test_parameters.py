import numpy as np
import pytest

from tccas import model as M
from tccas.model.parameters import N_PFT, TILE_PARAM_NAMES

DALEC17 = (
    "theta_min", "f_auto", "f_fol", "f_roo", "leaf_lifespan", "theta_woo", "theta_roo", "theta_lit",
    "theta_som", "temp_sens", "c_eff", "d_onset", "f_lab", "c_ronset", "d_fall", "c_rfall", "lma",
)  # fmt: skip


def test_pft_names():
    assert len(M.PFT_NAMES) == 14
    assert M.PFT_NAMES[5] == "EvCn" and M.PFT_NAMES[10] == "C4Gr"


def test_registry_covers_dalec17_and_bethy():
    names = {p.name for p in M.PARAMETERS}
    assert set(DALEC17) <= names
    assert {"vcmax25", "ajv", "e_c", "e_o", "e_v", "e_r", "e_k", "kc25", "ko25", "gamma_t", "alpha"} <= names
    assert set(M.TileParams._fields) == set(TILE_PARAM_NAMES)
    assert len(M.GlobalParams._fields) == len([p for p in M.PARAMETERS if not p.per_pft])


@pytest.mark.parametrize("spec", [*M.PARAMETERS, *M.POOL_SPECS], ids=lambda s: s.name)
def test_priors_within_bounds_and_documented(spec):
    prior = np.broadcast_to(spec.prior, (N_PFT,) if spec.per_pft else ())
    assert np.all(prior >= np.broadcast_to(spec.lower, prior.shape) - 1e-12), spec.name
    assert np.all(prior <= np.broadcast_to(spec.upper, prior.shape) + 1e-12), spec.name
    assert np.all(np.asarray(spec.sigma) >= 0)
    assert spec.units and spec.reference


def test_demo_priors_exact():
    tmev, evcn = M.default_tile_params(3), M.default_tile_params(5)
    assert float(evcn.lma) == 36.1 and float(tmev.f_fol) == 0.0498
    assert float(M.default_tile_params(7).vcmax25) == 52.0
    assert float(M.default_pools(9).som) == 15470.0
    assert float(M.param_spec("lma").sigma[5]) == pytest.approx(0.2 * 36.1)


def test_lookup_errors():
    with pytest.raises(KeyError, match="unknown model parameter"):
        M.param_spec("nope")
    with pytest.raises(ValueError, match="PFT code"):
        M.default_tile_params(14)


def test_defaults_accept_a_traced_pft():
    """Inside jit a traced PFT code gathers the same priors as a concrete one (the scenario's tree PFT)."""
    import jax

    traced = jax.jit(lambda p: (M.default_tile_params(p), M.default_pools(p)))
    for pft in (3, 5, 9):
        params, pools = traced(pft)
        want = (*M.default_tile_params(pft), *M.default_pools(pft))
        for got, expected in zip((*params, *pools), want, strict=True):
            assert float(got) == float(expected)
    assert traced._cache_size() == 1


def test_traits():
    tr = M.pft_traits(np.array([9, 10, 5]))
    assert np.asarray(tr.c4).tolist() == [0.0, 1.0, 0.0]
    assert np.asarray(tr.nscale).tolist() == [0.0, 0.0, 1.0]
