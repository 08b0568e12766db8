"""Static settings of the intervention scenario (obs_da_spec §8) and the recycled-forcing calendar."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from tccas.model import PFT_NAMES, ModelOptions

GRASS_PFTS: tuple[int, ...] = (PFT_NAMES.index("C3Gr"), PFT_NAMES.index("C4Gr"))
TREE_PFTS: tuple[int, ...] = tuple(
    PFT_NAMES.index(n) for n in ("TrEv", "TrDD", "TmEv", "TmSg", "EvCn", "SgCn")
)
REMOVED_BIOMASS = ("litter", "export")
INITIAL_STATES = ("equilibrium", "assimilated")
DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class ScenarioSettings:
    """Static (hashable) switches of the scenario. The conversion fraction and the tree PFT planted
    (:func:`tree_pft_from_config`) are traced inputs, so one compiled scenario serves every region.

    Attributes
    ----------
    horizon_years
        Number of recycled forcing years after the assimilation window (obs_da_spec §8: 25).
    grass_pfts
        PFT codes converted (every tile of these PFTs loses the same fraction of its area).
    removed_biomass
        Fate of the grass living biomass on the converted area [D, obs_da_spec §8 step 3]: ``"litter"``
        (default, conservative: it stays on site as dead organic matter, routed as DALEC2 routes turnover,
        model_spec §3.8: labile, foliage and fine roots to litter, wood to SOM) or ``"export"`` (harvested:
        leaves the pixel, booked as ``exported``).
    sapling_fraction
        Living pools of the new tile per unit area as a fraction of the adult tree tile's per-area pools
        (obs_da_spec §8 step 3 [brief]: 1 %).
    initial_state
        State from which the window run (and so the counterfactual and the conversion) starts [D, issue #26]:
        ``"equilibrium"`` (default): every tile, and the adult reference tile of the tree PFT, is first spun
        up under the pixel's own climate (the window's forcing, cycled) with the posterior parameters to the
        steady state of model_spec §6.2 (``steady_state_spinup``, :attr:`equilibrium_cycles` passes, then
        the relaxation η_woo, η_som of :func:`tccas.model.core.relax_steady_state`, 1 unless assimilated),
        so that the counterfactual grass is neither a spurious sink nor a source; the assimilated initial
        pools then only start the spin-up. ``"assimilated"``: the window run starts from the assimilated
        initial pools (the posterior controls ``c_*0``) after the configured spin-up (``options``), which
        keeps a disequilibrium the observations showed, and every disequilibrium the prior pools carry.
    equilibrium_cycles
        Passes over the window forcing after the analytic steady state (``"equilibrium"`` only; ≥ 1).
    options
        Model switches (model_spec §8) used for the window and horizon runs.
    record_series
        Also return daily per-tile series over the window and the horizon (for the time-series panels of one
        pixel; off in the vmapped map batches, where only annual totals are kept).
    prior_jacobian
        Linearisation point of the PRIOR uncertainty of the effect (obs_da_spec §6.7 "[D: state both]"):
        ``"posterior"`` (default) propagates C0 with the same Jacobian ``a = ∇ΔU|x_post`` as C_post, so that
        ``σ_post ≤ σ_prior`` and UR ∈ [0, 1] hold exactly (C_post ≤ C0 for a Gaussian posterior) and UR
        measures the information from the observations alone; ``"prior"`` uses ``a0 = ∇ΔU|x0`` as written in
        obs_da_spec §8 step 5 (UR then also reflects the model's nonlinearity between x0 and x_post and can
        be negative; costs a second adjoint run). The prior VALUE ``ΔU(x0)`` is computed in both cases.
    annual_sd
        Also propagate the covariances to the annual cumulative uptake series (``jax.jacrev`` of the
        H-vector, obs_da_spec §8 step 5); adds H adjoints per pixel, so it is off for the maps.
    """

    horizon_years: int = 25
    grass_pfts: tuple[int, ...] = GRASS_PFTS
    removed_biomass: str = "litter"
    sapling_fraction: float = 0.01
    initial_state: str = "equilibrium"
    equilibrium_cycles: int = 2
    options: ModelOptions = field(default_factory=ModelOptions)
    record_series: bool = False
    prior_jacobian: str = "posterior"
    annual_sd: bool = False

    def __post_init__(self):
        if self.horizon_years < 1:
            raise ValueError(f"scenario horizon_years must be >= 1, got {self.horizon_years}")
        if self.removed_biomass not in REMOVED_BIOMASS:
            raise ValueError(
                f"removed_biomass must be one of {REMOVED_BIOMASS}, got {self.removed_biomass!r}"
            )
        if self.initial_state not in INITIAL_STATES:
            raise ValueError(f"initial_state must be one of {INITIAL_STATES}, got {self.initial_state!r}")
        if self.equilibrium_cycles < 1:
            raise ValueError(f"equilibrium_cycles must be >= 1, got {self.equilibrium_cycles}")
        if self.prior_jacobian not in ("posterior", "prior"):
            raise ValueError(f"prior_jacobian must be 'posterior' or 'prior', got {self.prior_jacobian!r}")
        if not 0.0 < self.sapling_fraction <= 1.0:
            raise ValueError(f"sapling_fraction must be in (0, 1], got {self.sapling_fraction}")
        if any(p not in GRASS_PFTS for p in self.grass_pfts):
            raise ValueError(f"grass_pfts must be grass PFT codes {GRASS_PFTS}, got {self.grass_pfts}")

    @classmethod
    def from_config(cls, config: dict, options: ModelOptions | None = None) -> ScenarioSettings:
        """Settings from the validated config (section ``scenario``; contract C4)."""
        return cls(
            horizon_years=int(config["scenario"]["horizon_years"]),
            initial_state=str(config["scenario"]["initial_state"]),
            options=options if options is not None else ModelOptions(),
        )

    def window_options(self) -> ModelOptions:
        """Model switches of the window run: :attr:`options`, with the steady-state spin-up of
        :attr:`equilibrium_cycles` passes for ``initial_state="equilibrium"``."""
        if self.initial_state == "assimilated":
            return self.options
        return replace(self.options, steady_state_spinup=True, spinup_cycles=self.equilibrium_cycles)


def tree_pft_from_config(config: dict, region: str) -> int:
    """PFT code planted on the converted area of ``region`` (config ``scenario.tree_pft.<region>``, a PFT
    name of model_spec §0; demo: TmEv for Iberia, EvCn for Lapland, TmSg for the Netherlands). It must be a
    tree PFT (:data:`TREE_PFTS`)."""
    name = config["scenario"]["tree_pft"][region]
    if name not in PFT_NAMES:
        raise ValueError(f"config scenario.tree_pft.{region}: unknown PFT {name!r}")
    code = PFT_NAMES.index(name)
    if code not in TREE_PFTS:
        names = ", ".join(PFT_NAMES[p] for p in TREE_PFTS)
        raise ValueError(f"config scenario.tree_pft.{region}: {name} is not a tree PFT ({names})")
    return code


def recycle_plan(n_window_days: int, horizon_years: int) -> tuple[int, np.ndarray, np.ndarray]:
    """Static plan of the recycled forcing years (obs_da_spec §8: "recycled assimilation-window years in
    order").

    The window's whole 365-day years are recycled in order: horizon year ``k`` uses window year ``k mod K``
    (``K`` whole years in the window), its day numbers shifted by ``round(365.25 m)`` days for the m-th
    repetition of the K-year block (days since 2015-01-01, model_spec §2.2), which keeps the calendar (and
    the 365.25-d DALEC phenology period, §3.2) in phase without a drift of 0.25 d per year; in leap years the
    last calendar day is not simulated [D]. A window shorter than 365 days is recycled as a whole block
    shifted by its own length (short test horizons; then "year" means one block).

    Returns ``(block_days, cycle_index (H,) int, shift_days (H,) float)``.
    """
    if n_window_days < 1:
        raise ValueError("the assimilation window has no days to recycle")
    block = DAYS_PER_YEAR if n_window_days >= DAYS_PER_YEAR else int(n_window_days)
    k_years = n_window_days // block
    years = np.arange(horizon_years)
    cycle = (years % k_years).astype(np.int32)
    rep = years // k_years + 1
    if block == DAYS_PER_YEAR:
        shift = np.round(rep * k_years * 365.25)
    else:
        shift = (rep * k_years * block).astype(np.float64)
    return block, cycle, shift.astype(np.float64)
