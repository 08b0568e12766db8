"""Declarative parameter registry of the D&B process model (model_spec §4).

Every tunable quantity of the model is declared once in :data:`PARAMETERS` with units, prior, 1-sigma,
bounds and the source it comes from. The pytrees :class:`TileParams` (per-PFT parameters of one tile) and
:class:`GlobalParams` (global BETHY parameters) are generated from that table, so their field order is the
registry order. Initial carbon pools are declared in :data:`POOL_SPECS` (same record type).

Index conventions: per-PFT arrays have shape ``(14,)`` indexed by the PFT code of model_spec §0.
Sources: [B] BETHY tables (model_spec §4.1-4.2), [T] TCCAS demo priors (§4.3), [C] CARDAMOM ranges (§4.3),
[D] design estimates of this implementation (§4.3 defaults table, §4.4). Deviation: the §4.3 default
foliage/labile fractions of the non-demo PFTs (TrEv, TrDD, TmSg, SgCn, DShr, C4Gr, Wetl, Crop) are
lowered because with BETHY GPP they drive the DALEC2 steady-state LAI to 10-25 m2 m-2 (C_fol* =
(F_fol + F_lab)/k_f, §6.2); the values here give peak LAI within the §6.6 range 0.5-8 under the
synthetic climates. V_m25 of DShr is 60 instead of BETHY's 160 µmol m-2 s-1: 160 gives boreal
deciduous-shrub GPP of ~2000 gC m-2 yr-1 (§6.6: 200-800); TRY deciduous-shrub V_cmax25 is ~50-70
(Kattge et al. 2009) — good science wins.

Prior sets (:mod:`tccas.model.prior_sets`, environment variable ``TCCAS_PRIORS``): the tables below are
the ``tccas_demo`` set; the default ``calibrated`` set replaces the prior mean and σ of the PFT-level
parameters calibrated jointly at seven flux towers (``tccas site calibrate``; the packaged file
``tccas/data/priors/dnb_calibrated.yaml`` records sites, years, cost and version). Where real data and the
spec's priors disagree, the calibrated set follows the data (docs/calibration.md).

PFT traits that are not parameters (C4 pathway, leaf-nitrogen scaling with depth, tree/grass) are static
per PFT code and are derived from the ``pfts`` integer array by :func:`pft_traits` (documented choice for
contract C1: traits are *not* carried inside :class:`TileParams`).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from tccas.model import prior_sets

PFT_NAMES: tuple[str, ...] = (
    "NoVeg",
    "TrEv",
    "TrDD",
    "TmEv",
    "TmSg",
    "EvCn",
    "SgCn",
    "EShr",
    "DShr",
    "C3Gr",
    "C4Gr",
    "Tund",
    "Wetl",
    "Crop",
)
N_PFT = len(PFT_NAMES)

# Static PFT traits (model_spec §4.1): C4 photosynthesis; leaf-N scaling with depth (trees, shrubs, crops).
C4_PFT = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0], dtype=np.float64)
NSCALE_PFT = np.array([0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1], dtype=np.float64)


class ParamSpec(NamedTuple):
    """One registry entry (model_spec §4).

    ``prior``/``sigma``/``lower``/``upper`` are floats for global parameters and arrays of shape (14,) for
    per-PFT parameters (a scalar bound applies to every PFT). ``sigma`` is an absolute 1-sigma; 0 marks a
    parameter that is fixed in the assimilation (it is still differentiable).
    """

    name: str
    units: str
    per_pft: bool
    prior: np.ndarray | float
    sigma: np.ndarray | float
    lower: np.ndarray | float
    upper: np.ndarray | float
    reference: str
    description: str = ""


def _a(values) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (N_PFT,):
        raise ValueError(f"per-PFT table must have {N_PFT} entries, got {out.shape}")
    return out


def _pft(name, units, prior, rel_sigma, lower, upper, reference, description):
    prior = _a(prior)
    lo = _a(lower) if np.ndim(lower) else np.full(N_PFT, float(lower))
    hi = _a(upper) if np.ndim(upper) else np.full(N_PFT, float(upper))
    return ParamSpec(name, units, True, prior, rel_sigma * np.abs(prior), lo, hi, reference, description)


def _glob(name, units, prior, sigma, lower, upper, reference, description):
    return ParamSpec(
        name, units, False, float(prior), float(sigma), float(lower), float(upper), reference, description
    )


# --- per-PFT tables, index = PFT code (0 NoVeg uses harmless C3 grass values) -------------------------
_VCMAX = [42, 60, 90, 41, 35, 29, 53, 52, 60, 42, 8, 20, 20, 117]
_AJV = [1.90, 1.96, 1.99, 2.00, 2.00, 1.79, 1.79, 1.96, 1.66, 1.90, 140.0, 1.85, 1.85, 1.88]
_HEIGHT = [0.1, 30, 15, 15, 15, 15, 15, 1, 1, 1, 1, 0.3, 0.3, 0.6]
_DALEC = {
    # name: (values, lower, upper, units, description); demo priors [T] for 3 TmEv, 5 EvCn, 7 EShr, 9 C3Gr
    "theta_min": (
        [2.58e-3, 1e-3, 1e-3, 3.04e-4, 5e-4, 4.56e-4, 5e-4, 3.32e-4, 4e-4, 2.58e-3, 2e-3, 3e-4, 3e-4, 1e-3],
        1e-5,
        1e-2,
        "d-1",
        "litter to SOM transfer rate (x temprate)",
    ),
    "f_auto": (
        [0.539, 0.45, 0.45, 0.402, 0.45, 0.420, 0.45, 0.455, 0.45, 0.539, 0.45, 0.45, 0.45, 0.45],
        0.2,
        0.8,
        "1",
        "fraction of GPP respired (only with ra_scheme='fauto')",
    ),
    "f_fol": (
        [0.361, 0.08, 0.08, 0.0498, 0.15, 0.118, 0.12, 0.167, 0.08, 0.361, 0.15, 0.20, 0.15, 0.15],
        0.01,
        0.5,
        "1",
        "NPP fraction to foliage",
    ),
    "f_roo": (
        [0.706, 0.35, 0.35, 0.355, 0.35, 0.277, 0.35, 0.321, 0.40, 0.706, 0.60, 0.50, 0.55, 0.30],
        0.01,
        1.0,
        "1",
        "fraction of the NPP remainder to roots",
    ),
    "leaf_lifespan": (
        [1.008, 1.8, 1.05, 1.104, 1.02, 1.189, 1.02, 1.519, 1.03, 1.008, 1.01, 1.5, 1.02, 1.01],
        1.001,
        8.0,
        "yr",
        "leaf lifespan L_f",
    ),
    "theta_woo": (
        [
            7.32e-4,
            1e-4,
            1.2e-4,
            6.65e-5,
            8e-5,
            1.25e-4,
            8e-5,
            1.32e-4,
            1.5e-4,
            7.32e-4,
            7e-4,
            2e-4,
            5e-4,
            1e-3,
        ],
        2.5e-5,
        1e-3,
        "d-1",
        "wood turnover rate",
    ),
    "theta_roo": (
        [8.71e-3, 3e-3, 4e-3, 5.88e-3, 4e-3, 7.2e-3, 4e-3, 4.27e-3, 5e-3, 8.71e-3, 8e-3, 3e-3, 5e-3, 1e-2],
        1e-4,
        1e-2,
        "d-1",
        "fine-root turnover rate",
    ),
    "theta_lit": (
        [5.51e-4, 8e-3, 8e-3, 6.88e-3, 5e-3, 5.91e-3, 4e-3, 1.32e-3, 3e-3, 5.51e-4, 3e-3, 1e-3, 1e-3, 5e-3],
        1e-4,
        1e-2,
        "d-1",
        "litter heterotrophic respiration rate",
    ),
    "theta_som": (
        [3.96e-5, 3e-5, 3e-5, 2.48e-5, 2e-5, 1.57e-5, 1.5e-5, 3.61e-6, 1e-5, 3.96e-5, 3e-5, 5e-6, 5e-6, 3e-5],
        1e-7,
        1e-3,
        "d-1",
        "SOM heterotrophic respiration rate",
    ),
    "temp_sens": (
        [0.0342, 0.045, 0.045, 0.0510, 0.05, 0.0481, 0.05, 0.0404, 0.045, 0.0342, 0.035, 0.05, 0.04, 0.04],
        0.018,
        0.08,
        "degC-1",
        "temperature sensitivity Theta of temprate = exp(Theta T)",
    ),
    "c_eff": (
        [14.3, 20, 20, 22.3, 20, 20.8, 20, 20.9, 20, 14.3, 20, 20, 20, 20],
        5.0,
        50.0,
        "1",
        "ACM canopy efficiency (kept for the TCCAS control vector; inert, ACM replaced by BETHY)",
    ),
    "d_onset": (
        [77.3, 90, 300, 74.3, 120, 156.1, 150, 69.2, 150, 77.3, 120, 165, 120, 110],
        1.0,
        365.25,
        "doy",
        "labile-release peak day",
    ),
    "f_lab": (
        [0.419, 0.04, 0.08, 0.220, 0.20, 0.136, 0.15, 0.0931, 0.08, 0.419, 0.12, 0.20, 0.15, 0.05],
        0.01,
        0.5,
        "1",
        "fraction of the NPP remainder to labile",
    ),
    "c_ronset": (
        [28.1, 60, 40, 74.2, 25, 29.3, 25, 33.3, 25, 28.1, 30, 20, 30, 20],
        10.0,
        100.0,
        "d",
        "labile-release period",
    ),
    "d_fall": (
        [122.0, 250, 150, 157.4, 290, 230.3, 260, 258.5, 250, 122.0, 280, 235, 280, 210],
        1.0,
        365.25,
        "doy",
        "leaf-fall peak day",
    ),
    "c_rfall": (
        [65.0, 120, 50, 54.6, 25, 50.9, 25, 40.6, 30, 65.0, 60, 25, 40, 20],
        20.0,
        150.0,
        "d",
        "leaf-fall period",
    ),
    "lma": (
        [46.9, 60, 40, 67.7, 40, 36.1, 45, 69.9, 45, 46.9, 35, 60, 35, 30],
        5.0,
        200.0,
        "gC m-2",
        "leaf carbon mass per area (LAI = C_fol / LMA)",
    ),
}

# Rooting depth z_root [m] per PFT: the rooting depth d_r of Zeng (2001, J. Hydrometeorol. 2, 525), Table 2,
# for the IGBP class of each PFT (d_r: depth of the root profile fitted to the Jackson et al. 1996, Oecologia
# 108, 389 / Canadell et al. 1996, Oecologia 108, 583 root database) [L]. Mapping PFT -> IGBP class (d_r):
#   TrEv, TmEv -> evergreen broadleaf forest (3.0 m); TrDD, TmSg -> deciduous broadleaf forest (2.0 m);
#   EvCn -> evergreen needleleaf forest (1.8 m); SgCn -> deciduous needleleaf forest (2.0 m);
#   EShr -> closed shrublands (2.5 m); DShr -> open shrublands (3.1 m); C3Gr, C4Gr -> grasslands (1.5 m);
#   Crop -> croplands (1.5 m); Tund -> 0.5 m (IGBP has no tundra class: the maximum rooting depth of tundra,
#   0.5 ± 0.1 m, of Canadell et al. 1996); Wetl -> kept at the reference 1.5 m (permanent wetlands: saturated
#   soils, no rooting-depth limit on supply); NoVeg uses the C3Gr value (harmless padding). TmEv's 3.0 m suits
#   holm oak (Quercus ilex, FR-Pue), which roots into the fissured limestone below its shallow, stony soil
#   (Rambal et al. 2003, Global Change Biol. 9, 1813). The prior of wmax_scale is z_root / 1.5 m, 1.5 m being
#   the rooting depth of the site W_max of 225 mm (loam, model_spec §4.4): W_max(tile) = (θ_fc − θ_wp) z_root
#   1000 mm. Bounds 0.2–4 (z_root 0.3–6 m).
_ROOTING_DEPTH = [1.5, 3.0, 2.0, 3.0, 2.0, 1.8, 2.0, 2.5, 3.1, 1.5, 1.5, 0.5, 1.5, 1.5]  # m
_Z_ROOT_SITE = 1.5  # m, rooting depth of the site W_max (model_spec §4.4)
_WMAX_SCALE = [z / _Z_ROOT_SITE for z in _ROOTING_DEPTH]
# f_W threshold of drought senescence (tccas.model.dalec.drought_senescence_factor): 0.4, the relative
# extractable water of drought-stress onset of Granier et al. (1999, Ecol. Model. 116, 269) [L]; acts for the
# grasses only (tccas.model.dalec.DROUGHT_SENESCENCE_PFT), the other PFTs carry the same inert value.
_F_SENESC = [0.4] * N_PFT

_REF_B = "model_spec §4.1 (BETHY mo_carparams.f90) [B]"
_REF_DALEC = "model_spec §4.3: TCCAS r10043 demo priors [T] / defaults [D]; bounds CARDAMOM PARS_INFO_400 [C]"

_PER_PFT: tuple[ParamSpec, ...] = (
    _pft(
        "vcmax25",
        "umol m-2 s-1",
        _VCMAX,
        0.2,
        np.array(_VCMAX) * 0.25,
        np.array(_VCMAX) * 3.0,
        _REF_B,
        "maximum carboxylation rate at 25 degC (top leaf)",
    ),
    _pft(
        "ajv",
        "1 (C3) | 1e3 umol m-2 s-1 (C4 k25)",
        _AJV,
        0.05,
        np.array(_AJV) * 0.5,
        np.array(_AJV) * 2.0,
        _REF_B,
        "J_m25/V_m25 for C3; for C4 the PEP-carboxylase constant k25 = ajv*1e3 umol m-2 s-1",
    ),
    _pft(
        "height",
        "m",
        _HEIGHT,
        0.2,
        np.array(_HEIGHT) * 0.2,
        np.array(_HEIGHT) * 3.0,
        _REF_B,
        "vegetation height for the aerodynamic conductance (model_spec §3.1)",
    ),
    _pft(
        "fc",
        "1",
        np.ones(N_PFT),
        0.0,
        0.05,
        1.0,
        "model_spec §2.4, §3.3 [T] (1 at FI-Sod)",
        "fractional vegetation cover of the tile (clumping)",
    ),
    _pft(
        "wmax_scale",
        "1",
        _WMAX_SCALE,
        0.2,
        0.2,
        4.0,
        "model_spec §0 item 3-4 [T][?], §4.2, §4.4; rooting depths of Zeng (2001, J. Hydrometeorol. 2, 525, "
        "Table 2, IGBP classes) [L]",
        "multiplier of the plant-available water capacity, W_max(tile) = site W_max x wmax_scale (TCCAS "
        "control items 3-4, identity [?]); prior z_root(PFT) [m] / 1.5 m, the rooting depth of the site "
        "W_max (loam, z_root = 1.5 m: 225 mm, model_spec §4.4); table and mapping at _ROOTING_DEPTH",
    ),
    _pft(
        "cw_scale",
        "1",
        np.ones(N_PFT),
        0.2,
        0.2,
        3.0,
        "model_spec §0 item 3-4 [T][?], §4.2",
        "multiplier of the maximum root water supply c_w (TCCAS control items 3-4, identity [?])",
    ),
    *(
        _pft(name, units, vals, 0.2, lo, hi, _REF_DALEC, desc)
        for name, (vals, lo, hi, units, desc) in _DALEC.items()
    ),
    _pft(
        "f_senesc",
        "1",
        _F_SENESC,
        0.2,
        0.05,
        0.8,
        "Granier et al. (1999, Ecol. Model. 116, 269) REW 0.4 [L]; GSI ramp of Jolly et al. (2005, Global "
        "Change Biol. 11, 619) [D] (tccas.model.dalec.drought_senescence_factor)",
        "plant-available root-zone water fraction f_W = W_r/W_max below which drought senescence sheds "
        "foliage (grasses only: tccas.model.dalec.DROUGHT_SENESCENCE_PFT; inert for the other PFTs)",
    ),
    _pft(
        "eta_woo",
        "1",
        np.ones(N_PFT),
        0.3,
        0.1,
        3.0,
        "Carvalhais et al. (2008, Global Biogeochem. Cycles 22, GB2007) [L]; prior 1 = steady state [D]",
        "ratio of the wood pool at the start of the run to its spun-up value (tccas.model.core."
        "relax_steady_state): "
        "stand history relaxes the steady-state assumption (a young stand has eta_woo < 1)",
    ),
    _pft(
        "eta_som",
        "1",
        np.ones(N_PFT),
        0.3,
        0.1,
        3.0,
        "Carvalhais et al. (2008, Global Biogeochem. Cycles 22, GB2007) [L]; prior 1 = steady state [D]",
        "ratio of the soil organic carbon pool at the start of the run to its spun-up value "
        "(tccas.model.core.relax_steady_state): eta_som < 1 a soil still accumulating carbon (a sink), "
        "> 1 a soil losing it",
    ),
)



def _with_prior_set(per_pft: tuple[ParamSpec, ...], glob: tuple[ParamSpec, ...]):
    """The per-PFT and global entries under the active prior set (:mod:`tccas.model.prior_sets`):
    ``tccas_demo`` as declared here; ``calibrated`` with the prior mean and σ of the (parameter, PFT) pairs
    and global parameters of the packaged prior files (literature values for PFTs without a calibration
    site, then the tower calibration), bounds widened to include a new value."""
    if prior_sets.active_prior_set() != "calibrated":
        return per_pft, glob
    over: dict[str, dict[int, tuple]] = {}
    for name in prior_sets.CALIBRATED_SET_FILES:
        source = f"tccas/{name}"
        entries = prior_sets.overrides_from_document(
            prior_sets.packaged_document(name),
            source,
            PFT_NAMES,
            tuple(p.name for p in per_pft),
            tuple(p.name for p in glob),
        )
        for param, by_code in entries.items():
            for code, value_sd in by_code.items():
                over.setdefault(param, {})[code] = (*value_sd, source)

    def apply(p: ParamSpec) -> ParamSpec:
        if p.name not in over:
            return p
        entries = over[p.name]
        if p.per_pft:
            prior, sigma = np.array(p.prior), np.array(p.sigma)
            for code, (value, sd, _) in entries.items():
                prior[code], sigma[code] = value, sd
        else:
            prior, sigma, _ = entries[prior_sets.GLOBAL_CODE]
        notes = []
        for source in dict.fromkeys(src for *_, src in entries.values()):
            codes = sorted(c for c, e in entries.items() if e[2] == source)
            pfts = "all PFTs" if codes == [prior_sets.GLOBAL_CODE] else ", ".join(PFT_NAMES[c] for c in codes)
            notes.append(f"{pfts} from {source}")
        return p._replace(
            prior=prior,
            sigma=sigma,
            lower=np.minimum(p.lower, prior),
            upper=np.maximum(p.upper, prior),
            reference=f"{p.reference}; prior set 'calibrated': {'; '.join(notes)}",
        )

    return tuple(map(apply, per_pft)), tuple(map(apply, glob))


_REF_G = "model_spec §4.2 (BETHY mo_carparams.f90, control_bethy/101_paramslist) [B]"
_GLOBAL: tuple[ParamSpec, ...] = (
    _glob("e_c", "J mol-1", 59356.0, 2967.0, 3e4, 9e4, _REF_G, "activation energy of K_c"),
    _glob("e_o", "J mol-1", 35948.0, 1797.0, 1.5e4, 6e4, _REF_G, "activation energy of K_o"),
    _glob("e_v", "J mol-1", 58520.0, 2926.0, 3e4, 9e4, _REF_G, "activation energy of V_m"),
    _glob("e_r", "J mol-1", 45000.0, 2250.0, 2e4, 7e4, _REF_G, "activation energy of R_d"),
    _glob("e_k", "J mol-1", 50967.0, 2548.0, 2e4, 8e4, _REF_G, "activation energy of C4 k"),
    _glob("kc25", "mol mol-1", 460e-6, 23e-6, 200e-6, 900e-6, _REF_G, "Michaelis-Menten constant CO2"),
    _glob("ko25", "mol mol-1", 0.33, 0.0165, 0.15, 0.6, _REF_G, "Michaelis-Menten constant O2"),
    _glob("gamma_t", "mol mol-1 degC-1", 1.7e-6, 8.5e-8, 1e-6, 3e-6, _REF_G, "Gamma* slope"),
    _glob("alpha", "mol e- mol-1 photon", 0.28, 0.014, 0.15, 0.4, _REF_G, "C3 quantum efficiency of J"),
    _glob("alpha_i", "1", 0.04, 0.002, 0.02, 0.08, _REF_G, "C4 integrated quantum efficiency"),
    _glob("theta_c4", "1", 0.83, 0.0, 0.5, 0.99, _REF_G, "C4 curvature"),
    _glob("eta", "1", 0.99, 0.0, 0.9, 0.999, _REF_G, "co-limitation / supply-demand smoothing"),
    _glob("frd_c3", "1", 0.011, 0.0, 0.005, 0.03, _REF_G, "R_d25/V_m25 for C3"),
    _glob("frd_c4", "1", 0.042, 0.0, 0.02, 0.08, _REF_G, "R_d25/V_m25 for C4"),
    _glob("fci_c3", "1", 0.65, 0.0, 0.5, 0.95, _REF_G + " [?] 0.87 in Knorr 2000", "pass-1 Ci/Ca (C3)"),
    _glob("fci_c4", "1", 0.37, 0.0, 0.2, 0.8, _REF_G + " [?] 0.67 in Knorr 2000", "pass-1 Ci/Ca (C4)"),
    _glob("g_min", "m s-1", 4e-5, 0.0, 1e-6, 2e-4, _REF_G, "cuticular conductance"),
    _glob("omega", "1", 0.12, 0.0, 0.05, 0.3, _REF_G, "leaf PAR single-scattering albedo"),
    _glob("lai_lim", "m2 m-2", 3.0, 0.0, 1.0, 5.0, _REF_G, "LAI below which no N scaling (lailim)"),
    _glob("lai_max", "m2 m-2", 6.0, 0.0, 5.5, 10.0, _REF_G, "LAI of full N scaling (laimax)"),
    _glob("f_rl", "1", 0.40, 0.10, 0.1, 0.9, _REF_G, "leaf share of maintenance respiration"),
    _glob("c_g", "1", 0.20, 0.01, 0.1, 0.4, _REF_G, "growth respiration coefficient"),
    _glob("c_w", "mm h-1", 0.5, 0.25, 0.05, 2.0, _REF_G + " sigma [D]", "maximum root water supply rate"),
    _glob("rho_veg", "1", 0.15, 0.0, 0.05, 0.3, _REF_G, "albedo of dense vegetation (SW)"),
    _glob("a_s0", "1", 0.05, 0.0, 0.0, 0.2, _REF_G, "soil SW absorption under dense canopy"),
    _glob("g_frac", "1", 0.036, 0.0, 0.0, 0.2, _REF_G, "soil heat flux / net radiation"),
    _glob("wind", "m s-1", 3.0, 0.0, 0.5, 10.0, "model_spec §0, §2.3 [T]", "constant wind (wind='constant')"),
    _glob("z_ref", "m", 2.0, 0.0, 1.0, 50.0, _REF_G, "reference height of the aerodynamic formula"),
    _glob("z0_frac", "1", 0.1, 0.0, 0.01, 0.3, _REF_G, "roughness length / vegetation height"),
    _glob("d_term", "1", 4.3568, 0.0, 0.0, 10.0, _REF_G, "additive term in the log profile"),
    _glob("ga_min", "m s-1", 0.03, 0.0, 0.001, 0.1, "model_spec §3.1 [B]", "floor of g_a"),
    _glob("w_i_cap", "mm", 0.1, 0.0, 0.01, 1.0, _REF_G, "interception capacity per unit LAI"),
    _glob("infl_max", "mm d-1", 100.0, 0.0, 10.0, 500.0, _REF_G, "maximum infiltration"),
    _glob("degree_day", "mm degC-1 d-1", 3.22, 0.0, 1.0, 8.0, _REF_G, "snowmelt degree-day factor"),
    _glob("tau_s", "d", 2.0, 0.0, 1.0, 30.0, "model_spec §3.9 item 4 [D]", "surface/root-zone exchange time"),
    _glob(
        "theta_fc_frac",
        "1",
        0.75,
        0.0,
        0.4,
        0.95,
        "model_spec §3.9 item 4 [D]",
        "surface-layer field capacity as a fraction of porosity",
    ),
    _glob(
        "tau_tsoil",
        "d",
        15.0,
        0.0,
        2.0,
        60.0,
        "model_spec §3.9 item 7 [D]",
        "e-folding time of the running-mean soil temperature proxy",
    ),
    _glob(
        "frozen_width",
        "degC",
        0.5,
        0.0,
        0.1,
        3.0,
        "model_spec §3.9 item 7 [D]",
        "width of the frozen-soil step on the soil temperature proxy",
    ),
    _glob(
        "snow_cover_depth",
        "m",
        0.01,
        0.0,
        0.001,
        0.2,
        "model_spec §3.3 [D]",
        "snow depth of 50 % snow cover, f_snow = h/(h + h_50)",
    ),
    _glob(
        "hydro_eta",
        "1",
        0.999,
        0.0,
        0.9,
        0.99999,
        "model_spec §3 [D]",
        "smoothing of the hydrological capacity limits (smin)",
    ),
)

_PER_PFT, _GLOBAL = _with_prior_set(_PER_PFT, _GLOBAL)
PARAMETERS: tuple[ParamSpec, ...] = _PER_PFT + _GLOBAL

_POOL_NAMES = ("lab", "fol", "roo", "woo", "lit", "som")
_POOL_TABLE = np.array(
    [  # lab, fol, roo, woo, lit, som [gC m-2]; 3/5/7/9 are the TCCAS demo priors [T], others [D]
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [100.0, 250.0, 300.0, 15000.0, 300.0, 10000.0],
        [100.0, 120.0, 200.0, 8000.0, 200.0, 8000.0],
        [34.6, 36.3, 34.9, 6737.0, 12.9, 11819.0],
        [150.0, 5.0, 200.0, 8000.0, 200.0, 12000.0],
        [30.5, 29.3, 17.9, 3072.0, 60.2, 40910.0],
        [150.0, 10.0, 200.0, 6000.0, 300.0, 20000.0],
        [3.75, 16.2, 7.72, 500.7, 41.0, 34889.0],
        [40.0, 5.0, 50.0, 500.0, 50.0, 15000.0],
        [61.0, 24.8, 10.6, 89.6, 16.4, 15470.0],
        [60.0, 20.0, 30.0, 50.0, 30.0, 5000.0],
        [10.0, 20.0, 30.0, 200.0, 50.0, 30000.0],
        [30.0, 20.0, 50.0, 100.0, 100.0, 50000.0],
        [20.0, 5.0, 5.0, 10.0, 50.0, 6000.0],
    ]
)
POOL_SPECS: tuple[ParamSpec, ...] = tuple(
    ParamSpec(
        f"c_{p}0",
        "gC m-2",
        True,
        _POOL_TABLE[:, i].copy(),
        0.2 * _POOL_TABLE[:, i],
        0.0,
        [2000.0, 2000.0, 2000.0, 1e5, 2000.0, 2e5][i],
        "model_spec §4.3 initial pools [T] / [D]; bounds CARDAMOM [C]",
        f"initial C_{p}",
    )
    for i, p in enumerate(_POOL_NAMES)
)

_BY_NAME = {p.name: p for p in PARAMETERS + POOL_SPECS}


def param_spec(name: str) -> ParamSpec:
    """Registry lookup by name (parameters and initial pools); ``KeyError`` names the unknown entry."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown model parameter {name!r}; known: {sorted(_BY_NAME)}") from None


TILE_PARAM_NAMES: tuple[str, ...] = tuple(p.name for p in _PER_PFT)
GLOBAL_PARAM_NAMES: tuple[str, ...] = tuple(p.name for p in _GLOBAL)

TileParams = NamedTuple("TileParams", [(n, object) for n in TILE_PARAM_NAMES])
TileParams.__doc__ = (
    "Per-PFT process parameters of one tile (scalar float64 leaves; fields = per-PFT registry entries, "
    "model_spec §4.1, §4.3). Stack along a leading axis for the tiles of a pixel."
)
GlobalParams = NamedTuple("GlobalParams", [(n, object) for n in GLOBAL_PARAM_NAMES])
GlobalParams.__doc__ = "Global BETHY parameters (scalar float64 leaves; model_spec §4.2)."


class Pools(NamedTuple):
    """DALEC2 carbon pools of one tile [gC m-2 ground] (model_spec §2.1)."""

    lab: object
    fol: object
    roo: object
    woo: object
    lit: object
    som: object


def _check_pft(pft):
    """A concrete PFT code is range-checked and returned as ``int``; a traced one (inside ``jit``/``vmap``,
    e.g. the scenario's tree PFT) is returned as is and used as a gather index (no check possible there)."""
    if isinstance(pft, jax.core.Tracer):
        return pft
    pft = int(pft)
    if not 0 <= pft < N_PFT:
        raise ValueError(f"PFT code must be in 0..{N_PFT - 1}, got {pft}")
    return pft


def default_tile_params(pft) -> TileParams:
    """Prior per-PFT parameters of PFT code ``pft`` (§4.3 demo priors; [D] defaults for the others); ``pft``
    may be traced."""
    pft = _check_pft(pft)
    return TileParams(*(jnp.asarray(p.prior, dtype=jnp.float64)[pft] for p in _PER_PFT))


def default_global_params() -> GlobalParams:
    """Prior global BETHY parameters (model_spec §4.2)."""
    return GlobalParams(*(jnp.asarray(p.prior, dtype=jnp.float64) for p in _GLOBAL))


def default_pools(pft) -> Pools:
    """Prior initial pools of PFT code ``pft`` (model_spec §4.3; NoVeg has empty pools); ``pft`` may be
    traced."""
    pft = _check_pft(pft)
    table = jnp.asarray(_POOL_TABLE, dtype=jnp.float64)[pft]
    return Pools(*(table[..., i] for i in range(len(_POOL_NAMES))))


def stack_tiles(items):
    """Stack a sequence of equal pytrees (e.g. TileParams of several tiles) along a new leading axis."""
    import jax

    return jax.tree_util.tree_map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *items)


class PFTTraits(NamedTuple):
    """Static PFT traits as float flags (model_spec §4.1): ``c4`` pathway and leaf-N scaling ``nscale``."""

    c4: object
    nscale: object


def pft_traits(pfts) -> PFTTraits:
    """Traits for an integer PFT array (works on traced arrays: table lookup)."""
    idx = jnp.asarray(pfts, dtype=jnp.int32)
    return PFTTraits(jnp.asarray(C4_PFT)[idx], jnp.asarray(NSCALE_PFT)[idx])


def bounds_arrays(names=TILE_PARAM_NAMES, pft: int | None = None):
    """(lower, upper) arrays of the named registry entries (per-PFT entries at ``pft``)."""
    lo, hi = [], []
    for n in names:
        s = param_spec(n)
        if s.per_pft:
            if pft is None:
                raise ValueError(f"{n} is per-PFT: pass pft")
            lo.append(np.broadcast_to(s.lower, (N_PFT,))[pft])
            hi.append(np.broadcast_to(s.upper, (N_PFT,))[pft])
        else:
            lo.append(s.lower)
            hi.append(s.upper)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
