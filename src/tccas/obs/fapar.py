"""FAPAR observation operator: the JRC-TIP two-stream model of Pinty et al. (2006) (obs_da_spec §2).

The operator maps the simulated true LAI of a tile to the FAPAR of the Joint Research Centre Two-stream
Inversion Package (JRC-TIP): effective optical depths ``τ = ½ ζ LAI`` (collimated) and ``τ* = ½ ζ* LAI``
(isotropic), black-background solutions for both sources, and coupling with a Lambertian background of
albedo ``r_g`` (obs_da_spec §2.3). TIP's "effective LAI" is ``ζ·LAI``; the structure factor ζ is a control
parameter (§2.7), so model LAI is never compared with TIP LAI directly.

Default comparison (obs_da_spec §2.5 [D]): TIP is driven by white-sky albedos, so its FAPAR refers to
isotropic illumination; the model equivalent is ``FAPAR_iso`` of the tile's daily-mean LAI on the day of the
observation. Option ``illumination="mixed"`` uses ``(1 − f_d) FAPAR_dir(μ0) + f_d FAPAR_iso`` at the
observation hour (black-sky at overpass products).

All functions are pure JAX, float64, elementwise-vectorised, with finite gradients at kμ = 1, LAI = 0 and
ω → 0 (the removable singularities are guarded with ``jnp.where`` on safe inputs, §2.3 notes).
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp

from tccas import model
from tccas.obs.common import StreamErrorModel, gather_daily, gather_hourly, pft_table

#: Registry record (:mod:`tccas.obs.registry`): stream key, kind, units, description, default switch.
NAME = "fapar"
KIND = "eo"
UNITS = "1"
LONG_NAME = "JRC-TIP FAPAR"
DEFAULT_ENABLED = True

#: Mean cosine used for isotropic (white-sky) illumination, μ̄ = 0.5/0.705 (obs_da_spec §2.3).
MU_ISO = 0.5 / 0.705

#: JRC-TIP "green leaves" prior leaf optics and background (obs_da_spec §2.1) [L].
TIP_VIS = {"r_l": 0.085, "t_l": 0.085, "r_g": 0.10}
TIP_NIR = {"r_l": 0.70 * 2.0 / 3.0, "t_l": 0.70 / 3.0, "r_g": 0.18}

#: Uncertainty model of the stream (obs_da_spec §2.6): σ_mod = 0.05 absolute, σ_d floor 0.02.
ERROR_MODEL = StreamErrorModel(sigma_model_abs=0.05, sigma_model_rel=0.0, sigma_floor=0.02)

#: Config key of ``streams.fapar`` → :class:`~tccas.obs.common.StreamErrorModel` field.
CONFIG_ERROR_KEYS = {"sigma_model": "sigma_model_abs", "sigma_floor": "sigma_floor"}
#: Physically valid range of an observation (QC, obs_da_spec §1.5: negative FAPAR is dropped).
VALID_RANGE = (0.0, 1.0)

# Structure factor ζ per PFT [D]: clumped forests 0.5–0.8, shrubs 0.8, herbaceous 0.9 (obs_da_spec §2.2)
_ZETA = pft_table([1.0, 0.7, 0.75, 0.7, 0.75, 0.65, 0.7, 0.8, 0.8, 0.9, 0.9, 0.9, 0.9, 0.9])

#: Operator controls (obs_da_spec §2.2, §2.7): ζ one per tile, background albedo one per pixel.
PARAMETERS: tuple[model.ParamSpec, ...] = (
    model.ParamSpec(
        "fapar_zeta",
        "1",
        True,
        _ZETA,
        0.2 * _ZETA,
        pft_table(0.3),
        pft_table(1.1),
        "obs_da_spec §2.2, §2.7 [D]",
        "two-stream structure factor ζ = ζ* (TIP effective LAI / LAI)",
    ),
    model.ParamSpec(
        "fapar_rg",
        "1",
        False,
        TIP_VIS["r_g"],
        0.05,
        0.01,
        0.4,
        "obs_da_spec §2.1, §2.7 [L]",
        "VIS background albedo under the canopy",
    ),
)

_N_CF = 40  # continued-fraction depth (obs_da_spec §2.3 notes; see expint_e1)


def expint_e1(x):
    """Exponential integral E1(x) for x > 0 (obs_da_spec §2.3 notes).

    Uses the power series ``E1 = −γ − ln x − Σ (−x)^n/(n n!)`` (40 terms) for x ≤ 2 and a continued fraction
    evaluated bottom-up for x > 2 (the JRC-TIP reference code uses 20 terms everywhere; 20 terms leave a
    3e-7 relative error just above x = 1, hence the series up to 2 and a deeper fraction). Both branches
    are evaluated at safe arguments so gradients stay finite; relative accuracy < 1e-12.
    """
    x = jnp.asarray(x, dtype=jnp.float64)
    xs = jnp.where(x <= 2.0, jnp.maximum(x, 1e-300), 1.0)
    term = -xs
    total = -xs
    for n in range(2, 41):
        term = term * (-xs) * (n - 1) / (n * n)
        total = total + term
    series = -0.5772156649015329 - jnp.log(xs) - total
    xl = jnp.where(x > 2.0, x, 3.0)
    # continued fraction e^{-x} / (x + 1/(1 + 1/(x + 2/(1 + 2/(x + ...))))) evaluated bottom-up
    frac = xl
    for n in range(_N_CF, 0, -1):
        frac = xl + n / (1.0 + n / frac)
    cfrac = jnp.exp(-xl) / frac
    return jnp.where(x <= 2.0, series, cfrac)


def two_e3(x):
    """Uncollided diffuse transmission ``T0* = 2 E3(x) = e^{−x}(1 − x) + x² E1(x)`` (obs_da_spec §2.3).

    ``2E3(0) = 1``; the ``x² E1(x)`` term is written with a safe argument so that the gradient at x = 0 is
    finite (d(2E3)/dx = −2 E2(x) → −2).
    """
    x = jnp.asarray(x, dtype=jnp.float64)
    xs = jnp.where(x > 0.0, x, 1.0)
    tail = jnp.where(x > 0.0, xs * xs * expint_e1(xs), 0.0)
    return jnp.exp(-x) * (1.0 - x) + tail


class BlackBackground(NamedTuple):
    """Black-background fluxes for one source (obs_da_spec §2.3): reflectance, collided diffuse
    transmission, uncollided transmission and absorption, all per unit incident flux."""

    r: jnp.ndarray
    t_diff: jnp.ndarray
    t_unc: jnp.ndarray
    a: jnp.ndarray


def black_background(r_l, t_l, tau, mu, t_unc=None):
    """Black-background two-stream solution for incidence cosine μ and optical depth τ (obs_da_spec §2.3).

    ``γ1..γ4``, ``k``, ``α1``, ``α2`` as in §2.3; the solution is written in the e^{−kτ}-scaled form
    (numerator and D multiplied by 1/E) so that large τ does not overflow. Removable singularities:
    kμ = 1 (μ nudged by 1e-5 where ``|1 − kμ| < 1e-6``), ω → 0 (ω floored at 1e-9 inside the coefficients;
    the limit R = T_diff = 0 is reached continuously) and ω = 1 (k → 0: k floored at 1e-9; the conservative
    limit is reached continuously to ~1e-9).

    ``t_unc`` overrides the uncollided transmission that enters ``A = 1 − R − T_diff − t_unc`` (the exact
    hemispherical ``2E3(τ*)`` for isotropic sources); the collided terms always use ``e^{−τ/μ}``.
    """
    w = jnp.maximum(r_l + t_l, 1e-9)
    dl = r_l - t_l
    g1 = 2.0 * (1.0 - w / 2.0 + dl / 6.0)
    g2 = 2.0 * (w / 2.0 + dl / 6.0)
    k = jnp.sqrt(jnp.maximum(g1 * g1 - g2 * g2, 1e-18))
    mu = jnp.where(jnp.abs(1.0 - k * mu) < 1e-6, mu + 1e-5, mu)
    g3 = 2.0 * (w / 4.0 + mu * dl / 6.0) / w
    g4 = 1.0 - g3
    a1 = g1 * g4 + g2 * g3
    a2 = g1 * g3 + g2 * g4
    em = jnp.exp(-k * tau)  # 1/E
    t0 = jnp.exp(-tau / mu)
    kmu = k * mu
    d = (1.0 - kmu * kmu) * ((k + g1) + (k - g1) * em * em)
    r = (w / d) * (
        (1.0 - kmu) * (a2 + k * g3)
        - (1.0 + kmu) * (a2 - k * g3) * em * em
        - 2.0 * k * (g3 - a2 * mu) * t0 * em
    )
    td = -(w / d) * (
        t0 * ((1.0 + kmu) * (a1 + k * g4) - (1.0 - kmu) * (a1 - k * g4) * em * em)
        - 2.0 * k * (g4 + a1 * mu) * em
    )
    tu = t0 if t_unc is None else t_unc
    return BlackBackground(r=r, t_diff=td, t_unc=tu, a=1.0 - r - td - tu)


def twostream(r_l, t_l, r_g, lai, zeta=1.0, zeta_star=1.0, mu0=1.0):
    """Pinty et al. (2006) two-stream fluxes with a Lambertian background (obs_da_spec §2.3).

    Parameters: leaf reflectance ``r_l`` and transmittance ``t_l`` [–], background albedo ``r_g`` [–], true
    LAI [m² m⁻²], structure factors ζ (collimated) and ζ* (isotropic) [–], cosine of the solar zenith angle
    ``mu0`` [–]. Returns a dict of per-unit-incident-flux quantities for the collimated (``_dir``) and
    isotropic (``_iso``) sources: ``fapar_*`` (vegetation absorption), ``albedo_*``, ``ttot_*`` (flux reaching
    the background) and ``soil_abs_*`` = (1 − r_g) Ttot. Energy closure
    ``fapar + albedo + soil_abs = 1`` holds exactly by construction of §2.3.
    """
    lai = jnp.maximum(jnp.asarray(lai, dtype=jnp.float64), 0.0)
    tau_b = 0.5 * zeta * lai
    tau_i = 0.5 * zeta_star * lai
    bb_b = black_background(r_l, t_l, tau_b, mu0)
    bb_i = black_background(r_l, t_l, tau_i, MU_ISO, t_unc=two_e3(tau_i))
    t1_b = bb_b.t_unc + bb_b.t_diff
    t1_i = bb_i.t_unc + bb_i.t_diff
    m = 1.0 / (1.0 - r_g * bb_i.r)
    alb_b = bb_b.r + r_g * t1_b * t1_i * m
    alb_i = bb_i.r + r_g * t1_i * t1_i * m
    ttot_b = t1_b * m
    ttot_i = t1_i * m
    return {
        "fapar_dir": 1.0 - alb_b - (1.0 - r_g) * ttot_b,
        "fapar_iso": 1.0 - alb_i - (1.0 - r_g) * ttot_i,
        "albedo_dir": alb_b,
        "albedo_iso": alb_i,
        "ttot_dir": ttot_b,
        "ttot_iso": ttot_i,
        "soil_abs_dir": (1.0 - r_g) * ttot_b,
        "soil_abs_iso": (1.0 - r_g) * ttot_i,
    }


def fapar_tile(lai, zeta, r_g, mu0=1.0, f_diffuse=1.0, r_l=TIP_VIS["r_l"], t_l=TIP_VIS["t_l"]):
    """FAPAR (VIS band) of one tile (obs_da_spec §2.3): ``(1 − f_d) FAPAR_dir(μ0) + f_d FAPAR_iso``.

    ζ = ζ* = ``zeta`` (one clumping control per PFT, §2.7). ``f_diffuse = 1`` gives the white-sky
    (isotropic) FAPAR used by default (§2.5). Night hours (μ0 ≤ 0) fall back to the isotropic value.
    """
    mu_safe = jnp.clip(mu0, 1e-2, 1.0)
    out = twostream(r_l, t_l, r_g, lai, zeta, zeta, mu_safe)
    f_d = jnp.where(mu0 > 1e-2, f_diffuse, 1.0)
    return (1.0 - f_d) * out["fapar_dir"] + f_d * out["fapar_iso"]


def model_equivalent(lai_daily, mu_hourly, f_dir_hourly, zeta, r_g, fractions, t_hour, illumination="iso"):
    """Model equivalents of FAPAR observations of one pixel (obs_da_spec §1.2, §1.4, §2.5).

    ``lai_daily`` (n_tiles, n_days) daily-mean LAI per tile; ``mu_hourly``/``f_dir_hourly`` (n_tiles or 1,
    n_days, 24); ``zeta`` (n_tiles,) structure factor per tile; ``r_g`` pixel background albedo; ``fractions``
    (n_tiles,); ``t_hour`` (n_obs,) int hour index from the window start. Tiles are aggregated linearly with
    their cover fractions (§1.2); the non-vegetated remainder contributes FAPAR = 0.
    """
    lai = gather_daily(lai_daily, t_hour)  # (n_tiles, n_obs)
    if illumination == "iso":
        per_tile = fapar_tile(lai, zeta[:, None], r_g)
    elif illumination == "mixed":
        mu = gather_hourly(mu_hourly, t_hour)
        f_d = 1.0 - gather_hourly(f_dir_hourly, t_hour)
        per_tile = fapar_tile(lai, zeta[:, None], r_g, mu, f_d)
    else:
        raise ValueError(f"FAPAR illumination must be 'iso' or 'mixed', got {illumination!r}")
    return jnp.sum(fractions[:, None] * per_tile, axis=0)


def equivalent(out, op, problem, settings, t_hour):
    """Registry entry point: FAPAR equivalents of one pixel from the model output ``out``
    (``tccas.model.PixelOutput``), operator controls ``op``, the pixel problem, the assimilation settings
    (``fapar_illumination``) and the hour indices."""
    h = out.hourly
    return model_equivalent(
        out.daily["lai"],
        h["mu"],
        h["f_dir"],
        op["fapar_zeta"],
        op["fapar_rg"],
        problem.fractions,
        t_hour,
        illumination=settings.fapar_illumination,
    )
