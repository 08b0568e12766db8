"""Surface soil-moisture observation operator for SMOS (obs_da_spec §5).

``θ_eq = b0 + b1 · θ_5cm`` with ``θ_5cm`` the model's surface-layer volumetric water content (model_spec
§2.6: θ_s = W_s/(1000 z_s), z_s = 0.05 m ≈ the SMOS sensing depth, so the identity mapping of §5.1 applies).
b0 [m³ m⁻³] and b1 [–] are bias/scaling controls (prior 0 ± 0.05 and 1 ± 0.2, §5.1 [D]).

Tile aggregation (§1.2): linear in the tile cover fractions, normalised by the covered fraction Σf — the
pixel has no separate bare-soil tile, so the uncovered remainder is assumed to have the cover-weighted
mean surface moisture (documented choice; with Σf = 1 it is the plain linear aggregation).
The model value is the daily-mean surface moisture of the observation day (the model's hydrology is daily,
model_spec §3.9).
"""

from __future__ import annotations

from tccas import model
from tccas.obs.common import StreamErrorModel, aggregate_normalised, gather_daily

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "sm"
KIND = "eo"
UNITS = "m3 m-3"
LONG_NAME = "SMOS surface soil moisture"
DEFAULT_ENABLED = True
#: σ_obs = DQX ≈ 0.03–0.05; σ_mod = 0.08 m³ m⁻³ (obs_da_spec §5.2 [T→D]); floor 0.02.
ERROR_MODEL = StreamErrorModel(sigma_model_abs=0.08, sigma_model_rel=0.0, sigma_floor=0.02)
#: Config key of ``streams.sm`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {"sigma_model": "sigma_model_abs"}
#: QC: SM outside [0, porosity] is dropped (obs_da_spec §1.5); 0.6 bounds any mineral-soil porosity.
VALID_RANGE = (0.0, 0.6)

#: Operator controls (obs_da_spec §5.1 [D]), one per pixel.
PARAMETERS: tuple[model.ParamSpec, ...] = (
    model.ParamSpec(
        "sm_b0", "m3 m-3", False, 0.0, 0.05, -0.2, 0.2, "obs_da_spec §5.1 [D]", "SMOS SM additive bias"
    ),
    model.ParamSpec("sm_b1", "1", False, 1.0, 0.2, 0.3, 2.0, "obs_da_spec §5.1 [D]", "SMOS SM scaling"),
)


def surface_equivalent(theta_surface, b0=0.0, b1=1.0):
    """Linear rescaling ``θ_eq = b0 + b1 θ_5cm`` [m³ m⁻³] (obs_da_spec §5.1)."""
    return b0 + b1 * theta_surface


def model_equivalent(theta_surface_daily, b0, b1, fractions, t_hour):
    """Model equivalents of SMOS SM observations of one pixel (obs_da_spec §5.1–5.2).

    ``theta_surface_daily`` (n_tiles, n_days) [m³ m⁻³]; ``fractions`` (n_tiles,).
    """
    theta = gather_daily(theta_surface_daily, t_hour)
    return surface_equivalent(aggregate_normalised(theta, fractions), b0, b1)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: SM equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``), operator controls ``op``, the pixel problem and the hour indices."""
    return model_equivalent(out.daily["theta_surface"], op["sm_b0"], op["sm_b1"], problem.fractions, t_hour)
