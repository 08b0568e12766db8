"""Model switches for the open [?] items of model_spec §8 (static, hashable: a jit static argument)."""

from __future__ import annotations

from dataclasses import dataclass

_CHOICES = {
    "ra_scheme": ("bethy", "fauto"),
    "wind": ("constant", "forcing"),
    "dalec_step": ("daily", "hourly"),
    "longwave": ("forcing", "brunt"),
}


@dataclass(frozen=True)
class ModelOptions:
    """Switches of the D&B process model. Defaults follow the spec's best evidence.

    - ``ra_scheme``: autotrophic respiration, "bethy" (option A, maintenance + growth from leaf dark
      respiration; default — f_auto was inert in the TCCAS demo, model_spec §0 inference 1) or "fauto"
      (option B, DALEC2 Ra = f_auto GPP). model_spec §3.7, §8 item 1 [?].
    - ``wind``: "constant" (u = GlobalParams.wind = 3 m/s, reproduces D&B ga [T]) or "forcing" (hourly
      forcing wind). model_spec §2.3.
    - ``dalec_step``: "daily" (Δt = 1 d after the 24 hourly fast steps, default [B]) or "hourly" (DALEC
      with Δt = 1/24 d inside an hourly scan, LAI updated every hour). model_spec §2.2, §8 item 4 [?].
    - ``frozen_soil``: multiply f_soil by a smooth step of the soil-temperature proxy (running mean air
      temperature) so plant-available water is 0 in frozen midwinter (D&B fpasm [T]). §3.9 item 7 [D].
    - ``longwave``: "forcing" (isothermal net LW from LW↓ forcing, D&B "with-lwdown" [T][D]) or "brunt"
      (BETHY clear-sky emissivity with cloud correction [B]). model_spec §3.6.
    - ``drought_senescence``: drought-driven leaf senescence of the grass PFTs (C3Gr, C4Gr:
      ``tccas.model.dalec.DROUGHT_SENESCENCE_PFT``), an extra foliage turnover Φ_d(f_W) beside the calendar
      leaf fall of §3.2 (``tccas.model.dalec.drought_senescence_factor``) [D]; False = DALEC2's calendar
      phenology only (model_spec §3.2: "cold/drought deciduousness is not climate-driven in DALEC2").
    - ``southern_shift``: shift DALEC phenology days by 182.6 d south of the equator (§3.2 [D]).
    - ``spinup_cycles``: number of passes over the spin-up forcing (§2.2).
    - ``steady_state_spinup``: after the first spin-up pass, set C_woo, C_lit and C_som to the analytic
      steady state of §6.2 (from that pass's mean NPP, temprate and phenology rates), then cycle again.
    - ``checkpoint``: ``jax.checkpoint`` on the day body (bounded reverse-mode memory over long runs).
    """

    ra_scheme: str = "bethy"
    wind: str = "constant"
    dalec_step: str = "daily"
    frozen_soil: bool = True
    drought_senescence: bool = True
    longwave: str = "forcing"
    southern_shift: bool = True
    spinup_cycles: int = 1
    steady_state_spinup: bool = False
    checkpoint: bool = True

    def __post_init__(self):
        for field, allowed in _CHOICES.items():
            value = getattr(self, field)
            if value not in allowed:
                raise ValueError(f"ModelOptions.{field} must be one of {allowed}, got {value!r}")
        if int(self.spinup_cycles) < 1:
            raise ValueError(f"ModelOptions.spinup_cycles must be >= 1, got {self.spinup_cycles}")

    @classmethod
    def from_config(cls, model_cfg: dict | None) -> ModelOptions:
        """Build from the ``model:`` block of the workflow config (C4); unknown keys are an error."""
        model_cfg = dict(model_cfg or {})
        unknown = set(model_cfg) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown model option(s) in config 'model': {sorted(unknown)}")
        return cls(**model_cfg)
