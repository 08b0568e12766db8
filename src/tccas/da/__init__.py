"""Per-pixel variational data assimilation (obs_da_spec §6–7): control registry, cost, batched bounded
L-BFGS-B, posterior covariance, propagation to targets and TCCAS-style diagnostics. Pure JAX for one pixel;
the pipeline vmaps :func:`assimilate_pixel` (or its parts :func:`solver_start`, :func:`solver_step` and
:func:`assimilate_finish`) over padded batches."""

from tccas.da import controls, cost, diagnostics, lbfgsb, posterior, propagate
from tccas.da.lbfgsb import CONVERGED, LINE_SEARCH_FAILURE, MAX_ITER, NO_OBS, PADDING, STATUS_NAMES
from tccas.da.pixel import (
    AssimilationSettings,
    ObsStream,
    PixelProblem,
    assimilate_finish,
    assimilate_pixel,
    control_names,
    daily_stream,
    layout_for,
    prior_equivalents,
    solver_start,
    solver_step,
)

__all__ = [
    "CONVERGED",
    "LINE_SEARCH_FAILURE",
    "MAX_ITER",
    "NO_OBS",
    "PADDING",
    "STATUS_NAMES",
    "AssimilationSettings",
    "ObsStream",
    "PixelProblem",
    "assimilate_finish",
    "assimilate_pixel",
    "control_names",
    "controls",
    "cost",
    "daily_stream",
    "diagnostics",
    "layout_for",
    "lbfgsb",
    "posterior",
    "prior_equivalents",
    "propagate",
    "solver_start",
    "solver_step",
]
