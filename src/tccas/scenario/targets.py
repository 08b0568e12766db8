"""Declarative table of the intervention-scenario targets (obs_da_spec §8 step 4).

Each target is a scalar per pixel, in units of carbon per unit PIXEL area (the converted fraction is already
area-weighted), defined as intervention minus counterfactual (I − C). The store writer, the quick-looks and
the docs are generated from :data:`TARGETS` and :data:`STATISTICS`.

Pool-change targets are changes over the horizon measured from the state right after the conversion
(planting and removal of the grass biomass are bookkept separately as ``planted``/``exported``), so that by
carbon conservation (model_spec §6.1) ``d_total = Σ_pools d_pool = uptake`` exactly.
"""

from __future__ import annotations

from typing import NamedTuple

POOLS: tuple[str, ...] = ("lab", "fol", "roo", "woo", "lit", "som")
POOL_LONG_NAMES: dict[str, str] = {
    "lab": "labile carbon",
    "fol": "foliage carbon",
    "roo": "fine-root carbon",
    "woo": "wood carbon",
    "lit": "litter carbon",
    "som": "soil organic carbon",
}


class TargetSpec(NamedTuple):
    """One scenario target: ``name``, ``units`` (UDUNITS), ``long_name``, quick-look style (io.quicklook)."""

    name: str
    units: str
    long_name: str
    quicklook: str


TARGETS: tuple[TargetSpec, ...] = (
    TargetSpec(
        "uptake",
        "g m-2",
        "extra carbon uptake over the horizon, cumulative NEP of intervention minus counterfactual "
        "(= minus the cumulative NEE difference; positive = extra sink)",
        "diverging",
    ),
    *(
        TargetSpec(
            f"d_{p}",
            "g m-2",
            f"change of {POOL_LONG_NAMES[p]} over the horizon, intervention minus counterfactual",
            "diverging",
        )
        for p in POOLS
    ),
    TargetSpec(
        "d_total",
        "g m-2",
        "change of total ecosystem carbon over the horizon, intervention minus counterfactual",
        "diverging",
    ),
)
TARGET_NAMES: tuple[str, ...] = tuple(t.name for t in TARGETS)

# suffix -> (long_name template, quick-look style: "target" = the target's own, None = no PNG; units:
# "target" = the target's units, otherwise the literal units). Same suffixes as the region store's DA
# targets (io/output_variables.yaml).
STATISTICS: dict[str, tuple[str, str | None, str]] = {
    "": ("posterior {long_name}", "target", "target"),
    "_sd": ("posterior standard deviation of {long_name}", "uncertainty", "target"),
    "_prior": ("prior {long_name}", None, "target"),
    "_prior_sd": ("prior standard deviation of {long_name}", None, "target"),
    "_ur": ("uncertainty reduction 1 - sigma_post/sigma_prior of {long_name}", "reduction", "1"),
}
