"""SIF observation operator for TROPOSIF SIF_743 (obs_da_spec §3).

Chain: per-layer actual electron transport J_a (per LEAF area, from the process model, model_spec §3.5) →
leaf fluorescence of Gu et al. (2019) (§3.2) → upward escape through the layered canopy with a diffuse
far-red two-stream (§3.3) → spectral/angular conversion to the 743 nm radiance with the TCCAS constant
CONV743 = 360.528344 (§3.4) and a stream-wide scale factor (prior 1, §3.4 [D]) that absorbs the residual
conversion/angular bias.

Units: J_a [µmol e⁻ m⁻² leaf s⁻¹]; SIF_leaf [µmol photons m⁻² leaf s⁻¹]; SIF_canopy [µmol photons m⁻²
ground s⁻¹]; SIF_743 [mW m⁻² sr⁻¹ nm⁻¹].

[?] Direction of CONV743 (§3.4): applied to the model (SIF_743 = 1000 e_ph SIF_canopy / CONV743), which
gives 1 µmol m⁻² s⁻¹ ≈ 0.4466 mW m⁻² sr⁻¹ nm⁻¹, the magnitude of TROPOSIF SIF_743 for canopies.
"""

from __future__ import annotations

import jax.numpy as jnp

from tccas import model
from tccas.obs.common import StreamErrorModel, aggregate_linear, gather_hourly, pft_table

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "sif"
KIND = "eo"
UNITS = "mW m-2 sr-1 nm-1"
LONG_NAME = "TROPOSIF SIF at 743 nm"
DEFAULT_ENABLED = True

#: TCCAS spectral constant π·Δλ_eff [sr nm] (obs_da_spec §0, §3.4) [T].
CONV743 = 360.528344
#: Planck constant [J s], speed of light [m s⁻¹], Avogadro [mol⁻¹].
_H, _C, _NA = 6.62607015e-34, 2.99792458e8, 6.02214076e23
#: Gu et al. (2019) defaults (obs_da_spec §3.2) [L].
PHI_PSII_MAX = 0.83
K_DF = 19.0
Q_L = 0.8
#: Far-red leaf reflectance/transmittance and soil reflectance near 740 nm (obs_da_spec §3.3) [D].
R_F, T_F, R_GF = 0.47, 0.43, 0.25
#: TROPOMI overpass, local solar time [h] (obs_da_spec §3.1).
OVERPASS_HOUR_LOCAL = 13.5

#: σ_mod = max(0.1, 0.2·|SIF|) mW m⁻² sr⁻¹ nm⁻¹ (obs_da_spec §3.6); floor 0.1 (systematic floor, §3.5).
ERROR_MODEL = StreamErrorModel(sigma_model_abs=0.1, sigma_model_rel=0.2, sigma_floor=0.1)
#: Config key of ``streams.sif`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {"sigma_model_abs": "sigma_model_abs", "sigma_model_rel": "sigma_model_rel"}
#: QC range: negative SIF is kept (symmetric noise, obs_da_spec §1.5); absurd values are dropped.
VALID_RANGE = (-5.0, 10.0)

#: Operator controls (obs_da_spec §3.2, §3.4, §3.7): scale one per pixel, q_L one per tile.
PARAMETERS: tuple[model.ParamSpec, ...] = (
    model.ParamSpec(
        "sif_scale",
        "1",
        False,
        1.0,
        0.3,
        0.2,
        3.0,
        "obs_da_spec §3.4 [D]",
        "stream-wide SIF scale factor (conversion / angular bias)",
    ),
    model.ParamSpec(
        "sif_q_l",
        "1",
        True,
        pft_table(Q_L),
        pft_table(0.2),
        pft_table(0.3),
        pft_table(1.0),
        "obs_da_spec §3.2 [L][D]",
        "fraction of open PSII reaction centres q_L",
    ),
)


def photon_energy(wavelength_nm):
    """Energy of one µmol of photons ``e_ph = h c N_A / λ`` [J µmol⁻¹] (obs_da_spec §3.4)."""
    return _H * _C * _NA / (wavelength_nm * 1e-9) * 1e-6


def sif_leaf_gu(j_a, q_l=Q_L, phi_max=PHI_PSII_MAX, k_df=K_DF):
    """Leaf PSII fluorescence ``J_a (1 − Φ_PSIImax) / (q_L Φ_PSIImax (1 + k_DF))`` (Gu et al. 2019;
    obs_da_spec §3.2). Linear in J_a; J_a = 0 (night) gives 0."""
    return j_a * (1.0 - phi_max) / (q_l * phi_max * (1.0 + k_df))


def slab_rt(lai, r_f=R_F, t_f=T_F):
    """Diffuse reflectance and transmittance of a leaf slab of leaf area ``lai`` (obs_da_spec §3.3,
    Meador–Weaver form, G = ½). Returns ``(R, T)``; R(0) = 0, T(0) = 1."""
    w = r_f + t_f
    beta = 0.5 * (w + (r_f - t_f) / 3.0) / w
    g1 = 2.0 * (1.0 - (1.0 - beta) * w)
    g2 = 2.0 * w * beta
    k = jnp.sqrt(g1 * g1 - g2 * g2)
    e2 = jnp.exp(-2.0 * k * 0.5 * lai)
    dn = k + g1 + (k - g1) * e2
    return g2 * (1.0 - e2) / dn, 2.0 * k * jnp.exp(-k * 0.5 * lai) / dn


def escape_fractions(lai_layers, r_f=R_F, t_f=T_F, r_gf=R_GF):
    """Fraction of the SIF emitted in each layer that leaves the canopy top (obs_da_spec §3.3).

    ``lai_layers`` (..., n_layers): leaf area of each layer, top first. For a layer with cumulative leaf area
    ``L_a`` above and ``L_b`` below its centre: ``R_b' = R(L_b) + T(L_b)² r_gF / (1 − R(L_b) r_gF)`` and
    ``f_up = ½ T(L_a) (1 + R_b') / (1 − R(L_a) R_b')``.
    """
    total = jnp.sum(lai_layers, axis=-1, keepdims=True)
    above = jnp.cumsum(lai_layers, axis=-1) - 0.5 * lai_layers
    below = total - above
    r_a, t_a = slab_rt(above, r_f, t_f)
    r_b, t_b = slab_rt(below, r_f, t_f)
    r_bp = r_b + t_b * t_b * r_gf / (1.0 - r_b * r_gf)
    return 0.5 * t_a * (1.0 + r_bp) / (1.0 - r_a * r_bp)


def sif_canopy(j_a_layers, lai_layers, q_l=Q_L, phi_max=PHI_PSII_MAX, k_df=K_DF, r_f=R_F, t_f=T_F, r_gf=R_GF):
    """Canopy-top SIF photon flux ``Σ_l SIF_leaf(l) ΔLAI_l f_up(l)`` [µmol m⁻² ground s⁻¹] (obs_da_spec §3.3).
    ``j_a_layers`` is per leaf area, so each layer is weighted by its leaf area."""
    leaf = sif_leaf_gu(j_a_layers, q_l, phi_max, k_df)
    return jnp.sum(leaf * lai_layers * escape_fractions(lai_layers, r_f, t_f, r_gf), axis=-1)


def to_sif743(sif_canopy_flux, scale=1.0, conv743=CONV743):
    """``SIF_743 = scale · 1000 · e_ph(743 nm) · SIF_canopy / CONV743`` [mW m⁻² sr⁻¹ nm⁻¹]
    (obs_da_spec §3.4)."""
    return scale * 1000.0 * photon_energy(743.0) * sif_canopy_flux / conv743


def tile_sif743(j_a, lai_layer, q_l, scale):
    """Hourly SIF_743 per tile: ``j_a``/``lai_layer`` (n_tiles, ..., n_layers), ``q_l`` (n_tiles,)."""
    q = q_l.reshape(q_l.shape + (1,) * (j_a.ndim - 1))
    return to_sif743(sif_canopy(j_a, lai_layer, q_l=q), scale)


def model_equivalent(j_a, lai_layer, q_l, scale, fractions, t_hour):
    """Model equivalents of SIF_743 observations of one pixel (obs_da_spec §1.2, §1.4, §3.5).

    ``j_a``, ``lai_layer`` (n_tiles, n_days, 24, n_layers); values at the model hour containing each
    observation are aggregated linearly with the tile cover fractions.
    """
    ja = jnp.moveaxis(gather_hourly(jnp.moveaxis(j_a, -1, 1), t_hour), 1, -1)  # (n_tiles, n_obs, n_layers)
    ll = jnp.moveaxis(gather_hourly(jnp.moveaxis(lai_layer, -1, 1), t_hour), 1, -1)
    return aggregate_linear(tile_sif743(ja, ll, q_l, scale), fractions)


def overpass_utc_hour(lon, overpass_local=OVERPASS_HOUR_LOCAL):
    """UTC time of day [h, fractional, in [0, 24)] of a local-solar-time overpass at longitude ``lon``."""
    return jnp.mod(overpass_local - lon / 15.0, 24.0)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: SIF_743 equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``), operator controls ``op``, the pixel problem and the hour indices."""
    h = out.hourly
    return model_equivalent(
        h["j_a"], h["lai_layer"], op["sif_q_l"], op["sif_scale"], problem.fractions, t_hour
    )
