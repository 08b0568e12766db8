"""Tower net ecosystem exchange (NEE) operator: daily NEE [gC m⁻² d⁻¹], positive = source to the atmosphere.

Model equivalent: the cover-weighted pixel daily NEE ``Σ_i f_i (R_a,i + R_h,i − GPP_i)`` on the observation
day (model_spec §1.2, §2.3: the DALEC daily fluxes; the uncovered remainder of the pixel has no vegetation
and no carbon flux, as in ``tccas.model.aggregate``). Observations are daily sums of measured half-hourly
eddy-covariance NEE (e.g. the CalLMIP Phase 1b ``NEE_daily``), placed at the day's index
(``t_hour = 24·day + 12``, :func:`tccas.obs.common.gather_daily`).

Uncertainty (``σ_d² = σ_obs² + σ_mod²``, obs_da_spec §1.3):

- ``σ_obs`` is the data's own random uncertainty of the daily sum (e.g. ``NEE_uc_daily``, typically
  0.1–0.3 gC m⁻² d⁻¹). The random error of eddy-covariance NEE follows a double-exponential distribution
  whose width grows linearly with the flux magnitude (Hollinger & Richardson 2005, Tree Physiol. 25:873;
  Richardson et al. 2006, Agric. For. Meteorol. 136:1); summed over the ~48 half-hours of a day it
  shrinks, so daily random errors are small and the model error dominates.
- ``σ_mod = max(1.0 gC m⁻² d⁻¹, 0.2·|NEE|)`` [D]: 1 gC m⁻² d⁻¹ is the order of the daily NEE RMSE that a
  per-site calibrated DALEC leaves on independent years (0.8–1.5 gC m⁻² d⁻¹ at seven FLUXNET sites, the
  process-only baseline of DifferLand v1.0, J. Fang et al.), i.e. the structural error of a DALEC-class
  model plus the tower's systematic errors (night-time u* filtering, advection) not in the random term;
  the relative 20 % follows the flux-proportional scaling of the random error above. Floor 0.2.
"""

from __future__ import annotations

from tccas import model
from tccas.obs.common import StreamErrorModel, aggregate_linear, gather_daily

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "nee"
KIND = "tower"
UNITS = "gC m-2 d-1"
LONG_NAME = "tower daily net ecosystem exchange (positive = source)"
DEFAULT_ENABLED = False
#: Model-error term and floor (module docstring) [D].
ERROR_MODEL = StreamErrorModel(sigma_model_abs=1.0, sigma_model_rel=0.2, sigma_floor=0.2)
#: Config key of ``streams.nee`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {
    "sigma_model_abs": "sigma_model_abs",
    "sigma_model_rel": "sigma_model_rel",
    "sigma_floor": "sigma_floor",
}
#: QC range [gC m⁻² d⁻¹]: daily NEE beyond ±25 is not a land flux (obs_da_spec §1.5).
VALID_RANGE = (-25.0, 25.0)
#: No operator controls: the model's NEE is compared directly.
PARAMETERS: tuple[model.ParamSpec, ...] = ()


def model_equivalent(nee_daily, fractions, t_hour):
    """Pixel NEE [gC m⁻² d⁻¹] on the days of ``t_hour``: ``nee_daily`` (n_tiles, n_days) per-tile daily NEE
    (``tccas.model`` daily key ``nee`` = R_a + R_h − GPP), ``fractions`` (n_tiles,), linear aggregation."""
    return aggregate_linear(gather_daily(nee_daily, t_hour), fractions)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: NEE equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``) at the hour indices ``t_hour``."""
    return model_equivalent(out.daily["nee"], problem.fractions, t_hour)
