"""Identical-twin experiment and batch behaviour of ``assimilate_pixel`` (obs_da_spec §6.9.4–5, §6.5)."""

import numpy as np
import pytest
from da_twin import PFTS, SETTINGS, stack

from tccas.da import (
    CONVERGED,
    MAX_ITER,
    NO_OBS,
    PADDING,
    AssimilationSettings,
    control_names,
    cost,
    diagnostics,
)
from tccas.obs import EO_STREAMS, STREAMS

ALL, NOOBS, PAD = 0, 5, 6


def row(out, i):
    return {k: v[i] for k, v in out.items()}


def test_output_contract(batch_result, layout):
    _, out = batch_result
    n = layout.size
    expected = {"status", "n_iter", "n_eval", "cost_prior", "cost_post", "dfs"}
    expected |= {f"n_obs_{s}" for s in STREAMS} | {f"cost_post_{s}" for s in STREAMS}
    for t in cost.TARGETS:
        expected |= {t, f"{t}_sd", f"{t}_prior", f"{t}_prior_sd", f"{t}_ur"}
    expected |= {"x_post", "x_prior", "x_sd_post", "x_sd_prior", "x_ur", "x_cov_post"}
    expected |= {f"series_{s}" for s in cost.SERIES}
    assert set(out) == expected
    assert out["x_post"].shape == (8, n) and out["series_nee"].shape == (8, 60)
    assert out["x_cov_post"].shape == (8, n, n)
    assert out["status"].dtype == np.int32
    assert len(control_names(PFTS, SETTINGS)) == n


def test_posterior_covariance_is_spd_and_matches_sd(batch_result):
    """x_cov_post (physical units) is symmetric positive definite, its diagonal is x_sd_post², and its
    correlations are not all zero (the scenario propagates them; obs_da_spec §6.6, §8)."""
    _, out = batch_result
    r = row(out, ALL)
    cov = r["x_cov_post"]
    np.testing.assert_allclose(cov, cov.T, rtol=1e-10, atol=1e-300)
    assert np.linalg.eigvalsh(cov / np.outer(r["x_sd_post"], r["x_sd_post"])).min() > 0
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), r["x_sd_post"], rtol=1e-10)
    corr = cov / np.outer(r["x_sd_post"], r["x_sd_post"])
    assert np.abs(corr - np.eye(corr.shape[0])).max() > 0.1


def test_twin_all_streams(batch_result, twin):
    _, out = batch_result
    r = row(out, ALL)
    n_obs = sum(int(r[f"n_obs_{s}"]) for s in STREAMS)
    assert r["status"] in (CONVERGED, MAX_ITER)
    assert (r["status"] == MAX_ITER) == (r["n_iter"] == SETTINGS.max_iter)
    assert r["n_eval"] > r["n_iter"]  # the start point plus at least one trial per accepted iteration
    # cost decrease: E[J_prior − J_min] = ½ tr(GᵀG) ≥ DFS/2 (linear-Gaussian); χ²: E[2 J_min] = n_obs
    assert r["cost_prior"] - r["cost_post"] > 0.5 * r["dfs"]
    assert abs(2 * r["cost_post"] - n_obs) < 4 * np.sqrt(2 * n_obs)
    assert r["dfs"] > 2
    # controls within 1 σ_post of the truth: expected 68 %; one realisation of n controls scatters
    # binomially, so accept down to 2 binomial standard deviations below 68 % (an underestimated σ_post,
    # e.g. by a factor 2, gives ≈ 38 % and fails)
    within = np.abs(r["x_post"] - twin["x_true"]) <= r["x_sd_post"]
    n_c = within.size
    assert within.mean() >= 0.68 - 2 * np.sqrt(0.68 * 0.32 / n_c), within.mean()
    # targets within 2 σ of the truth; posterior σ not larger than prior σ for NEE/biomass
    for t in ("nee_total", "nee_mean", "woody_biomass", "gpp_mean", "lai_mean"):
        assert abs(r[t] - twin["targets"][t]) <= 2 * r[f"{t}_sd"], t
    assert r["nee_total_ur"] > 0.05 and r["lai_mean_ur"] > 0.05
    np.testing.assert_allclose(r["nee_total"], r["series_nee"].sum(), rtol=1e-10)
    np.testing.assert_allclose(r["woody_biomass"], r["series_woody_biomass"][-1], rtol=1e-12)
    lo, hi = np.asarray(twin["prior"].lower), np.asarray(twin["prior"].upper)
    assert np.all((r["x_post"] >= lo - 1e-9 * np.abs(lo)) & (r["x_post"] <= hi + 1e-9 * np.abs(hi)))


@pytest.mark.parametrize("k,stream", list(enumerate(EO_STREAMS, start=1)))
def test_each_stream_alone(batch_result, k, stream):
    _, out = batch_result
    r = row(out, k)
    assert int(r[f"n_obs_{stream}"]) > 0
    assert all(int(r[f"n_obs_{s}"]) == 0 for s in STREAMS if s != stream)
    assert r["status"] in (CONVERGED, MAX_ITER)
    assert r["cost_post"] < r["cost_prior"]
    assert r["dfs"] > 0.3
    assert all(r[f"cost_post_{s}"] == 0 for s in STREAMS if s != stream)
    assert np.all(r["x_sd_post"] <= r["x_sd_prior"] * (1 + 1e-9))


def test_no_obs_returns_prior(batch_result):
    _, out = batch_result
    r = row(out, NOOBS)
    assert r["status"] == NO_OBS and r["n_iter"] == 0 and r["n_eval"] == 0
    np.testing.assert_array_equal(r["x_post"], r["x_prior"])
    np.testing.assert_allclose(r["x_sd_post"], r["x_sd_prior"], rtol=1e-12)
    np.testing.assert_allclose(r["dfs"], 0.0, atol=1e-12)
    assert r["cost_prior"] == 0 and r["cost_post"] == 0
    for t in cost.TARGETS:
        np.testing.assert_allclose(r[t], r[f"{t}_prior"], rtol=1e-12)


def test_padding_pixel_is_flagged_and_nan(batch_result):
    _, out = batch_result
    r = row(out, PAD)
    assert r["status"] == PADDING
    assert np.all(np.isnan(r["x_post"])) and np.isnan(r["cost_post"])
    for i in range(8):
        if i != PAD:
            assert np.all(np.isfinite(out["x_post"][i])) and np.isfinite(out["cost_post"][i])


def test_neighbour_invariance(batch_result, assimilate_batch):
    """The same pixel gives identical results with other neighbours / another position in the batch."""
    members, out = batch_result
    order = [6, 7, 5, 4, 3, 2, 1, 0]
    shuffled = assimilate_batch(stack([members[i] for i in order]))
    for pos, i in enumerate(order):
        for k in ("x_post", "x_sd_post", "status", "n_iter", "cost_post", "nee_total_sd"):
            np.testing.assert_array_equal(shuffled[k][pos], out[k][i], err_msg=f"{k} of pixel {i}")
    np.testing.assert_array_equal(out["x_post"][7], out["x_post"][0])


def test_diagnostic_tables(batch_result):
    _, out = batch_result
    r = row(out, ALL)
    names = control_names(PFTS, SETTINGS)
    table = diagnostics.control_table(names, r["x_prior"], r["x_post"], r["x_sd_prior"], r["x_sd_post"])
    lines = table.splitlines()
    assert len(lines) == len(names) + 1 and "Chg[%sx0]" in lines[0]
    assert names[0] in lines[1]
    line = diagnostics.summary_line(r, {0: "converged", 1: "max_iter"})
    assert "n_fapar=" in line


def test_settings_validation():
    with pytest.raises(ValueError, match="posterior"):
        AssimilationSettings(posterior="laplace")
    with pytest.raises(ValueError, match="stream"):
        AssimilationSettings(streams=("fapar", "co2"))
    cfg = {
        "assimilation": {"max_iter": 7, "posterior": "hessian"},
        "streams": {"sif": {"enabled": False}, "vod": {"sigma_model_rel": 0.3}},
        "model": {"ra_scheme": "bethy"},
    }
    s = AssimilationSettings.from_config(cfg)
    assert s.max_iter == 7 and s.posterior == "hessian" and "sif" not in s.streams
    assert s.error_model("vod").sigma_model_rel == 0.3
    assert not any(n.startswith("sif_") for n in control_names(PFTS, s))


def test_target_uncertainty_reduction_in_unit_interval(batch_result):
    """Default prior_jacobian="posterior": σ_prior and σ_post of every target use the same Jacobian, so
    0 ≤ UR ≤ 1 exactly for every real pixel (obs_da_spec §6.7)."""
    _, out = batch_result
    real = out["status"] != PADDING
    for t in cost.TARGETS:
        ur = out[f"{t}_ur"][real]
        assert np.all((ur >= -1e-12) & (ur <= 1.0)), (t, ur)


def test_prior_jacobian_setting_is_validated():
    with pytest.raises(ValueError, match="prior_jacobian"):
        AssimilationSettings(prior_jacobian="both")


@pytest.mark.parametrize(("n", "chunk"), [(50, 16), (48, 16), (5, 16), (7, 1), (1, 3), (10, 4)])
def test_map_unit_tangents_columns_in_one_traced_body(n, chunk):
    """Columns of a linear map by unit tangents, in equal padded chunks: exact values, padding dropped, and
    the mapped function traced once (a lax.map remainder would trace a second copy of the model)."""
    import jax.numpy as jnp

    from tccas.da.pixel import map_unit_tangents

    a = np.random.default_rng(n).normal(size=(3, n))
    traces = []

    def fn(v):
        traces.append(v.shape)
        return jnp.asarray(a) @ v, jnp.sum(v)

    cols, sums = map_unit_tangents(fn, n, chunk)
    assert cols.shape == (n, 3) and sums.shape == (n,)
    np.testing.assert_array_equal(np.asarray(cols), a.T)
    np.testing.assert_array_equal(np.asarray(sums), np.ones(n))
    assert len(traces) == 1


@pytest.mark.parametrize(("m", "chunk"), [(7, 3), (6, 3), (1, 4), (5, 1)])
def test_map_in_chunks_maps_pytree_rows_with_padding_dropped(m, chunk):
    """Rows of a pytree (the pixels of a batch) through equal chunks padded with copies of the last row:
    every real row's value, nothing of the padding, one traced body."""
    import jax.numpy as jnp

    from tccas.da.pixel import map_in_chunks

    rng = np.random.default_rng(m)
    xs = {"a": rng.normal(size=(m, 2, 3)), "b": rng.normal(size=(m,))}
    traces = []

    def fn(row):
        traces.append(row["a"].shape)
        return {"s": jnp.sum(row["a"]) * row["b"], "t": row["a"][0] + row["b"]}

    out = map_in_chunks(fn, xs, chunk)
    np.testing.assert_allclose(np.asarray(out["s"]), xs["a"].sum(axis=(1, 2)) * xs["b"], rtol=1e-14)
    np.testing.assert_allclose(np.asarray(out["t"]), xs["a"][:, 0] + xs["b"][:, None], rtol=1e-14)
    assert len(traces) == 1


def test_refilled_solver_slots_match_the_vmapped_solver(batch_result):
    """Two solver slots refilled from the batch of 8 (tccas.pipeline.assimilate.assimilate_refilled) and the
    posterior in 3 chunks of 3 (one padding pixel) give every pixel the result of the vmapped
    assimilate_pixel: same evaluations, statuses and posterior."""
    import jax

    from tccas.pipeline.assimilate import assimilate_refilled

    members, out = batch_result
    refilled = jax.jit(lambda b: assimilate_refilled(b, SETTINGS, 2, posterior_pixels=3))(stack(members))
    refilled = {k: np.asarray(v) for k, v in refilled.items()}
    assert set(refilled) == set(out)
    for key in ("status", "n_iter", "n_eval"):
        np.testing.assert_array_equal(refilled[key], out[key], err_msg=key)
    assert len(set(out["n_eval"][out["status"] < NO_OBS].tolist())) > 1  # the slots did refill unevenly
    for key in ("x_post", "x_sd_post", "cost_post", "nee_total_sd", "series_sif743"):
        np.testing.assert_allclose(refilled[key], out[key], rtol=1e-9, atol=1e-12, err_msg=key)
    with pytest.raises(ValueError, match="solver slots of 3"):
        assimilate_refilled(stack(members), SETTINGS, 3)


def test_coloured_jacobian_equals_the_forward_jacobian():
    """The posterior's Jacobians (one model tangent per control slot shared by all tiles, per-tile lanes
    through the operators; tccas.da.controls.jacobian_colouring) equal jax.jacfwd of the residuals and
    targets, with a padding tile, global model controls and operator controls in x."""
    import jax
    import jax.numpy as jnp

    from tccas import model
    from tccas.da import ObsStream, PixelProblem, controls
    from tccas.da.pixel import _linearise, layout_for

    n_days, lat, lon = 8, 39.94, -5.77
    settings = AssimilationSettings(controls=(*controls.DEFAULT_ACTIVE, "omega", "c_w"), jacobian_chunk=5)
    rng = np.random.default_rng(5)
    obs = {}
    for s in STREAMS:
        hours = np.sort(rng.choice(n_days * 24, size=6, replace=False)).astype(np.int32)
        obs[s] = ObsStream(hours, rng.uniform(0.1, 0.5, 6), np.full(6, 0.1), np.zeros(6), np.ones(6))
    pfts = np.array([3, 9, 0], dtype=np.int32)
    problem = PixelProblem(
        model.synthetic_forcing(lat, lon, "2018-05-01", n_days, seed=2),
        model.synthetic_forcing(lat, lon, "2018-05-01", 2, seed=2),
        model.default_site(lat, lon),
        pfts,
        np.array([0.7, 0.3, 0.0]),
        obs,
        np.asarray(1.0),
    )
    problem = jax.tree_util.tree_map(jnp.asarray, problem)
    layout = layout_for(3, settings)
    pr = controls.prior(layout, pfts)
    data = cost.all_stream_data(problem, settings)
    col = controls.jacobian_colouring(layout)
    assert len(col.colours) == 19 + 2 and len(col.operator) == 3 * 2 + 8

    def flat(u):
        ev = cost.evaluate(u, problem, layout, pr, settings, data)
        res = jnp.concatenate([ev.residuals[s] for s in STREAMS])
        return res, jnp.stack([ev.targets[t] for t in cost.TARGETS])

    u = pr.x0 / pr.sigma0 * (1.0 + 0.05 * jnp.asarray(rng.standard_normal(layout.size)))
    res, tgt, _, g_res, a_tgt = jax.jit(lambda v: _linearise(v, problem, layout, pr, settings, data))(u)
    ref_res, ref_tgt = jax.jit(jax.jacfwd(flat))(u)
    for mine, ref in zip((res, tgt), flat(u), strict=True):
        np.testing.assert_allclose(np.asarray(mine), np.asarray(ref), rtol=1e-12, atol=1e-12)
    for mine, ref, n_seen in ((g_res, ref_res, 40), (a_tgt, ref_tgt, 35)):
        mine, ref = np.asarray(mine), np.asarray(ref)
        assert np.any(ref != 0.0, axis=0).sum() >= n_seen, np.any(ref != 0.0, axis=0).sum()
        np.testing.assert_allclose(mine, ref, rtol=1e-9, atol=1e-9 * np.max(np.abs(ref)))
