"""L-band VOD observation operator for SMOS (obs_da_spec §4).

Per tile at the overpass hour (§4.1):
``τ = f(T) · (l_wd C_wd + l_fol C_fol) · (l_s f_soil + l_f f_E + l_0)``,
``f(T) = 0.25 + 0.75 / (1 + exp(−0.5 (T + 3)))`` (Schwank et al. 2021 freeze effect, T in °C),
aggregated over tiles through transmissivity ``τ_agg = −ln Σ f_i exp(−τ_i)`` (§1.2 [T]).

Gauge (§4.2 [D]): τ is bilinear in (l_wd, l_fol) and (l_s, l_f, l_0); multiplying the first pair by c and the
triple by 1/c leaves τ unchanged. We fix ``l_0 = 1`` (option a), so (l_s, l_f) are water-status
sensitivities relative to the dry-canopy baseline and (l_wd, l_fol) carry the absolute scale.

Temperature [?]: air temperature at the overpass hour by default (``temperature="air"``); canopy
temperature with ``temperature="canopy"``. f_E: daily mean E_t/E_pot of the observation day (§4.3: the
instantaneous ratio at 06:00 is 0/0).
"""

from __future__ import annotations

import jax.numpy as jnp

from tccas import model
from tccas.obs.common import StreamErrorModel, aggregate_transmissivity, gather_daily, gather_hourly

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "vod"
KIND = "eo"
UNITS = "1"
LONG_NAME = "SMOS-IC L-band vegetation optical depth"
DEFAULT_ENABLED = True

#: Fixed gauge l_0 (obs_da_spec §4.2 option a).
L_0 = 1.0
#: σ_mod = 0.5 × typical VOD (obs_da_spec §4.4; TCCAS total ≈ 100 % relative [T]): absolute 0.05 plus
#: 50 % of the observed value; floor 0.02.
ERROR_MODEL = StreamErrorModel(sigma_model_abs=0.05, sigma_model_rel=0.5, sigma_floor=0.02)
#: Config key of ``streams.vod`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {"sigma_model_rel": "sigma_model_rel"}
VALID_RANGE = (0.0, 3.0)

#: Operator controls (obs_da_spec §4.1–4.2 [D], σ 50 %, gauge l_0 = 1 fixed), one per pixel.
PARAMETERS: tuple[model.ParamSpec, ...] = (
    model.ParamSpec(
        "vod_l_wd",
        "m2 gC-1",
        False,
        5e-5,
        2.5e-5,
        1e-6,
        1e-3,
        "obs_da_spec §4.1 [D], σ 50 %",
        "L-VOD per unit wood carbon",
    ),
    model.ParamSpec(
        "vod_l_fol",
        "m2 gC-1",
        False,
        3e-3,
        1.5e-3,
        1e-5,
        3e-2,
        "obs_da_spec §4.1 [D], σ 50 %",
        "L-VOD per unit foliage carbon",
    ),
    model.ParamSpec(
        "vod_l_s",
        "1",
        False,
        0.5,
        0.25,
        0.0,
        5.0,
        "obs_da_spec §4.1–4.2 [D], σ 50 %, l_0 = 1",
        "L-VOD sensitivity to relative root-zone soil water",
    ),
    model.ParamSpec(
        "vod_l_f",
        "1",
        False,
        0.5,
        0.25,
        0.0,
        5.0,
        "obs_da_spec §4.1–4.2 [D], σ 50 %, l_0 = 1",
        "L-VOD sensitivity to the evaporative fraction E/E_pot",
    ),
)
#: SMOS ascending overpass, local solar time [h] (obs_da_spec §4.3).
OVERPASS_HOUR_LOCAL = 6.0


def f_temperature(t_celsius):
    """Freeze factor ``f(T) = 0.25 + 0.75/(1 + exp(−0.5 (T + 3)))`` [–] (obs_da_spec §4.1)."""
    return 0.25 + 0.75 / (1.0 + jnp.exp(-0.5 * (t_celsius + 3.0)))


def tau_tile(t_celsius, c_wood, c_fol, f_soil, f_e, l_wd, l_fol, l_s, l_f, l_0=L_0):
    """VOD of one tile (obs_da_spec §4.1): carbon in gC m⁻², l_wd/l_fol in m² gC⁻¹, f_soil, f_E ∈ [0, 1]."""
    return f_temperature(t_celsius) * (l_wd * c_wood + l_fol * c_fol) * (l_s * f_soil + l_f * f_e + l_0)


def model_equivalent(temp_hourly, c_woo, c_fol, f_soil, f_e, l_wd, l_fol, l_s, l_f, fractions, t_hour):
    """Model equivalents of L-VOD observations of one pixel (obs_da_spec §1.2, §4.1, §4.3).

    ``temp_hourly`` (n_tiles, n_days, 24) [°C]; daily (n_tiles, n_days): ``c_woo``, ``c_fol`` [gC m⁻²],
    ``f_soil``, ``f_e`` [–]; operator coefficients are scalars (stream-wide per pixel); ``fractions``
    (n_tiles,). Pools and water status are taken on the observation day, temperature at its hour.
    """
    t = gather_hourly(temp_hourly, t_hour)
    tau = tau_tile(
        t,
        gather_daily(c_woo, t_hour),
        gather_daily(c_fol, t_hour),
        jnp.clip(gather_daily(f_soil, t_hour), 0.0, 1.0),
        jnp.clip(gather_daily(f_e, t_hour), 0.0, 1.0),
        l_wd,
        l_fol,
        l_s,
        l_f,
    )
    return aggregate_transmissivity(tau, fractions)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: L-VOD equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``), operator controls ``op``, the pixel problem, the assimilation settings
    (``vod_temperature``: air or canopy temperature at the overpass hour, §4.1 [?]) and the hour indices."""
    h, d = out.hourly, out.daily
    temp = h["t_canopy"] if settings.vod_temperature == "canopy" else h["t_air"]
    return model_equivalent(
        temp,
        d["c_woo"],
        d["c_fol"],
        d["f_soil"],
        d["f_e"],
        op["vod_l_wd"],
        op["vod_l_fol"],
        op["vod_l_s"],
        op["vod_l_f"],
        problem.fractions,
        t_hour,
    )
