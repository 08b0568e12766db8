"""Tests of the control-vector registry (obs_da_spec §6.1–6.2)."""

import jax.numpy as jnp
import numpy as np
import pytest

from tccas import model
from tccas.da import controls


def test_layout_and_prior_defaults():
    lay = controls.build_layout(2, streams=("fapar", "sif", "vod", "sm"))
    assert lay.size == 2 * 21 + 8
    names = controls.control_names(lay, [3, 9])
    assert names[0] == "vcmax25[0:TmEv]" and "vcmax25[1:C3Gr]" in names and names[-1] == "sm_b1"
    pr = controls.prior(lay, jnp.array([3, 9]))
    i = lay.index("vcmax25", 0)
    np.testing.assert_allclose(pr.x0[i], 41.0)
    np.testing.assert_allclose(pr.sigma0[i], 0.2 * 41.0)  # 20 % default
    j = lay.index("vod_l_wd")
    np.testing.assert_allclose(pr.sigma0[j] / pr.x0[j], 0.5)  # 50 % for poorly known operator parameters
    assert np.all(pr.lower <= pr.x0) and np.all(pr.x0 <= pr.upper) and np.all(pr.sigma0 > 0)


def test_unpack_roundtrip_and_inactive_fixed():
    lay = controls.build_layout(2, active=("vcmax25", "c_fol0", "sif_scale"), streams=("sif",))
    assert lay.names == ("vcmax25", "c_fol0", "vcmax25", "c_fol0", "sif_scale")
    x = jnp.array([50.0, 40.0, 30.0, 20.0, 1.5])
    up = controls.unpack(x, lay, jnp.array([3, 9]))
    np.testing.assert_allclose(up.tile_params.vcmax25, [50.0, 30.0])
    np.testing.assert_allclose(up.pools0.fol, [40.0, 20.0])
    assert float(up.operator["sif_scale"]) == 1.5
    np.testing.assert_allclose(
        up.tile_params.lma, [model.default_tile_params(3).lma, model.default_tile_params(9).lma]
    )
    np.testing.assert_allclose(up.operator["sm_b1"], 1.0)


def test_disabled_stream_drops_operator_controls_and_unknown_name():
    lay = controls.build_layout(1, streams=("fapar",))
    assert not any(n.startswith(("sif_", "vod_", "sm_")) for n in lay.names)
    with pytest.raises(KeyError, match="nonsense"):
        controls.build_layout(1, active=("nonsense",))


def test_padding_tile_prior_is_finite():
    lay = controls.build_layout(2)
    pr = controls.prior(lay, jnp.array([9, 0]))
    assert np.all(np.isfinite(pr.x0 / pr.sigma0)) and np.all(pr.sigma0 > 0)
