"""Multi-site calibration of PFT-level parameters with one joint variational cost (issue #25 item 4).

CalLMIP Phase 1's "operational" calibration rule: the calibrated parameters are shared by every site of a
plant functional type, never fitted per site, so that they can be used where there is no tower. Here the
sites' :class:`tccas.da.PixelProblem` s (the same model, observation operators and error models as a
single-site assimilation, :func:`tccas.site.site_problem`) enter ONE cost:

    J(u) = ½ ‖u − u0‖² + Σ_s [ ½ Σ_k r_s,k(x_s(u))² + w_EDC P_s(x_s(u)) ],   x = σ0 · u   (u-space, §6.2–6.3)

- the joint control vector z = σ0 u holds, for every PFT of the calibration sites, the **shared**
  parameters (:attr:`CalibrationSettings.shared`, one value per PFT, the water-capacity multiplier
  included: :data:`PER_SITE_DEFAULT` says why; a global parameter, e.g. f_RL, has one value for all sites),
  and for every site and tile the **per-site** controls
  (:attr:`CalibrationSettings.per_site`: the stand's state — fast initial pools and the departure of the
  slow pools from steady state; stand history differs between sites);
- ``x_s(u)`` scatters z into site s's control vector (:class:`JointLayout`); tiles padded to a common count
  (cover fraction 0) and controls that are not calibrated stay at the prior;
- ``r_s,k`` are site s's normalised residuals of every enabled stream (obs_da_spec §6.3); the prior term is
  counted once, for the joint z;
- ``P_s`` is the smooth EDC penalty (:func:`tccas.model.edc.edc_penalty`, Bloom & Williams 2015) of site s's
  run over the calibration years, without the pool trend bounds (:data:`CALIBRATION_EDC_WEIGHTS`): those
  hold under a repeated climate, not over five real years; the LAI trend is bounded loosely (10 % per year,
  :data:`CALIBRATION_EDC_SETTINGS`) against dying canopies.

The sites are padded to common shapes (days: the last day repeated, its observations masked) and stacked,
so the per-site cost is ONE ``jax.vmap`` over sites: one compilation for all sites. The minimiser is the
bounded L-BFGS-B of :mod:`tccas.da.lbfgsb` (M = 10), stepped from the host so that progress is reported.

Posterior (obs_da_spec §6.6): Gauss–Newton ``H = I + Gᵀ G`` with ``G = ∂r/∂u`` the Jacobian of all sites'
normalised residuals (tangent-linear runs, one per control); the EDC penalties shape the optimum but are
not counted as information (their curvature is left out, which can only widen the posterior). ``C_x =
S H⁻¹ S``, ``S = diag(σ0)``.

Prior for regional runs (issue #25 item 5): a Gauss–Newton posterior from ~10⁴ daily residuals treats every
day as an independent observation and the model as perfect; both are false (daily flux errors are
autocorrelated, and the structural error of a DALEC-class model shows in χ² ≫ 1), so the posterior σ is
over-confident. The σ written to the prior file is therefore

    σ_prior,new = min(σ0, max(σ_post · √max(1, χ²_ν), f_floor · |x_post|))

with χ²_ν = 2 J_obs / n_obs the reduced chi-square at the optimum (the Birge ratio inflation, Birge 1932,
Phys. Rev. 40, 207) and the relative floor ``f_floor`` (:attr:`CalibrationSettings.sigma_floor_rel`,
10 % [D]: half the 20 % of the TCCAS demo priors, so that a regional assimilation can still move a
parameter by a tenth), capped at the old prior σ0 (the calibration cannot make a parameter less known).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from tccas import __version__, model
from tccas.da import AssimilationSettings, ObsStream, PixelProblem, controls, cost, lbfgsb, posterior
from tccas.da.pixel import layout_for, map_unit_tangents
from tccas.model import edc, prior_sets
from tccas.site.data import SiteData
from tccas.site.run import site_problem

#: PFT-level parameters calibrated by default: photosynthetic capacity, allocation, leaf lifespan and
#: phenology timing, turnover and respiration rates and their temperature sensitivity, leaf mass per area
#: (the DALEC2 parameters of Bloom & Williams 2015 that are not initial pools, with BETHY's V_m25 and
#: J_m/V_m in place of the ACM canopy efficiency), and the plant-available water-capacity multiplier.
#: Global parameters may be added (one value for all sites); the leaf share of maintenance respiration f_RL
#: (BETHY's R_m = R_d/f_RL, model_spec §3.7) is not, although the model's Ra/GPP (0.31-0.36) lies below the
#: 0.4-0.6 of the literature: calibrated with the ``ra_gpp`` EDC (weight 100) it fell from 0.40 to 0.21
#: (Ra/GPP 0.41-0.52), and the grass and shrub canopies of that prior collapsed under a repeated-climate
#: spin-up outside their calibration climate (C3Gr at FR-Pue peak LAI 2.2 → 0.1 in 40 years, DShr at its
#: own site US-SRG 1.3 → 0): with DALEC2's labile-driven calendar phenology a grass canopy rebuilds itself
#: from last year's NPP, and a 25 % smaller NPP turns that loop from stable to collapsing.
SHARED_DEFAULT: tuple[str, ...] = (
    "vcmax25",
    "ajv",
    "f_fol",
    "f_lab",
    "f_roo",
    "leaf_lifespan",
    "theta_woo",
    "theta_roo",
    "theta_lit",
    "theta_som",
    "theta_min",
    "temp_sens",
    "d_onset",
    "c_ronset",
    "d_fall",
    "c_rfall",
    "lma",
    "wmax_scale",
)
#: Per-site, per-tile controls: the stand's state, i.e. the initial labile and foliage pools and the
#: ratios η_woo, η_som of the wood and soil pools to their spun-up values (the relaxed steady state of
#: Carvalhais et al. 2008, :func:`tccas.model.core.relax_steady_state`): a tower's sink or source over five
#: years comes from its history, not from its PFT, and without them the shared parameters would absorb it
#: (a first calibration without η moved the phenology of RU-Fyo, a source of 57 gC m-2 yr-1, by five σ).
#: The other initial pools are replaced by the steady-state spin-up and have no effect. The water-capacity
#: multiplier ``wmax_scale`` is shared
#: by PFT (above) although soils differ between sites: a prior run at a site without tower data has only the
#: PFT value, and a first calibration with a per-site ``wmax_scale`` fitted 0.3–0.5 × the rooting-depth
#: prior at five of the eight tiles while the PFT value stayed at the prior, so its prior runs on the
#: withheld years kept the too-deep buckets (FR-Pue ET 618 mm yr-1 against the tower's 420).
PER_SITE_DEFAULT: tuple[str, ...] = ("c_lab0", "c_fol0", "eta_woo", "eta_som")
#: EDC weights during calibration: the pool trend bounds are for repeated-climate spin-ups (module
#: docstring), so they are off (the LAI trend has a wide bound instead, below), and so is ``ra_gpp`` (a
#: check only: no calibrated parameter should be bent to meet it, :data:`SHARED_DEFAULT` says why). The
#: evergreen constraint is weighted up so that it acts as the near-hard constraint of CARDAMOM (which
#: rejects a violating parameter set): its penalty is a time mean of squared relative deficits, ~10⁻² for a
#: clear violation, against a data cost of ~10⁴ [D]. It must also overrule the MODIS LAI of the drivers,
#: whose winter minimum at the evergreen towers is 16–50 % of its summer peak (monthly means: FI-Hyy 0.23,
#: RU-Fyo 0.16, FR-Pue 0.50): snow, low sun and an understorey in the 500 m pixel, not the canopy of pine
#: needles that live several years or of holm-oak leaves that are shed mostly after the spring flush
#: (Rambal et al. 2003, Glob. Change Biol. 9, 1813, for Puéchabon).
CALIBRATION_EDC_WEIGHTS: dict[str, float] = {
    **{f"trend_{p}": 0.0 for p in edc.POOL_NAMES},
    "evergreen_lai": 1e5,
    "ra_gpp": 0.0,
    "lai_trend": 100.0,
}
#: EDC bounds during calibration: the LAI trend over the five calibration years is bounded at 10 % per year
#: (a canopy that shrinks faster is dying, which no tower of the seven shows; a second calibration without
#: this bound let the DShr tile of US-SRG lose 60 % of its leaf area a year and the C4 grass take over) [D].
CALIBRATION_EDC_SETTINGS = edc.EDCSettings(lai_trend_max=0.1)


@dataclasses.dataclass(frozen=True)
class CalibrationSettings:
    """Static settings of a multi-site calibration (module docstring).

    ``shared``: PFT-level parameters (per-PFT registry entries); ``per_site``: per-site, per-tile controls;
    ``edc_weight``: w_EDC; ``max_iter``: L-BFGS-B iterations; ``sigma_floor_rel``: relative floor of the
    σ written to the prior file; ``jacobian_chunk``: tangent-linear runs evaluated together for the
    Gauss–Newton Jacobian.
    """

    shared: tuple[str, ...] = SHARED_DEFAULT
    per_site: tuple[str, ...] = PER_SITE_DEFAULT
    edc_weight: float = 1.0
    max_iter: int = 100
    sigma_floor_rel: float = 0.1
    jacobian_chunk: int = 8

    def __post_init__(self):
        for name in self.per_site:
            if not controls.spec(name).per_pft:
                raise ValueError(f"per-site calibration control {name!r} is not a per-PFT / per-tile entry")
        for name in self.shared:
            controls.spec(name)  # KeyError for a name that is not a control
        both = sorted(set(self.shared) & set(self.per_site))
        if both:
            raise ValueError(f"calibration controls {both} are both shared and per-site")


class JointLayout(NamedTuple):
    """Static description of the joint control vector z and its scatter into the sites' vectors.

    ``names[i]``, ``pfts[i]`` (PFT code, −1 = a global parameter), ``sites[i]`` (site index, −1 = shared)
    and
    ``tiles[i]`` (tile index, −1 = shared); ``index`` (n_sites, n_x): for each site's control slot the
    entry of z it takes, −1 = fixed at the prior.
    """

    names: tuple[str, ...]
    pfts: tuple[int, ...]
    sites: tuple[int, ...]
    tiles: tuple[int, ...]
    index: np.ndarray

    @property
    def size(self) -> int:
        return len(self.names)

    def labels(self, site_ids) -> list[str]:
        """Readable names: ``vcmax25[EvCn]`` (shared), ``f_rl`` (global), ``c_fol[FI-Hyy:0:EvCn]`` (per
        site)."""
        out = []
        for n, p, s, t in zip(self.names, self.pfts, self.sites, self.tiles, strict=True):
            if p < 0:
                out.append(n)
                continue
            pft = model.PFT_NAMES[p]
            out.append(f"{n}[{pft}]" if s < 0 else f"{n}[{site_ids[s]}:{t}:{pft}]")
        return out


class JointProblem(NamedTuple):
    """Stacked site problems (leading axis = site) and everything static about the joint vector."""

    problems: PixelProblem
    layout: controls.ControlLayout
    joint: JointLayout
    x_fixed: np.ndarray  # (n_sites, n_x) the sites' prior control vectors
    prior: controls.Prior  # of z
    site_ids: tuple[str, ...]
    n_days: tuple[int, ...]  # real days per site (before padding)


def _pad_stream(o: ObsStream, n: int) -> ObsStream:
    k = n - np.shape(o.value)[0]
    if k < 0:
        raise ValueError(f"observation stream of {np.shape(o.value)[0]} slots does not fit {n}")

    def pad(a, fill):
        return np.concatenate([np.asarray(a), np.full(k, fill, dtype=np.asarray(a).dtype)])

    return ObsStream(
        pad(o.t_hour, 0), pad(o.value, 0.0), pad(o.sigma_obs, 1.0), pad(o.sigma_repr, 0.0), pad(o.mask, 0.0)
    )


def _pad_problem(p: PixelProblem, n_tiles: int, n_days: int, n_slots: int) -> PixelProblem:
    """Pad a site problem to ``n_tiles`` tiles (NoVeg, fraction 0), ``n_days`` days (the last day repeated;
    the cost's window mask drops observations beyond the site's own days) and ``n_slots`` slots per stream."""
    k = n_days - np.shape(p.forcing.t_air)[0]
    forcing = model.Forcing(
        *(np.concatenate([a, np.repeat(a[-1:], k, axis=0)]) for a in map(np.asarray, p.forcing))
    )
    m = n_tiles - np.shape(p.pfts)[0]
    return p._replace(
        forcing=forcing,
        pfts=np.concatenate([p.pfts, np.zeros(m, np.int32)]),
        fractions=np.concatenate([p.fractions, np.zeros(m)]),
        obs={s: _pad_stream(o, n_slots) for s, o in p.obs.items()},
    )


def _stack(trees):
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


def joint_problem(
    sites: list[SiteData],
    settings: AssimilationSettings,
    cal: CalibrationSettings = CalibrationSettings(),
    spinup_years: int = 1,
) -> JointProblem:
    """The :class:`JointProblem` of the sites ``sites`` (each already cut to its calibration years)."""
    if not sites:
        raise ValueError("calibration needs at least one site")
    ids = tuple(sd.site_id for sd in sites)
    if len(set(ids)) != len(ids):
        raise ValueError(f"calibration sites must be distinct, got {ids}")
    n_tiles = max(len(sd.pfts) for sd in sites)
    n_days = max(sd.dates.size for sd in sites)
    problems = [site_problem(sd, settings, spinup_years) for sd in sites]
    n_slots = max(np.shape(o.value)[0] for p in problems for o in p.obs.values())
    problems = [_pad_problem(p, n_tiles, n_days, n_slots) for p in problems]
    settings_cal = dataclasses.replace(settings, controls=tuple(dict.fromkeys((*cal.shared, *cal.per_site))))
    layout = layout_for(n_tiles, settings_cal)
    names, pfts_z, sites_z, tiles_z = [], [], [], []
    slot: dict[tuple, int] = {}
    index = np.full((len(sites), layout.size), -1, dtype=np.int64)
    for s, p in enumerate(problems):
        for i, (n, t) in enumerate(zip(layout.names, layout.tiles, strict=True)):
            if t < 0:
                key = (n, -1, -1, -1)  # a global (pixel-level) control: shared (it is not per-site)
            elif p.fractions[t] <= 0:
                continue  # padding tiles stay at the prior
            else:
                pft = int(p.pfts[t])
                key = (n, pft, -1, -1) if n in cal.shared else (n, pft, s, t)
            if key not in slot:
                slot[key] = len(names)
                names.append(n)
                pfts_z.append(key[1])
                sites_z.append(key[2])
                tiles_z.append(key[3])
            index[s, i] = slot[key]
    joint = JointLayout(tuple(names), tuple(pfts_z), tuple(sites_z), tuple(tiles_z), index)
    x_fixed = np.stack([np.asarray(controls.prior(layout, p.pfts).x0) for p in problems])
    cols = {f: np.array([float(controls.registry_table(n, f)[max(c, 0)])  # a global value is broadcast
                         for n, c in zip(names, pfts_z, strict=True)])
            for f in ("prior", "sigma", "lower", "upper")}  # fmt: skip
    x0 = cols["prior"]
    prior = controls.Prior(
        x0=x0,
        sigma0=np.where(cols["sigma"] > 0, cols["sigma"], 1.0),
        lower=np.minimum(cols["lower"], x0),
        upper=np.maximum(cols["upper"], x0),
    )
    return JointProblem(
        _stack(problems), layout, joint, x_fixed, prior, ids, tuple(sd.dates.size for sd in sites)
    )


def site_vectors(z, jp: JointProblem):
    """The sites' control vectors (n_sites, n_x) from the joint vector z (physical units)."""
    idx = jnp.asarray(jp.joint.index)
    return jnp.where(idx >= 0, jnp.asarray(z)[jnp.clip(idx, 0)], jnp.asarray(jp.x_fixed))


class SiteTerms(NamedTuple):
    """One site's cost terms at x: normalised residuals per stream and the EDC penalty."""

    residuals: dict
    edc: Any


def _site_terms(x, problem, layout, settings, cal: CalibrationSettings) -> SiteTerms:
    data = cost.all_stream_data(problem, settings)
    tiles = cost.run_tiles(x, problem, layout, settings)
    ev = cost.evaluate_tiles(tiles, x, problem, layout, settings, data)
    tp = controls.unpack(x, layout, problem.pfts).tile_params
    pen = edc.edc_penalty(
        tiles[1],
        tp,
        problem.pfts,
        CALIBRATION_EDC_SETTINGS,
        weights=CALIBRATION_EDC_WEIGHTS,
        tile_weights=problem.fractions > 0,
    )
    return SiteTerms(ev.residuals, cal.edc_weight * pen)


def _all_terms(u, jp: JointProblem, settings, cal) -> SiteTerms:
    xs = site_vectors(u * jp.prior.sigma0, jp)
    return jax.vmap(lambda x, p: _site_terms(x, p, jp.layout, settings, cal))(xs, jp.problems)


def joint_cost(u, jp: JointProblem, settings: AssimilationSettings, cal: CalibrationSettings):
    """``J(u)`` of the module docstring (scalar, differentiable)."""
    terms = _all_terms(u, jp, settings, cal)
    u0 = jp.prior.x0 / jp.prior.sigma0
    j_obs = sum(0.5 * jnp.sum(r**2) for r in terms.residuals.values())
    return 0.5 * jnp.sum((u - u0) ** 2) + j_obs + jnp.sum(terms.edc)


def _static(jp: JointProblem):
    """The parts of a JointProblem that are static under jit (hashable), and the traced problems."""
    return jp._replace(problems=None)


@functools.partial(jax.jit, static_argnames=("settings", "cal", "options", "static"))
def _step(state, problems, lower, upper, settings, cal, options, static):
    jp = _restore(static, problems)
    return lbfgsb.step(
        jax.value_and_grad(lambda u: joint_cost(u, jp, settings, cal)), state, lower, upper, options
    )


@functools.partial(jax.jit, static_argnames=("settings", "cal", "static"))
def _linearise(u, problems, settings, cal, static):
    """The sites' cost terms at u and the Jacobian ``G`` (n_u, n_res) of their normalised residuals, by one
    tangent-linear run per control (:func:`tccas.da.pixel.map_unit_tangents`); the primal is recomputed
    with every chunk of tangents and the first copy kept (as ``tccas.da.pixel``)."""
    jp = _restore(static, problems)

    def flat(v):
        terms = _all_terms(v, jp, settings, cal)
        return jnp.concatenate([r.reshape(-1) for r in terms.residuals.values()]), terms

    def push(e):
        (_, terms), (d_res, _) = jax.jvp(flat, (u,), (e,))
        return terms, d_res

    terms, g = map_unit_tangents(push, u.shape[0], cal.jacobian_chunk)
    return jax.tree_util.tree_map(lambda a: a[0], terms), g


class _Hashable:
    """Identity-hashed wrapper so the static half of a JointProblem can be a jit static argument."""

    def __init__(self, value):
        self.value = value

    def __hash__(self):
        return id(self.value)

    def __eq__(self, other):
        return isinstance(other, _Hashable) and other.value is self.value


def _restore(static: _Hashable, problems) -> JointProblem:
    jp = static.value
    return jp._replace(
        problems=problems,
        prior=controls.Prior(*(jnp.asarray(a) for a in jp.prior)),
    )


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibrate` (physical units; module docstring)."""

    labels: tuple[str, ...]
    joint: JointLayout
    site_ids: tuple[str, ...]
    x_prior: np.ndarray
    x_post: np.ndarray
    sd_prior: np.ndarray
    sd_post: np.ndarray
    sd_calibrated: np.ndarray
    cov_post: np.ndarray
    chi2_reduced: float
    cost_prior: float
    cost_post: float
    cost_obs_post: dict[str, float]
    edc_post: dict[str, float]
    n_obs: dict[str, dict[str, int]]
    status: int
    n_iter: int
    n_eval: int
    seconds: float
    calibration_periods: dict[str, tuple[str, str]]

    def shared_table(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{parameter: {PFT or "all": {"value", "sigma", "prior", "prior_sigma", "sigma_posterior"}}}`` of
        the shared controls ("all" for a global parameter) — the content of the prior-parameter file."""
        out: dict = {}
        for i, (n, p, s) in enumerate(zip(self.joint.names, self.joint.pfts, self.joint.sites, strict=True)):
            if s >= 0:
                continue
            out.setdefault(n, {})[model.PFT_NAMES[p] if p >= 0 else prior_sets.GLOBAL_KEY] = {
                "value": float(self.x_post[i]),
                "sigma": float(self.sd_calibrated[i]),
                "prior": float(self.x_prior[i]),
                "prior_sigma": float(self.sd_prior[i]),
                "sigma_posterior": float(self.sd_post[i]),
            }
        return out

    def provenance(self) -> dict:
        """Sites, periods, cost and version of the calibration (written with the prior file)."""
        return {
            "tccas_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "method": "joint multi-site variational cost, bounded L-BFGS-B, Gauss-Newton posterior",
            "sites": {s: list(p) for s, p in self.calibration_periods.items()},
            "n_obs": self.n_obs,
            "cost_prior": self.cost_prior,
            "cost_post": self.cost_post,
            "cost_obs_post": self.cost_obs_post,
            "edc_penalty_post": self.edc_post,
            "chi2_reduced": self.chi2_reduced,
            "status": lbfgsb.STATUS_NAMES.get(self.status, str(self.status)),
            "n_iter": self.n_iter,
            "n_eval": self.n_eval,
            "seconds": self.seconds,
        }


def calibrate(
    sites: list[SiteData],
    settings: AssimilationSettings,
    cal: CalibrationSettings = CalibrationSettings(),
    *,
    spinup_years: int = 1,
    log=None,
) -> tuple[Calibration, JointProblem]:
    """Calibrate the shared PFT parameters on ``sites`` (each cut to its calibration years) with one joint
    cost (module docstring). ``log(str)`` receives a line per iteration. Returns the :class:`Calibration`
    and the :class:`JointProblem`."""
    model.core.require_float64()
    t0 = time.perf_counter()
    jp = joint_problem(sites, settings, cal, spinup_years)
    static = _Hashable(_static(jp))
    problems = jax.tree_util.tree_map(jnp.asarray, jp.problems)
    pr = jp.prior
    u0 = pr.x0 / pr.sigma0
    lo, hi = jnp.asarray(pr.lower / pr.sigma0), jnp.asarray(pr.upper / pr.sigma0)
    options = lbfgsb.Options(
        cal.max_iter, settings.memory, settings.tol_pg, settings.ftol, settings.max_ls, settings.max_step
    )
    state = lbfgsb.start(jnp.asarray(u0), lo, hi, cal.max_iter, settings.memory)
    while not bool(state.done):
        state = _step(state, problems, lo, hi, settings, cal, options, static)
        if log is not None:
            it, ev, f = int(state.n_iter), int(state.n_eval), float(state.f)
            log(f"calibration: iteration {it}, {ev} evaluations, cost {f:.2f}")
        if int(state.n_eval) == 1:
            cost_prior = float(state.f)  # the first evaluation is at the prior
    res = lbfgsb.result(state, lo, hi)
    u_hat = res.x
    t_post, g = _linearise(u_hat, problems, settings, cal, static)  # g: (n_u, n_res)
    h = posterior.gauss_newton_hessian(g.T)
    summary = posterior.summarise(h, jnp.asarray(pr.sigma0))
    streams = tuple(t_post.residuals)
    n_obs = {}
    for k, sid in enumerate(jp.site_ids):
        data = cost.all_stream_data(jax.tree_util.tree_map(lambda a, k=k: a[k], jp.problems), settings)
        n_obs[sid] = {s: int(np.sum(np.asarray(data[s].mask))) for s in streams}
    n_total = sum(sum(v.values()) for v in n_obs.values())
    j_obs = {s: float(0.5 * np.sum(np.asarray(t_post.residuals[s]) ** 2)) for s in streams}
    chi2 = 2.0 * sum(j_obs.values()) / max(n_total, 1)
    x_post = np.asarray(u_hat) * pr.sigma0
    sd_post = np.asarray(summary.sd_post)
    sd_cal = np.minimum(
        pr.sigma0, np.maximum(sd_post * np.sqrt(max(1.0, chi2)), cal.sigma_floor_rel * np.abs(x_post))
    )

    periods = {sd.site_id: (str(sd.dates[0]), str(sd.dates[-1])) for sd in sites}
    result = Calibration(
        labels=tuple(jp.joint.labels(jp.site_ids)),
        joint=jp.joint,
        site_ids=jp.site_ids,
        x_prior=np.asarray(pr.x0),
        x_post=x_post,
        sd_prior=np.asarray(pr.sigma0),
        sd_post=sd_post,
        sd_calibrated=sd_cal,
        cov_post=np.asarray(summary.cov_x),
        chi2_reduced=float(chi2),
        cost_prior=cost_prior,
        cost_post=float(res.f),
        cost_obs_post=j_obs,
        edc_post={sid: float(v) for sid, v in zip(jp.site_ids, np.asarray(t_post.edc), strict=True)},
        n_obs=n_obs,
        status=int(res.status),
        n_iter=int(res.n_iter),
        n_eval=int(res.n_eval),
        seconds=time.perf_counter() - t0,
        calibration_periods=periods,
    )
    return result, jp
