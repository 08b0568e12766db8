"""Tower gross primary production (GPP) operator: daily GPP [gC m⁻² d⁻¹] — a validation stream that can
also be assimilated (disabled by default).

Tower GPP is not measured: it is partitioned from NEE with a respiration model, night-time (Reichstein et
al. 2005, Global Change Biol. 11:1424) or daytime light-response based (Lasslop et al. 2010, Global Change
Biol. 16:187), so it inherits the assumptions of that model and is correlated with the NEE of the same
days. Assimilating GPP together with NEE therefore counts the same information twice; the stream is
disabled by default and serves to validate the posterior (series ``gpp``).

Model equivalent: the cover-weighted pixel daily GPP ``Σ_i f_i GPP_i`` on the observation day (model_spec
§1.2; uncovered remainder contributes zero), at ``t_hour = 24·day + 12``.

Uncertainty: ``σ_obs`` = the data's uncertainty (e.g. the spread between partitioning methods or their
ensemble); ``σ_mod = max(1.0 gC m⁻² d⁻¹, 0.3·|GPP|)`` [D], larger than for NEE: daytime and night-time
partitioning of the same NEE differ by 10–25 % and more on single days (Lasslop et al. 2010), on top of a
model error of the order of the 0.9–1.7 gC m⁻² d⁻¹ daily GPP RMSE of a calibrated DALEC on independent
years (DifferLand v1.0 baseline, J. Fang et al.). Floor 0.3.
"""

from __future__ import annotations

from tccas import model
from tccas.obs.common import StreamErrorModel, aggregate_linear, gather_daily

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "gpp"
KIND = "tower"
UNITS = "gC m-2 d-1"
LONG_NAME = "tower daily gross primary production (partitioned)"
DEFAULT_ENABLED = False
#: Model-plus-partitioning error term and floor (module docstring) [D].
ERROR_MODEL = StreamErrorModel(sigma_model_abs=1.0, sigma_model_rel=0.3, sigma_floor=0.3)
#: Config key of ``streams.gpp`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {
    "sigma_model_abs": "sigma_model_abs",
    "sigma_model_rel": "sigma_model_rel",
    "sigma_floor": "sigma_floor",
}
#: QC range [gC m⁻² d⁻¹]: slightly negative partitioned GPP (noise) is kept, absurd values dropped.
VALID_RANGE = (-5.0, 40.0)
#: No operator controls.
PARAMETERS: tuple[model.ParamSpec, ...] = ()


def model_equivalent(gpp_daily, fractions, t_hour):
    """Pixel GPP [gC m⁻² d⁻¹] on the days of ``t_hour``: ``gpp_daily`` (n_tiles, n_days), ``fractions``
    (n_tiles,), linear aggregation."""
    return aggregate_linear(gather_daily(gpp_daily, t_hour), fractions)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: GPP equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``) at the hour indices ``t_hour``."""
    return model_equivalent(out.daily["gpp"], problem.fractions, t_hour)
