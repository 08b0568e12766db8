"""Tower latent heat flux (LE) operator: daily mean LE [W m⁻²].

Model equivalent: the tile's daily mean latent heat (``tccas.model`` daily key ``le``,
``tccas.model.core.daily_energy_fluxes``): ``LE = (λ(T̄) (E_t + E_s + E_i) + λ_s E_sn) / 86 400 s`` with the
actual transpiration, soil and interception evaporation and sublimation of the day [mm d⁻¹ = kg m⁻² d⁻¹],
λ(T̄) the latent heat of vaporisation at the daily mean air temperature (model_spec §3.1) and λ_s that of
sublimation. Tiles are aggregated as a cover-weighted mean over the vegetated cover, ``Σ f_i LE_i / Σ f_i``
(:func:`tccas.obs.common.aggregate_normalised`): the uncovered remainder of the footprint exchanges energy
too, and is assumed to behave like the mean tile [D] (Σ f = 1 at a tower site makes it the plain sum).
Observations are daily means of the tower's half-hourly LE (e.g. the CalLMIP Phase 1b ``Qle_daily``) at
``t_hour = 24·day + 12``.

Uncertainty (``σ_d² = σ_obs² + σ_mod²``, obs_da_spec §1.3):

- ``σ_obs``: the data's random uncertainty of the daily mean (e.g. ``Qle_uc_daily``, typically 3–7 W m⁻²;
  flux-proportional random error, Richardson et al. 2006, Agric. For. Meteorol. 136:1).
- ``σ_mod = max(10 W m⁻², 0.25·|LE|)`` [D]: towers do not close the energy balance — over 22 FLUXNET sites
  (H + LE) fell short of R_n − G by about 20 % on average (closure ≈ 0.8; Wilson et al. 2002, Agric. For.
  Meteorol. 113:223), and FR-Pue's is 0.46 — and how the missing energy divides between H and LE is not
  known, so a relative term of 25 % of |LE| carries the unattributed closure gap together with the model's
  relative error; the absolute 10 W m⁻² (0.35 mm d⁻¹ of ET) is below the 0.4–0.95 mm d⁻¹ daily ET RMSE of a
  calibrated DALEC on independent years (DifferLand v1.0 baseline, J. Fang et al.) because the relative term
  adds to it at typical fluxes. Sites with a poor closure should raise ``sigma_model_rel`` (or assimilate a
  closure-corrected LE). Floor 5 W m⁻².
"""

from __future__ import annotations

from tccas import model
from tccas.obs.common import StreamErrorModel, aggregate_normalised, gather_daily

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "le"
KIND = "tower"
UNITS = "W m-2"
LONG_NAME = "tower daily mean latent heat flux"
DEFAULT_ENABLED = False
#: Energy-balance-closure and model error term, floor (module docstring) [D].
ERROR_MODEL = StreamErrorModel(sigma_model_abs=10.0, sigma_model_rel=0.25, sigma_floor=5.0)
#: Config key of ``streams.le`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {
    "sigma_model_abs": "sigma_model_abs",
    "sigma_model_rel": "sigma_model_rel",
    "sigma_floor": "sigma_floor",
}
#: QC range [W m⁻²] of a daily mean (obs_da_spec §1.5): dew and noise make small negative means possible.
VALID_RANGE = (-50.0, 400.0)
#: No operator controls.
PARAMETERS: tuple[model.ParamSpec, ...] = ()


def model_equivalent(le_daily, fractions, t_hour):
    """Pixel LE [W m⁻²] on the days of ``t_hour``: ``le_daily`` (n_tiles, n_days) per-tile daily mean LE,
    ``fractions`` (n_tiles,), cover-weighted mean over the vegetated cover."""
    return aggregate_normalised(gather_daily(le_daily, t_hour), fractions)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: LE equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``) at the hour indices ``t_hour``."""
    return model_equivalent(out.daily["le"], problem.fractions, t_hour)
