"""Observation operators (obs_da_spec §1–5): one module per stream with its operator, uncertainty model,
QC range and operator controls, listed once in :mod:`tccas.obs.registry`; :mod:`tccas.obs.common` holds
the shared time matching, tile aggregation and error model."""

from tccas.obs import common, fapar, gpp, latent_heat, nee, registry, sensible_heat, sif, soil_moisture, vod
from tccas.obs.registry import DEFAULT_STREAMS, EO_STREAMS, STREAMS, TOWER_STREAMS, stream_module

__all__ = [
    "DEFAULT_STREAMS",
    "EO_STREAMS",
    "STREAMS",
    "TOWER_STREAMS",
    "common",
    "fapar",
    "gpp",
    "latent_heat",
    "nee",
    "registry",
    "sensible_heat",
    "sif",
    "soil_moisture",
    "stream_module",
    "vod",
]
