"""Site leaf area index (LAI) operator: daily LAI [m² m⁻²] of the tower pixel — a site-mode stream of the
satellite LAI that comes with the site drivers (disabled by default).

The DifferLand/CARDAMOM site drivers carry MODIS LAI (MCD15A2H, 500 m, 8-day composites; Myneni et al. 2015)
interpolated to days, with its uncertainty (``LAIunc``). It constrains what tower fluxes leave open: the
split of GPP between leaf area and leaf-level capacity, and the leaf lifespan and allocation that set the
seasonal amplitude of an evergreen canopy (Bloom & Williams 2015 assimilate MODIS LAI in CARDAMOM for this
reason).

Model equivalent: the cover-weighted pixel daily LAI ``Σ_i f_i LAI_i`` (model_spec §1.2; the uncovered
remainder has no leaves), LAI_i = C_fol,i / LMA_i, on the observation day at ``t_hour = 24·day + 12``.

Independence: the daily values are an interpolation of 8-day composites, so neighbouring days repeat the
same information; :data:`INDEPENDENT_EVERY_DAYS` = 8 tells the site loader (``tccas.site.site_problem``) to
keep one day in eight, so the stream carries as many values as the product has composites.

Uncertainty (``σ_d² = σ_obs² + σ_mod²``): ``σ_obs`` the product's ``LAIunc`` (0.2–0.7 m² m⁻² at the seven
sites); ``σ_mod = max(0.5 m² m⁻², 0.2·LAI)`` [D]: MODIS LAI validation against ground LAI gives an RMSE of
0.6–0.7 m² m⁻² and a systematic underestimate of dense needleleaf canopies (Fang, Baret, Plummer &
Schaepman-Strub 2019, Rev. Geophys. 57, 739, their Table 5), and the 500 m pixel is not the tower footprint.
Floor 0.2.
"""

from __future__ import annotations

from tccas import model
from tccas.obs.common import StreamErrorModel, aggregate_linear, gather_daily

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "lai"
KIND = "tower"
UNITS = "m2 m-2"
LONG_NAME = "site satellite leaf area index (daily, interpolated 8-day composites)"
DEFAULT_ENABLED = False
#: Product-plus-representativeness error term and floor (module docstring) [D].
ERROR_MODEL = StreamErrorModel(sigma_model_abs=0.5, sigma_model_rel=0.2, sigma_floor=0.2)
#: Config key of ``streams.lai`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {
    "sigma_model_abs": "sigma_model_abs",
    "sigma_model_rel": "sigma_model_rel",
    "sigma_floor": "sigma_floor",
}
#: QC range [m² m⁻²] (MODIS LAI valid range 0–10).
VALID_RANGE = (0.0, 10.0)
#: Days per independent value (module docstring): the site loader keeps one day in eight.
INDEPENDENT_EVERY_DAYS = 8
#: No operator controls: the model's LAI is compared directly.
PARAMETERS: tuple[model.ParamSpec, ...] = ()


def model_equivalent(lai_daily, fractions, t_hour):
    """Pixel LAI [m² m⁻²] on the days of ``t_hour``: ``lai_daily`` (n_tiles, n_days), ``fractions``
    (n_tiles,), linear aggregation."""
    return aggregate_linear(gather_daily(lai_daily, t_hour), fractions)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: LAI equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``) at the hour indices ``t_hour``."""
    return model_equivalent(out.daily["lai"], problem.fractions, t_hour)
