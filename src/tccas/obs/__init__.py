"""Observation operators (obs_da_spec §1–5): one module per stream with its operator, uncertainty model and
QC range; :mod:`tccas.obs.common` holds the shared time matching, tile aggregation and error model."""

from tccas import _jax  # noqa: F401
from tccas.obs import common, fapar, sif, soil_moisture, vod

#: Stream keys in the fixed order used by the control vector, the cost and the outputs.
STREAMS = ("fapar", "sif", "vod", "sm")

#: Stream key → operator module.
OPERATORS = {"fapar": fapar, "sif": sif, "vod": vod, "sm": soil_moisture}

__all__ = ["OPERATORS", "STREAMS", "common", "fapar", "sif", "soil_moisture", "vod"]
