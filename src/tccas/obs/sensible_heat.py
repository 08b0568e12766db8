"""Tower sensible heat flux (H) operator: daily mean H [W m⁻²].

Model equivalent: the tile's daily mean ``H = (R_n − G) − LE`` (``tccas.model`` daily key ``h``,
``tccas.model.core.daily_energy_fluxes``): the available energy is the daily mean of the model's canopy
and soil net radiation ``R_n,c + R_n,s`` = net radiation minus soil heat flux
(``tccas.model.energy.net_radiation``, model_spec §3.6), and H is what the closed daily energy balance
leaves after LE (:mod:`tccas.obs.latent_heat`; storage neglected). Tiles are aggregated as a cover-weighted
mean over the vegetated cover, ``Σ f_i H_i / Σ f_i`` [D] (:func:`tccas.obs.common.aggregate_normalised`).
Observations are daily means of the tower's half-hourly H (e.g. the CalLMIP Phase 1b ``Qh_daily``) at
``t_hour = 24·day + 12``.

Uncertainty (``σ_d² = σ_obs² + σ_mod²``, obs_da_spec §1.3):

- ``σ_obs``: the data's random uncertainty of the daily mean (e.g. ``Qh_uc_daily``, typically 6–9 W m⁻²;
  Richardson et al. 2006, Agric. For. Meteorol. 136:1).
- ``σ_mod = max(15 W m⁻², 0.3·|H|)`` [D]: the model closes the energy balance by construction, the tower
  does not (closure ≈ 0.8 on average, Wilson et al. 2002, Agric. For. Meteorol. 113:223; 0.46 at FR-Pue),
  so the unattributed gap — about 20 % of R_n − G, a larger share of H than of LE at most sites — enters the
  comparison of H; hence a larger relative term (30 %) and absolute term than for LE. H changes sign
  (night, winter, oasis conditions), so the absolute term matters where |H| is small. Sites with a poor
  closure should raise ``sigma_model_rel``. Floor 5 W m⁻².
"""

from __future__ import annotations

from tccas import model
from tccas.obs.common import StreamErrorModel, aggregate_normalised, gather_daily

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "h"
KIND = "tower"
UNITS = "W m-2"
LONG_NAME = "tower daily mean sensible heat flux"
DEFAULT_ENABLED = False
#: Energy-balance-closure and model error term, floor (module docstring) [D].
ERROR_MODEL = StreamErrorModel(sigma_model_abs=15.0, sigma_model_rel=0.3, sigma_floor=5.0)
#: Config key of ``streams.h`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {
    "sigma_model_abs": "sigma_model_abs",
    "sigma_model_rel": "sigma_model_rel",
    "sigma_floor": "sigma_floor",
}
#: QC range [W m⁻²] of a daily mean (obs_da_spec §1.5).
VALID_RANGE = (-150.0, 400.0)
#: No operator controls.
PARAMETERS: tuple[model.ParamSpec, ...] = ()


def model_equivalent(h_daily, fractions, t_hour):
    """Pixel H [W m⁻²] on the days of ``t_hour``: ``h_daily`` (n_tiles, n_days) per-tile daily mean H,
    ``fractions`` (n_tiles,), cover-weighted mean over the vegetated cover."""
    return aggregate_normalised(gather_daily(h_daily, t_hour), fractions)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: H equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``) at the hour indices ``t_hour``."""
    return model_equivalent(out.daily["h"], problem.fractions, t_hour)
