"""Ecological and dynamical constraints (EDCs) on DALEC2 runs: pass/fail checks and smooth cost penalties.

The EDCs of CARDAMOM (Bloom & Williams 2015, "Constraining ecosystem carbon dynamics in a data-limited
world: integrating ecological 'common sense' in a model-data fusion framework", Biogeosciences 12,
1299-1315; their Table 2, as coded in CARDAMOM's ``EDC1``/``EDC2`` routines of DALEC2) reject parameter
sets that fit the data but are ecologically implausible. This module evaluates them on the outputs of
:func:`tccas.model.run_tile` / :func:`tccas.model.run_tiles` (the ``daily`` dict, time on the last axis,
any leading tile axes) and the :class:`~tccas.model.TileParams`:

=========================  ==============================================================================
name                       constraint (value checked; CARDAMOM EDC number)
=========================  ==============================================================================
litter_faster_than_som     ln(θ_lit/θ_som) ≥ 0: litter respires faster than SOM (EDC 1)
litter2som_faster_than_som ln(θ_min/θ_som) ≥ 0: litter→SOM transfer faster than SOM loss (EDC 2)
foliage_faster_than_wood   ln(1/(365.25 L_f θ_woo)) ≥ 0: foliage turns over faster than wood (EDC 3)
roots_faster_than_som      ln(θ_roo/(θ_som e^{Θ T̄})) ≥ 0, T̄ the run's mean air temperature (EDC 4)
canopy_root_allocation     |ln((f_fol + f_lab)/f_roo)| ≤ ln 5 with the true NPP fractions (EDC 5)
foliage_root_ratio         |ln(C̄_fol/C̄_roo)| ≤ ln 5, mean pools (EDC 6)
steady_state_<pool>        |ln(F̄_in/F̄_out)| ≤ ln EQF per pool over whole years (EDCs 7-12)
trend_<pool>               |relative trend of the annual-mean pool| ≤ ``pool_trend_max`` yr-1 [D]
lai_trend                  |relative trend of the annual-mean LAI| ≤ 0.5 % yr-1 (last years) [D]
min_<x>, max_<x>           0 ≤ x(t) ≤ upper for the six pools and LAI (CARDAMOM EDCs 35-41)
evergreen_lai              evergreen PFTs: min LAI ≥ 60 % of the year's peak LAI, every year [D]
ra_gpp                     0.4 ≤ ΣRa/ΣGPP ≤ 0.6 over the run: carbon-use efficiency 0.4–0.6 [D]
=========================  ==============================================================================

Carbon-use efficiency (``ra_gpp``) [D]: tower NEE constrains Ra + Rh, not their split (at steady state
NEE → 0 whatever the CUE), so the ratio of autotrophic respiration to GPP is a prior constraint from the
literature: NPP/GPP = 0.47 ± 0.04 across forests (Waring et al. 1998, Tree Physiol. 18, 129), a mean CUE
of 0.53 over 60 sites (DeLucia et al. 2007, Glob. Change Biol. 13, 1157), 0.46 ± 0.12 in the review of
Collalti & Prentice (2019, Tree Physiol. 39, 1473); model_spec §6.6's plausible band 0.4–0.6 for Ra/GPP.
σ = 0.05 (a quarter of the band).

Steady state (EDCs 7-12). Bloom & Williams compare the rates at which each pool gains and loses carbon:
for a pool in dynamic equilibrium under a repeated climate the mean input F̄_in equals the mean output
F̄_out. Here the ratio of the two mean rates over the whole years of the run is used directly,
|ln(F̄_in/F̄_out)| ≤ ln EQF (default EQF = 2: inputs and outputs within a factor of two; CARDAMOM's code
additionally rescales the ratio by the mean-January to initial pool ratio and bounds the exponential
decay of the trajectory — the direct pool trend below covers that). Pool fluxes (gC m-2 d-1, the DALEC2
fluxes of :data:`tccas.model.DALEC_FLUX_NAMES`): labile in = labile production (NPP debits included),
out = labile release; foliage in = leaf production + labile release, out = leaf litter; roots and wood
in = production, out = litter; litter in = leaf + root litter, out = litter Rh + litter→SOM; SOM in =
litter→SOM + wood litter, out = SOM Rh.

Trends [D]: the least-squares slope of the annual means (years of 365 days from the start of the run)
divided by their mean, s = (dC̄_y/dy)/⟨C̄_y⟩ [yr-1] (pools floored at 1 gC m-2, LAI at 0.01, in the
denominator); evaluated only with at least two whole years. A run at steady state under a repeated
climate has s → 0 for every pool. The bound is absolute, so it is weak for slow pools (SOM turns over in
centuries: a pool at half its steady state drifts by well under 1 % yr-1), which is why Bloom & Williams
use the scale-free flux ratio; both are evaluated.

Penalties: every constraint is an interval a ≤ x ≤ b on a value x; its violation v = max(a − x, 0) +
max(x − b, 0) ≥ 0 is 0 exactly when the check passes, and the penalty is 0.5 (v/σ)² — zero when
satisfied, quadratic outside, continuously differentiable. σ: 1 (one e-fold) for the log-ratio EDCs 1-6,
ln EQF for the steady state (the Gaussian scale of CARDAMOM's EDC probabilities), the bound for the trends,
the upper bound for the ranges. Range and evergreen penalties average the squared daily violations over
the run, so they are smooth in every daily value; the checks use the extreme daily value. Evergreen
(TrEv, TmEv, EvCn, EShr): the daily deficit below ``evergreen_fraction`` × the year's peak LAI, relative
to that threshold, per whole year (the whole run when it is shorter than a year); the peak is a maximum
over days, so this penalty is differentiable wherever the peak day is unique.

All functions are pure JAX (jit/grad/vmap-able) except :func:`edc_report`, which returns host values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from tccas.model import constants as c
from tccas.model.parameters import PFT_NAMES, POOL_SPECS

POOL_NAMES: tuple[str, ...] = ("lab", "fol", "roo", "woo", "lit", "som")
#: PFT codes of the evergreen PFTs (model_spec §0 table): TrEv, TmEv, EvCn, EShr.
EVERGREEN_PFTS: tuple[int, ...] = tuple(PFT_NAMES.index(n) for n in ("TrEv", "TmEv", "EvCn", "EShr"))
#: Years of a run are consecutive 365-day blocks from its start (as in ``tccas.model.first_years``).
DAYS_PER_SEGMENT_YEAR = 365
_POOL_FLOOR = 1.0  # gC m-2: floor of a pool in the denominator of its relative trend
_LAI_FLOOR = 0.01  # m2 m-2: floor of LAI in the denominator of its relative trend / evergreen ratio
_TINY = 1e-12  # floor inside logarithms of rates and pools [gC m-2 d-1 | d-1 | gC m-2]

_FLUXES_IN_OUT: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "lab": (("labile_production",), ("labile_release",)),
    "fol": (("leaf_production", "labile_release"), ("leaf_litter_production",)),
    "roo": (("root_production",), ("rootlitter_production",)),
    "woo": (("wood_production",), ("woodlitter_production",)),
    "lit": (("leaf_litter_production", "rootlitter_production"), ("respiration_het_litter", "litter2som")),
    "som": (("litter2som", "woodlitter_production"), ("respiration_het_som",)),
}
_PARAM_EDCS = (
    "litter_faster_than_som",
    "litter2som_faster_than_som",
    "foliage_faster_than_wood",
    "roots_faster_than_som",
    "canopy_root_allocation",
)
_RANGE_VARS = (*POOL_NAMES, "lai")

#: Every constraint name :func:`edc_constraints` can return (which ones it returns depends on the run length
#: and on whether PFT codes are given).
EDC_NAMES: tuple[str, ...] = (
    *_PARAM_EDCS,
    "foliage_root_ratio",
    *(f"steady_state_{p}" for p in POOL_NAMES),
    *(f"trend_{p}" for p in POOL_NAMES),
    "lai_trend",
    *(f"{side}_{v}" for v in _RANGE_VARS for side in ("min", "max")),
    "evergreen_lai",
    "ra_gpp",
)
_RA_GPP_SCALE = 0.05  # σ of the ra_gpp penalty [1]
_GPP_FLOOR = 1e-6  # gC m-2 d-1: floor of the mean GPP in the denominator of Ra/GPP


class EDCSettings(NamedTuple):
    """Bounds of the constraints (Bloom & Williams 2015 / CARDAMOM where they fix one, else [D])."""

    eqf: float = 2.0  # steady state: F̄_in/F̄_out within a factor EQF (EDCs 7-12; a run setting there) [D]
    ratio_max: float = 5.0  # EDCs 5-6: canopy/root allocation and C_fol/C_roo within a factor 5
    pool_trend_max: float = 0.01  # |relative pool trend| [yr-1] [D]
    lai_trend_max: float = 0.005  # |relative LAI trend| [yr-1] (issue #25: 0.5 % per year) [D]
    lai_trend_years: int | None = None  # LAI trend over the last n whole years (None: all whole years)
    pool_max: tuple[float, ...] | None = None  # upper pool bounds [gC m-2]; None: initial-pool prior uppers
    lai_max: float = 8.0  # upper LAI bound (model_spec §6.6: peak LAI 0.5-8)
    evergreen_fraction: float = 0.6  # evergreen PFTs keep ≥ this fraction of the year's peak LAI [D]
    ra_gpp_min: float = 0.4  # ΣRa/ΣGPP over the run (module docstring: CUE 0.4-0.6) [D]
    ra_gpp_max: float = 0.6


class Constraint(NamedTuple):
    """One evaluated constraint: ``lower ≤ value ≤ upper`` (``None``: unbounded side); ``passed`` and the
    smooth ``penalty`` (≥ 0, 0 iff passed) have the shape of the tile axes."""

    value: object
    lower: float | None
    upper: float | None
    passed: object
    penalty: object


def _interval(value, lower, upper, scale) -> Constraint:
    """Interval constraint with violation v = (a − x)⁺ + (x − b)⁺ and penalty 0.5 (v/σ)²."""
    v = jnp.zeros_like(value)
    if lower is not None:
        v = v + jnp.maximum(lower - value, 0.0)
    if upper is not None:
        v = v + jnp.maximum(value - upper, 0.0)
    return Constraint(value, lower, upper, v <= 0.0, 0.5 * (v / scale) ** 2)


def _log(x):
    return jnp.log(jnp.maximum(x, _TINY))


def _need(daily: Mapping, key: str):
    if key not in daily:
        raise KeyError(
            f"EDC: the daily outputs have no {key!r} (pass the daily dict of tccas.model.run_tile or "
            f"run_tiles); keys present: {sorted(daily)}"
        )
    return jnp.asarray(daily[key], dtype=jnp.float64)


def annual_means(x, last_years: int | None = None):
    """Means of ``x`` (time on the last axis, daily) over its whole 365-day years → (..., n_years).

    ``last_years``: keep only the last n whole years. A trailing partial year is dropped.
    """
    n_years = x.shape[-1] // DAYS_PER_SEGMENT_YEAR
    if last_years is not None:
        if last_years < 1:
            raise ValueError(f"last_years must be >= 1, got {last_years}")
        n_years = min(n_years, int(last_years))
    first = x.shape[-1] // DAYS_PER_SEGMENT_YEAR - n_years
    blocks = x[..., first * DAYS_PER_SEGMENT_YEAR : (first + n_years) * DAYS_PER_SEGMENT_YEAR]
    return jnp.mean(blocks.reshape(*x.shape[:-1], n_years, DAYS_PER_SEGMENT_YEAR), axis=-1)


def relative_trend(x, floor, last_years: int | None = None):
    """Relative trend of the annual means [yr-1]: least-squares slope of C̄_y over the years divided by
    max(⟨C̄_y⟩, floor). Needs at least two whole years (``ValueError`` otherwise)."""
    y = annual_means(x, last_years)
    n = y.shape[-1]
    if n < 2:
        raise ValueError(f"a trend needs >= 2 whole years of daily values, got {x.shape[-1]} days")
    t = jnp.arange(n, dtype=jnp.float64) - (n - 1) / 2.0
    slope = jnp.sum(t * y, axis=-1) / jnp.sum(t * t)
    return slope / jnp.maximum(jnp.mean(y, axis=-1), floor)


def _param_constraints(tp, t_mean_run, ratio_max, shape) -> dict[str, Constraint]:
    """EDCs 1-5 of Bloom & Williams (2015) on the parameters (and the run's mean temperature T̄ for EDC 4),
    as log-ratio margins [e-folds]; rates θ in d-1, leaf lifespan L_f in yr, Θ = temp_sens in °C-1."""
    p = {k: jnp.broadcast_to(jnp.asarray(getattr(tp, k), dtype=jnp.float64), shape) for k in tp._fields}
    # true NPP fractions of dalec_step: f_fol, f_lab of the remainder, f_roo of what is left
    f_fol = p["f_fol"]
    f_lab = (1.0 - f_fol) * p["f_lab"]
    f_roo = (1.0 - f_fol - f_lab) * p["f_roo"]
    ln_r = float(np.log(ratio_max))
    return {
        "litter_faster_than_som": _interval(_log(p["theta_lit"]) - _log(p["theta_som"]), 0.0, None, 1.0),
        "litter2som_faster_than_som": _interval(_log(p["theta_min"]) - _log(p["theta_som"]), 0.0, None, 1.0),
        "foliage_faster_than_wood": _interval(
            -jnp.log(c.DAYS_PER_YEAR * p["leaf_lifespan"]) - _log(p["theta_woo"]), 0.0, None, 1.0
        ),
        "roots_faster_than_som": _interval(
            _log(p["theta_roo"]) - _log(p["theta_som"]) - p["temp_sens"] * t_mean_run, 0.0, None, 1.0
        ),
        "canopy_root_allocation": _interval(_log(f_fol + f_lab) - _log(f_roo), -ln_r, ln_r, 1.0),
    }


def _range_constraints(x, upper) -> tuple[Constraint, Constraint]:
    """0 ≤ x(t) ≤ upper (CARDAMOM EDCs 35-41): checks on the extreme daily values, penalties the time mean
    of 0.5 (v_t/upper)² with the daily violations v_t."""
    low = jnp.maximum(-x, 0.0)
    high = jnp.maximum(x - upper, 0.0)
    x_min, x_max = jnp.min(x, axis=-1), jnp.max(x, axis=-1)
    return (
        Constraint(x_min, 0.0, None, x_min >= 0.0, jnp.mean(0.5 * (low / upper) ** 2, axis=-1)),
        Constraint(x_max, None, upper, x_max <= upper, jnp.mean(0.5 * (high / upper) ** 2, axis=-1)),
    )


def _evergreen_constraint(lai, evergreen, fraction) -> Constraint:
    """min LAI ≥ fraction × peak LAI in every whole year (the whole run if shorter) for evergreen tiles."""
    n_years = lai.shape[-1] // DAYS_PER_SEGMENT_YEAR
    if n_years >= 1:
        seg = lai[..., : n_years * DAYS_PER_SEGMENT_YEAR].reshape(*lai.shape[:-1], n_years, -1)
    else:
        seg = lai[..., None, :]
    peak = jnp.maximum(jnp.max(seg, axis=-1, keepdims=True), _LAI_FLOOR)
    ratio = jnp.min(jnp.min(seg, axis=-1, keepdims=True) / peak, axis=(-2, -1))
    deficit = jnp.maximum(fraction * peak - seg, 0.0) / (fraction * peak)
    mask = evergreen.astype(jnp.float64)
    penalty = mask * jnp.mean(0.5 * deficit**2, axis=(-2, -1))
    return Constraint(ratio, fraction, None, (ratio >= fraction) | ~evergreen, penalty)


def edc_constraints(
    daily: Mapping, tile_params, pfts=None, settings: EDCSettings = EDCSettings()
) -> dict[str, Constraint]:
    """Evaluate the EDCs (module docstring) on one run → ``{name: Constraint}``.

    ``daily``: the daily dict of :func:`tccas.model.run_tile` (arrays (n_days,)) or of
    :func:`tccas.model.run_tiles` ((n_tiles, n_days)); needs the pools ``c_<pool>``, ``lai``, ``t_mean``
    and the DALEC2 fluxes (GPP and Ra included). ``tile_params``: the :class:`~tccas.model.TileParams` of
    the run (leaves scalar or (n_tiles,)). ``pfts``: PFT codes (scalar or (n_tiles,)) for the evergreen
    constraint, omitted when ``None``. Steady-state constraints need ≥ 1 whole year of days, trends ≥ 2;
    shorter runs omit them.
    """
    lai = _need(daily, "lai")
    shape, n_days = lai.shape[:-1], lai.shape[-1]
    n_years = n_days // DAYS_PER_SEGMENT_YEAR
    t_mean_run = jnp.mean(_need(daily, "t_mean"), axis=-1)
    out = _param_constraints(tile_params, t_mean_run, settings.ratio_max, shape)
    pools = {p: _need(daily, f"c_{p}") for p in POOL_NAMES}
    ln_r = float(np.log(settings.ratio_max))
    fol_roo = _log(jnp.mean(pools["fol"], axis=-1)) - _log(jnp.mean(pools["roo"], axis=-1))
    out["foliage_root_ratio"] = _interval(fol_roo, -ln_r, ln_r, 1.0)
    if n_years >= 1:
        ln_eqf = float(np.log(settings.eqf))
        whole = n_years * DAYS_PER_SEGMENT_YEAR
        for p, (ins, outs) in _FLUXES_IN_OUT.items():
            f_in = sum(jnp.mean(_need(daily, k)[..., :whole], axis=-1) for k in ins)
            f_out = sum(jnp.mean(_need(daily, k)[..., :whole], axis=-1) for k in outs)
            out[f"steady_state_{p}"] = _interval(_log(f_in) - _log(f_out), -ln_eqf, ln_eqf, ln_eqf)
    if n_years >= 2:
        b = settings.pool_trend_max
        for p in POOL_NAMES:
            out[f"trend_{p}"] = _interval(relative_trend(pools[p], _POOL_FLOOR), -b, b, b)
        b = settings.lai_trend_max
        out["lai_trend"] = _interval(relative_trend(lai, _LAI_FLOOR, settings.lai_trend_years), -b, b, b)
    pool_max = settings.pool_max
    if pool_max is None:
        pool_max = tuple(float(s.upper) for s in POOL_SPECS)
    if len(pool_max) != len(POOL_NAMES):
        raise ValueError(f"EDCSettings.pool_max needs {len(POOL_NAMES)} bounds {POOL_NAMES}, got {pool_max}")
    for p, upper in zip(POOL_NAMES, pool_max, strict=True):
        out[f"min_{p}"], out[f"max_{p}"] = _range_constraints(pools[p], float(upper))
    out["min_lai"], out["max_lai"] = _range_constraints(lai, float(settings.lai_max))
    if pfts is not None:
        evergreen = jnp.broadcast_to(jnp.isin(jnp.asarray(pfts), jnp.asarray(EVERGREEN_PFTS)), shape)
        out["evergreen_lai"] = _evergreen_constraint(lai, evergreen, float(settings.evergreen_fraction))
    ra_gpp = jnp.mean(_need(daily, "respiration_auto"), axis=-1) / jnp.maximum(
        jnp.mean(_need(daily, "gpp"), axis=-1), _GPP_FLOOR
    )
    out["ra_gpp"] = _interval(ra_gpp, settings.ra_gpp_min, settings.ra_gpp_max, _RA_GPP_SCALE)
    return {k: out[k] for k in EDC_NAMES if k in out}


def edc_checks(daily: Mapping, tile_params, pfts=None, settings: EDCSettings = EDCSettings()) -> dict:
    """``{name: passed}`` (boolean arrays of the tile shape) of :func:`edc_constraints`."""
    return {k: con.passed for k, con in edc_constraints(daily, tile_params, pfts, settings).items()}


def edc_penalties(daily: Mapping, tile_params, pfts=None, settings: EDCSettings = EDCSettings()) -> dict:
    """``{name: penalty}`` (≥ 0, 0 iff the check passes; arrays of the tile shape)."""
    return {k: con.penalty for k, con in edc_constraints(daily, tile_params, pfts, settings).items()}


def edc_penalty(
    daily: Mapping,
    tile_params,
    pfts=None,
    settings: EDCSettings = EDCSettings(),
    weights: Mapping[str, float] | None = None,
    tile_weights=None,
):
    """Scalar EDC cost term Σ_k w_k Σ_tiles ω_i P_k,i (a smooth, non-negative addition to a 4D-Var cost).

    ``weights``: per-constraint weights w_k by name (:data:`EDC_NAMES`; default 1 each, an unknown name is
    a ``KeyError``); ``tile_weights``: ω_i over the tile axes (e.g. ``fractions > 0`` to drop padding
    tiles; default 1).
    """
    weights = dict(weights or {})
    unknown = sorted(set(weights) - set(EDC_NAMES))
    if unknown:
        raise KeyError(f"EDC weights for unknown constraints {unknown}; known: {list(EDC_NAMES)}")
    total = jnp.zeros((), dtype=jnp.float64)
    omega = 1.0 if tile_weights is None else jnp.asarray(tile_weights, dtype=jnp.float64)
    for k, pen in edc_penalties(daily, tile_params, pfts, settings).items():
        total = total + weights.get(k, 1.0) * jnp.sum(omega * pen)
    return total


def _host(x):
    a = np.asarray(x)
    return a.item() if a.ndim == 0 else a.tolist()


def edc_report(daily: Mapping, tile_params, pfts=None, settings: EDCSettings = EDCSettings()) -> dict:
    """Host-side report ``{name: {"value", "lower", "upper", "passed", "penalty"}, ..., "all_passed": bool,
    "failed": [names]}`` for reports and tests (values as Python floats/bools, lists per tile)."""
    report: dict = {}
    failed = []
    for k, con in edc_constraints(daily, tile_params, pfts, settings).items():
        passed = np.asarray(con.passed)
        report[k] = {
            "value": _host(con.value),
            "lower": con.lower,
            "upper": con.upper,
            "passed": _host(passed),
            "penalty": _host(con.penalty),
        }
        if not passed.all():
            failed.append(k)
    report["all_passed"] = not failed
    report["failed"] = failed
    return report
