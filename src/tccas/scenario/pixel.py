"""The scenario as ONE differentiable function of the control vector, and its uncertainty (obs_da_spec §8.5).

The control vector of the assimilation (``tccas.da`` registry, obs_da_spec §6.1) is extended by the process
parameters of the planted tree PFT (the same active per-tile process parameters as the DA's layout,
e.g. ``vcmax25``, ``f_fol``, ``theta_woo`` …) with their prior means and σ from the model registry:

``x_s = [x_DA, x_tree]``, ``C_s,post = blockdiag(C_x,post, C_tree,0)``,
``C_s,prior = blockdiag(C_0, C_tree,0)``.

If the pixel has a tile of the tree PFT, the scenario uses that tile's (assimilated) parameters and
``x_tree`` has no influence (zero Jacobian); otherwise the tree parameters are not constrained by the
observations and their prior uncertainty propagates with UR = 0 for that part (obs_da_spec §8 step 6,
first caveat) — leaving them out would understate σ.

Targets whose Jacobian is taken (order of :data:`JACOBIAN_TARGETS`): the six pool changes, one adjoint
each. ``d_total`` is their linear combination ``Σ d_pools`` and its σ comes from the same Jacobian
(:func:`~tccas.scenario.uncertainty.combination_sd`); ``uptake`` equals ``d_total`` by carbon conservation
(model_spec §6.1, tested to 1e-9 of the stock), so it shares that gradient and σ and costs no adjoint of its
own (its value is still the cumulative NEP difference). With ``settings.annual_sd`` the H-vector of annual
cumulative uptakes is appended.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tccas import model
from tccas.scenario.core import ScenarioInputs, ScenarioRun, run_scenario
from tccas.scenario.settings import ScenarioSettings
from tccas.scenario.targets import POOLS, STATISTICS, TARGET_NAMES
from tccas.scenario.uncertainty import combination_sd, quadratic_sd, reduction, value_and_jacobian

JACOBIAN_TARGETS: tuple[str, ...] = tuple(f"d_{p}" for p in POOLS)
#: Per-pixel diagnostics of :func:`intervention_pixel` next to the target statistics.
DIAGNOSTICS: tuple[str, ...] = (
    "planted",
    "exported",
    "converted_fraction",
    "grass_area",
    "has_tree",
    "new_woo_start",
    "new_woo_end",
)


def tree_control_names(layout) -> tuple[str, ...]:
    """Active per-tile process parameters of a ``tccas.da`` control layout (the extra tree controls)."""
    names = []
    for name, tile in zip(layout.names, layout.tiles, strict=True):
        if tile == 0 and name in model.TILE_PARAM_NAMES and name not in names:
            names.append(name)
    return tuple(names)


def tree_prior(names: tuple[str, ...], tree_pft) -> tuple[jax.Array, jax.Array]:
    """Prior mean and absolute 1-σ of the tree PFT's extra controls (model registry, model_spec §4);
    ``tree_pft`` may be traced (:func:`tccas.da.controls.registry_table`)."""
    from tccas.da import controls

    mean, sd = (
        jnp.asarray([controls.registry_table(n, field)[tree_pft] for n in names], dtype=jnp.float64)
        for field in ("prior", "sigma")
    )
    return mean, sd


def tree_params_from(x_tree, names: tuple[str, ...], tree_pft) -> model.TileParams:
    """Tree-PFT parameters: registry priors with the extra controls ``x_tree`` substituted (``tree_pft`` may
    be traced)."""
    params = model.default_tile_params(tree_pft)
    return params._replace(**{n: x_tree[i] for i, n in enumerate(names)})


def target_vector(run: ScenarioRun, settings: ScenarioSettings) -> jax.Array:
    """The scenario targets whose Jacobian is taken (:data:`JACOBIAN_TARGETS`, + annual uptake)."""
    parts = [run.d_pools]
    if settings.annual_sd:
        parts.append(run.uptake_annual)
    return jnp.concatenate(parts)


def output_keys(settings: ScenarioSettings) -> tuple[str, ...]:
    """Keys of the dict returned by :func:`intervention_pixel` for ``settings`` (without ``series_*``)."""
    keys = [f"{name}{suffix}" for name in TARGET_NAMES for suffix in STATISTICS]
    keys.append("uptake_annual")
    if settings.annual_sd:
        keys += ["uptake_annual_sd", "uptake_annual_prior_sd"]
    return (*keys, *DIAGNOSTICS)


def unconverted_result(has_tree: float, settings: ScenarioSettings) -> dict[str, np.ndarray]:
    """:func:`intervention_pixel` of a pixel without a grass tile, in closed form (NumPy): nothing is
    converted, so every effect, σ and prior is exactly 0 (obs_da_spec §8; UR 0 where σ_prior = 0, as in
    :func:`~tccas.scenario.uncertainty.reduction`) and the young-tree wood is undefined (NaN). The pipeline
    uses it instead of running the horizon for such pixels."""
    out = {
        k: np.zeros(settings.horizon_years) if k.startswith("uptake_annual") else np.float64(0.0)
        for k in output_keys(settings)
    }
    out["has_tree"] = np.float64(has_tree)
    out["new_woo_start"] = out["new_woo_end"] = np.float64(np.nan)
    return out


def _block_diag(a, b):
    n, m = a.shape[0], b.shape[0]
    top = jnp.concatenate([a, jnp.zeros((n, m))], axis=1)
    bottom = jnp.concatenate([jnp.zeros((m, n)), b], axis=1)
    return jnp.concatenate([top, bottom], axis=0)


def intervention_pixel(
    problem,
    x_post,
    x_cov_post,
    x_prior,
    x_sd_prior,
    fraction,
    tree_pft,
    settings: ScenarioSettings,
    da_settings,
) -> dict[str, jax.Array]:
    """Scenario effects of ONE pixel with posterior and prior uncertainty (obs_da_spec §6.7, §8).

    ``problem``: ``tccas.da.PixelProblem`` (forcing, spin-up forcing, site, PFTs, covers; observations are
    not used); ``x_post``/``x_prior`` ``(n,)`` and ``x_cov_post`` ``(n, n)``, ``x_sd_prior`` ``(n,)``: the
    assimilation result (contract C2, physical units); ``fraction`` φ; ``tree_pft`` the PFT code planted
    (int, traced: one compiled program for every tree PFT); ``settings`` static scenario settings;
    ``da_settings``: the ``tccas.da.AssimilationSettings`` that produced x (its control layout).

    Returns a flat dict of scalars (and ``uptake_annual`` ``(H,)``): for each target T of
    :data:`tccas.scenario.targets.TARGETS` the keys ``T``, ``T_sd``, ``T_prior``, ``T_prior_sd``, ``T_ur``;
    plus ``planted``, ``exported``, ``converted_fraction``, ``grass_area``, ``has_tree``,
    ``new_woo_start``, ``new_woo_end``; with ``settings.annual_sd`` also ``uptake_annual_sd`` and
    ``uptake_annual_prior_sd``. Pure JAX (jit with the settings static, vmap over pixels).
    """
    from tccas.da import controls
    from tccas.da.pixel import layout_for

    pfts = jnp.asarray(problem.pfts, dtype=jnp.int32)
    layout = layout_for(pfts.shape[0], da_settings)
    names = tree_control_names(layout)
    tree_pft = jnp.asarray(tree_pft, dtype=jnp.int32)
    t_mean, t_sd = tree_prior(names, tree_pft)
    n_x = layout.size
    c_tree = jnp.diag(t_sd**2)
    xs_post = jnp.concatenate([jnp.asarray(x_post), t_mean])
    xs_prior = jnp.concatenate([jnp.asarray(x_prior), t_mean])
    cov_post = _block_diag(jnp.asarray(x_cov_post), c_tree)
    cov_prior = _block_diag(jnp.diag(jnp.asarray(x_sd_prior) ** 2), c_tree)

    def scenario(xs):
        up = controls.unpack(xs[:n_x], layout, pfts)
        inputs = ScenarioInputs(
            tile_params=up.tile_params,
            global_params=up.global_params,
            pools0=up.pools0,
            tree_params=tree_params_from(xs[n_x:], names, tree_pft),
            tree_pools0=model.default_pools(tree_pft),
            fractions=problem.fractions,
            pfts=pfts,
            forcing=problem.forcing,
            spinup_forcing=problem.spinup_forcing,
            site=problem.site,
            tree_pft=tree_pft,
        )
        run = run_scenario(inputs, fraction, settings)
        return target_vector(run, settings), run

    if settings.prior_jacobian == "prior":
        stacked = jax.lax.map(
            lambda xs: value_and_jacobian(scenario, xs, has_aux=True), jnp.stack([xs_post, xs_prior])
        )
        run = jax.tree_util.tree_map(lambda a: a[0], stacked[2])
        run0 = jax.tree_util.tree_map(lambda a: a[1], stacked[2])
        value, jac, value0, jac0 = stacked[0][0], stacked[1][0], stacked[0][1], stacked[1][1]
    else:
        value, jac, run = value_and_jacobian(scenario, xs_post, has_aux=True)
        (value0, run0), jac0 = scenario(xs_prior), jac
    sd = quadratic_sd(jac, cov_post)
    sd0 = quadratic_sd(jac0, cov_prior)
    n_main = len(JACOBIAN_TARGETS)
    out: dict[str, jax.Array] = {}
    for i, name in enumerate(JACOBIAN_TARGETS):
        out[name] = value[i]
        out[f"{name}_sd"] = sd[i]
        out[f"{name}_prior"] = value0[i]
        out[f"{name}_prior_sd"] = sd0[i]
        out[f"{name}_ur"] = reduction(sd[i], sd0[i])
    total_w = jnp.concatenate([jnp.ones(n_main), jnp.zeros(value.shape[0] - n_main)])[None]
    total_sd = combination_sd(total_w, jac, cov_post)[0]
    total_sd0 = combination_sd(total_w, jac0, cov_prior)[0]
    for name, v, v0 in (
        ("d_total", jnp.sum(value[:n_main]), jnp.sum(value0[:n_main])),
        ("uptake", run.uptake, run0.uptake),
    ):
        out[name], out[f"{name}_prior"] = v, v0
        out[f"{name}_sd"], out[f"{name}_prior_sd"] = total_sd, total_sd0
        out[f"{name}_ur"] = reduction(total_sd, total_sd0)
    out["uptake_annual"] = run.uptake_annual
    if settings.annual_sd:
        out["uptake_annual_sd"] = sd[n_main:]
        out["uptake_annual_prior_sd"] = sd0[n_main:]
    out["planted"] = run.planted
    out["exported"] = run.exported
    out["converted_fraction"] = run.converted
    out["grass_area"] = run.grass_area
    out["has_tree"] = run.has_tree
    out["new_woo_start"] = run.new_woo[0]
    out["new_woo_end"] = run.new_woo[-1]
    if settings.record_series:
        out.update({f"series_{k}": v for k, v in run.series.items()})
    return out
