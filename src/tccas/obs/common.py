"""Shared observation machinery: uncertainty model, time matching, tile aggregation, QC (obs_da_spec §1).

Everything here is pure JAX on the arrays of ONE pixel; batching happens outside (vmap in the pipeline).
Masked observations (padding, QC-rejected, NaN, fill values) are sanitised with ``jnp.where`` *before* any
arithmetic so that neither the cost nor its gradient can see them (a NaN times a zero weight is NaN).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from tccas import model

#: Hour of the day at which a daily observation (a tower's daily sum or mean) is placed: its day's index
#: ``t_hour = 24·day + 12`` selects that model day in :func:`gather_daily` (obs_da_spec §1.4).
DAILY_OBS_HOUR = 12


class StreamErrorModel(NamedTuple):
    """Per-stream model-error term and floor (obs_da_spec §1.3).

    ``σ_mod = max(sigma_model_abs, sigma_model_rel·|y|)`` in the stream's units; total data uncertainty
    ``σ_d = max(sqrt(σ_obs² + σ_mod² + σ_repr²), sigma_floor)``.
    """

    sigma_model_abs: float
    sigma_model_rel: float
    sigma_floor: float


def sanitise(value, sigma_obs, sigma_repr, mask):
    """Zero out everything an observation with mask 0 carries, and reject non-finite data (obs_da_spec §1.5).

    Returns ``(value, sigma_obs, sigma_repr, mask)`` with mask ∈ {0., 1.}; masked entries are replaced by
    (0, 1, 0) so that later divisions and squares stay finite.
    """
    ok = (mask > 0) & jnp.isfinite(value) & jnp.isfinite(sigma_obs) & jnp.isfinite(sigma_repr)
    ok = ok & (sigma_obs >= 0) & (sigma_repr >= 0)
    value = jnp.where(ok, value, 0.0)
    sigma_obs = jnp.where(ok, sigma_obs, 1.0)
    sigma_repr = jnp.where(ok, sigma_repr, 0.0)
    return value, sigma_obs, sigma_repr, ok.astype(jnp.float64)


def total_sigma(value, sigma_obs, sigma_repr, error_model: StreamErrorModel):
    """Total data uncertainty ``σ_d = max(sqrt(σ_obs² + σ_mod² + σ_repr²), floor)`` (obs_da_spec §1.3, §7.3).

    Depends on data only (never on the control vector), so the cost is a plain weighted least-squares term.
    Inputs must already be sanitised (:func:`sanitise`).
    """
    sigma_mod = jnp.maximum(error_model.sigma_model_abs, error_model.sigma_model_rel * jnp.abs(value))
    sd = jnp.sqrt(sigma_obs**2 + sigma_mod**2 + sigma_repr**2)
    return jnp.maximum(sd, error_model.sigma_floor)


def window_mask(t_hour, n_days):
    """1 where the hour index lies inside the window's complete model days, else 0 (obs_da_spec §1.4 [T]:
    observations after the last full model day and before the window start are dropped)."""
    return ((t_hour >= 0) & (t_hour < 24 * n_days)).astype(jnp.float64)


def _day_hour(t_hour, n_days):
    t = jnp.clip(jnp.asarray(t_hour, dtype=jnp.int32), 0, 24 * n_days - 1)
    return t // 24, t % 24


def daily_t_hour(day_index):
    """Hour index of daily observations on window days ``day_index`` (int): ``24·day + 12``."""
    return np.asarray(day_index, dtype=np.int64) * 24 + DAILY_OBS_HOUR


def pft_table(values) -> np.ndarray:
    """A per-PFT ``(N_PFT,)`` float64 table for operator-parameter records (``tccas.model.ParamSpec``); a
    scalar is broadcast to every PFT."""
    arr = np.asarray(values, dtype=np.float64)
    return np.broadcast_to(arr, (len(model.PFT_NAMES),)).copy()


def gather_daily(daily, t_hour):
    """Daily series ``(..., n_days)`` at the day containing each hour index → ``(..., n_obs)`` (§1.4)."""
    day, _ = _day_hour(t_hour, daily.shape[-1])
    return jnp.take(daily, day, axis=-1)


def gather_hourly(hourly, t_hour):
    """Hourly series ``(..., n_days, 24)`` at each hour index → ``(..., n_obs)`` (obs_da_spec §1.4: the model
    hour that contains the observation time)."""
    n_days = hourly.shape[-2]
    flat = hourly.reshape((*hourly.shape[:-2], n_days * 24))
    day, hour = _day_hour(t_hour, n_days)
    return jnp.take(flat, day * 24 + hour, axis=-1)


def interp_hourly(hourly, t_frac):
    """Linear interpolation of an hourly series ``(..., n_days, 24)`` at fractional times ``t_frac`` [h from
    the window start] (obs_da_spec §1.4 option, differentiable); model hour h represents time h + ½."""
    n_days = hourly.shape[-2]
    flat = hourly.reshape((*hourly.shape[:-2], n_days * 24))
    pos = jnp.clip(jnp.asarray(t_frac, dtype=jnp.float64) - 0.5, 0.0, n_days * 24 - 1.0)
    i0 = jnp.clip(jnp.floor(pos).astype(jnp.int32), 0, n_days * 24 - 2)
    w = pos - i0
    return (1.0 - w) * jnp.take(flat, i0, axis=-1) + w * jnp.take(flat, i0 + 1, axis=-1)


def aggregate_linear(per_tile, fractions):
    """Cover-weighted sum over tiles, axis 0 (obs_da_spec §1.2; FAPAR, SIF, SM). The non-vegetated remainder
    of the pixel contributes zero."""
    f = fractions.reshape(fractions.shape + (1,) * (per_tile.ndim - 1))
    return jnp.sum(f * per_tile, axis=0)


def aggregate_normalised(per_tile, fractions):
    """Cover-weighted mean over the vegetated tiles, axis 0: ``Σ f_i x_i / Σ f_i`` (obs_da_spec §1.2 for SM;
    the tower energy fluxes). The uncovered remainder of the pixel is assumed to behave like the
    cover-weighted mean of its tiles (with Σ f = 1 this is :func:`aggregate_linear`)."""
    return aggregate_linear(per_tile, fractions / jnp.maximum(jnp.sum(fractions), 1e-12))


def aggregate_transmissivity(tau, fractions):
    """Footprint VOD through transmissivity ``τ_agg = −ln Σ f_i exp(−τ_i)`` (obs_da_spec §1.2, §4.1 [T]).

    The uncovered remainder ``1 − Σ f_i`` enters with τ = 0 (bare soil; §1.2), so that a pixel with partial
    vegetation cover has a smaller optical depth than its vegetated tiles.
    """
    f = fractions.reshape(fractions.shape + (1,) * (tau.ndim - 1))
    bare = jnp.clip(1.0 - jnp.sum(fractions), 0.0, 1.0)
    return -jnp.log(jnp.sum(f * jnp.exp(-tau), axis=0) + bare)


def qc_mask(value, sigma_obs, valid_range=(-jnp.inf, jnp.inf), fill_value=None, flags=None):
    """Quality-control mask (obs_da_spec §1.5): 1.0 keeps, 0.0 drops NaN, fill values, non-positive or
    non-finite σ, values outside ``valid_range`` and anything with a non-zero ``flags`` entry."""
    ok = jnp.isfinite(value) & jnp.isfinite(sigma_obs) & (sigma_obs > 0)
    ok = ok & (value >= valid_range[0]) & (value <= valid_range[1])
    if fill_value is not None:
        ok = ok & (value != fill_value)
    if flags is not None:
        ok = ok & (flags == 0)
    return ok.astype(jnp.float64)


def relative_uncertainty_summary(value, sigma_obs, sigma_d, mask):
    """TCCAS-style per-stream start-up numbers (obs_da_spec §1.3): n_obs, mean(σ_obs/|y|)·100 and
    mean(σ_d/|y|)·100 over the unmasked observations with y ≠ 0."""
    use = (mask > 0) & (jnp.abs(value) > 0)
    ay = jnp.where(use, jnp.abs(value), 1.0)
    n = jnp.sum(use)
    denom = jnp.maximum(n, 1)
    return {
        "n_obs": jnp.sum(mask > 0),
        "mean_rel_sigma_obs_pct": 100.0 * jnp.sum(jnp.where(use, sigma_obs / ay, 0.0)) / denom,
        "mean_rel_sigma_d_pct": 100.0 * jnp.sum(jnp.where(use, sigma_d / ay, 0.0)) / denom,
    }
