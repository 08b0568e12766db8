"""Forward model → observation equivalents, targets, and the cost function (obs_da_spec §6.3–6.4, §6.7).

``J(u) = ½ ‖u − u0‖² + ½ Σ_s Σ_k mask_k (m_k(x(u)) − d_k)² / σ_d,k²`` with ``x = σ0 · u`` (§6.2–6.3).
The model (spin-up included: ``tccas.model.run_pixel`` runs it inside the same differentiable function) is
run once per evaluation; each stream's equivalents are gathered from its trajectories with the precomputed
hour indices (§6.4), so shapes are static and everything is jit/vmap-able. Masked observations are
sanitised before use (:func:`tccas.obs.common.sanitise`) and disabled streams are masked statically.
The gradient is one reverse-mode pass (``jax.value_and_grad``) through the whole window and spin-up.

Streams: every stream of :mod:`tccas.obs.registry` that the pixel problem carries (``PixelProblem.obs``),
in registry order, through its module's uniform ``equivalent`` entry point. A stream absent from
``PixelProblem.obs`` has no observations (nothing is evaluated for it); an enabled stream must be present.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from tccas import model
from tccas.da import controls
from tccas.obs import STREAMS, common, registry, sif

#: Scalar targets of contract C2 / obs_da_spec §6.7, in output order.
TARGETS = ("sif743_mean", "woody_biomass", "nee_mean", "nee_total", "gpp_mean", "lai_mean")
#: Daily posterior series of contract C2.
SERIES = ("sif743", "gpp", "nee", "lai", "woody_biomass")


class StreamData(NamedTuple):
    """Sanitised observations of one stream: value, total σ_d, mask (0/1) and hour index."""

    value: jnp.ndarray
    sigma_d: jnp.ndarray
    mask: jnp.ndarray
    t_hour: jnp.ndarray


def stream_data(obs, error_model, n_days: int, enabled: bool) -> StreamData:
    """Sanitise one :class:`~tccas.da.pixel.ObsStream` and compute σ_d (obs_da_spec §1.3, §1.4, §7.3)."""
    value, s_obs, s_repr, mask = common.sanitise(obs.value, obs.sigma_obs, obs.sigma_repr, obs.mask)
    mask = mask * common.window_mask(obs.t_hour, n_days) * (1.0 if enabled else 0.0)
    sigma_d = common.total_sigma(value, s_obs, s_repr, error_model)
    return StreamData(value, sigma_d, mask, jnp.asarray(obs.t_hour, dtype=jnp.int32))


def problem_streams(problem, settings) -> tuple[str, ...]:
    """Registered streams carried by ``problem.obs``, in registry order (static). ``ValueError`` for a key
    of ``problem.obs`` that is not a registered stream or an enabled stream the problem does not carry."""
    registry.check_stream_names(tuple(problem.obs), "PixelProblem.obs")
    missing = [s for s in settings.streams if s not in problem.obs]
    if missing:
        raise ValueError(
            f"PixelProblem.obs lacks the enabled stream(s) {missing} (AssimilationSettings.streams)"
        )
    return tuple(s for s in STREAMS if s in problem.obs)


def all_stream_data(problem, settings) -> dict[str, StreamData]:
    """:class:`StreamData` of every stream of :func:`problem_streams` (disabled ones fully masked)."""
    n_days = problem.forcing.t_air.shape[0]
    return {
        s: stream_data(problem.obs[s], settings.error_model(s), n_days, s in settings.streams)
        for s in problem_streams(problem, settings)
    }


def run_tiles(x, problem, layout, settings):
    """Run the process model's tiles for control vector ``x`` (physical units): ``(hourly, daily, final)``
    stacked per tile (``tccas.model.run_tiles``; tile i depends on tile i's controls and the global model
    controls only)."""
    up = controls.unpack(x, layout, problem.pfts)
    return model.run_tiles(
        up.tile_params,
        up.global_params,
        up.pools0,
        problem.fractions,
        problem.forcing,
        problem.site,
        options=settings.model_options,
        spinup_forcing=problem.spinup_forcing,
        pfts=problem.pfts,
    )


def pixel_and_operators(tiles, x, problem, layout):
    """``(PixelOutput, operator-parameter dict)`` from the tile outputs of :func:`run_tiles` and ``x``."""
    out = model.pixel_output(*tiles, problem.fractions)
    return out, controls.unpack(x, layout, problem.pfts).operator


def run_model(x, problem, layout, settings):
    """Run the process model for control vector ``x`` (physical units).

    Returns ``(PixelOutput, operator-parameter dict)``."""
    return pixel_and_operators(run_tiles(x, problem, layout, settings), x, problem, layout)


def equivalents(out, op, problem, settings, t_hours: dict) -> dict[str, jnp.ndarray]:
    """Model equivalents of the streams of ``t_hours`` (stream → hour indices) through each registered
    module's ``equivalent`` entry point (obs_da_spec §2–5; tower streams :mod:`tccas.obs.nee`,
    :mod:`tccas.obs.latent_heat`, :mod:`tccas.obs.sensible_heat`, :mod:`tccas.obs.gpp`)."""
    return {
        s: registry.stream_module(s).equivalent(out, op, problem, settings, t_hours[s])
        for s in STREAMS
        if s in t_hours
    }


def sif743_daily(out, op, problem, settings):
    """Daily pixel SIF_743 at the local overpass time (13:30 LST; obs_da_spec §3.5), interpolated linearly
    between the bracketing model hours (§1.4) [mW m⁻² sr⁻¹ nm⁻¹]."""
    per_tile = sif.tile_sif743(out.hourly["j_a"], out.hourly["lai_layer"], op["sif_q_l"], op["sif_scale"])
    hourly = common.aggregate_linear(per_tile, problem.fractions)  # (n_days, 24)
    n_days = hourly.shape[0]
    t = jnp.arange(n_days) * 24.0 + sif.overpass_utc_hour(problem.site.lon, settings.sif_overpass_hour_local)
    return common.interp_hourly(hourly, t)


def series_and_targets(out, op, problem, settings):
    """Daily series and scalar targets (obs_da_spec §6.7, contract C2)."""
    pd = out.pixel_daily
    series = {
        "sif743": sif743_daily(out, op, problem, settings),
        "gpp": pd["gpp"],
        "nee": pd["nee"],
        "lai": pd["lai"],
        "woody_biomass": pd["c_woo"],
    }
    targets = {
        "sif743_mean": jnp.mean(series["sif743"]),
        "woody_biomass": pd["c_woo"][-1],
        "nee_mean": jnp.mean(pd["nee"]),
        "nee_total": jnp.sum(pd["nee"]),
        "gpp_mean": jnp.mean(pd["gpp"]),
        "lai_mean": jnp.mean(pd["lai"]),
    }
    return series, targets


class Evaluation(NamedTuple):
    """Everything one forward run provides for the cost, the posterior and the outputs."""

    residuals: dict  # stream -> (n_max,) mask (m − d) / σ_d
    equivalents: dict  # stream -> (n_max,)
    targets: dict
    series: dict


def evaluate(u, problem, layout, prior, settings, data: dict[str, StreamData]) -> Evaluation:
    """One forward evaluation at u-space point ``u`` (obs_da_spec §6.3)."""
    x = u * prior.sigma0
    return evaluate_tiles(run_tiles(x, problem, layout, settings), x, problem, layout, settings, data)


def evaluate_tiles(tiles, x, problem, layout, settings, data: dict[str, StreamData]) -> Evaluation:
    """The part of :func:`evaluate` after the model run: pixel aggregation, observation operators,
    normalised residuals, series and targets from the tile outputs ``tiles`` of :func:`run_tiles` at ``x``
    (physical units)."""
    out, op = pixel_and_operators(tiles, x, problem, layout)
    eq = equivalents(out, op, problem, settings, {s: d.t_hour for s, d in data.items()})
    res = {s: d.mask * (jnp.where(d.mask > 0, eq[s], 0.0) - d.value) / d.sigma_d for s, d in data.items()}
    series, targets = series_and_targets(out, op, problem, settings)
    return Evaluation(res, eq, targets, series)


def cost_terms(u, u0, residuals: dict):
    """Prior term ``½‖u − u0‖²`` and per-stream terms ``J_s = ½ Σ r²`` (obs_da_spec §6.3)."""
    return 0.5 * jnp.sum((u - u0) ** 2), {s: 0.5 * jnp.sum(r**2) for s, r in residuals.items()}


def make_cost(problem, layout, prior, settings):
    """``J(u)`` of one pixel (scalar, differentiable; obs_da_spec §6.3–6.4)."""
    data = all_stream_data(problem, settings)
    u0 = prior.x0 / prior.sigma0

    def cost(u):
        ev = evaluate(u, problem, layout, prior, settings, data)
        jp, js = cost_terms(u, u0, ev.residuals)
        return jp + sum(js.values())

    return cost
