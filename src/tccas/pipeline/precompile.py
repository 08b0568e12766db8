"""``precompile``: trace, export and compile the batched JAX programs of a run once, before the tile jobs.

Every tile job of a run calls the same programs: fixed padded batches of ``pixels_per_batch`` pixels, the
``assimilation.max_tiles`` PFT slots, observation slots that depend on the window only
(:func:`~tccas.pipeline.problem.padded_length`). Without this step the first tile job builds a program (the
demo solver: 2–5 min of trace and XLA compilation on the 2-core VMs measured) while every other job of the
run that needs it waits on the exported-program lock with its cores allocated and idle — on a SLURM
cluster, whole nodes. This step builds them in one single-threaded job from a template batch of the right
shapes (:func:`~tccas.pipeline.problem.template_problem`; values do not matter) that can run beside the
ingest and regrid jobs; the tile jobs then load the exported program and take the executable from the
persistent compilation cache (seconds). A tile whose shapes differ (more than one observation per day in a
stream) still compiles its own program, as before.

Programs:

- ``solver``: the prior pass and the assimilation of :mod:`tccas.pipeline.assimilate`;
- ``scenario``: the batched intervention of :mod:`tccas.pipeline.intervention`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def _solver(config: Mapping[str, Any], template) -> dict[str, Any]:
    from tccas.pipeline.assimilate import Batching, assimilation_settings, compile_batch

    settings = assimilation_settings(config)
    size = int(config["assimilation"]["pixels_per_batch"])
    batching = Batching.from_config(config).for_batch(size)
    batch = template.batch(np.zeros(size, np.int64))
    for kind in ("prior", "assimilate"):
        t0 = time.perf_counter()
        compile_batch(kind, batch, settings, batching)
        log.info("%s program for batches of %d pixels: %.1f s", kind, size, time.perf_counter() - t0)
    return {
        "pixels_per_batch": size,
        "solver_slots": batching.slots,
        "posterior_pixels": batching.posterior_pixels,
        "settings": repr(settings),
    }


def _scenario(config: Mapping[str, Any], template) -> dict[str, Any]:
    from tccas.pipeline.assimilate import assimilation_settings, slot_control_names
    from tccas.pipeline.intervention import compile_scenario, scenario_settings

    settings, da_settings = scenario_settings(config), assimilation_settings(config)
    size = int(config["scenario"]["pixels_per_batch"])
    n_c = len(slot_control_names(int(config["assimilation"]["max_tiles"]), da_settings))
    post = {
        "x_post": np.zeros((size, n_c)),
        "x_cov_post": np.zeros((size, n_c, n_c)),
        "x_prior": np.zeros((size, n_c)),
        "x_sd_prior": np.ones((size, n_c)),
    }
    t0 = time.perf_counter()
    # the fraction and the tree PFT are traced scalars: their values do not select the program
    compile_scenario(template.batch(np.zeros(size, np.int64)), post, 0.5, 0, settings, da_settings)
    log.info("scenario program for batches of %d pixels: %.1f s", size, time.perf_counter() - t0)
    return {"pixels_per_batch": size, "settings": repr(settings)}


_BUILDERS = {"solver": _solver, "scenario": _scenario}
PROGRAMS = tuple(_BUILDERS)


def precompile(config: Mapping[str, Any], program: str, sentinel: str | Path) -> Path:
    """Build ``program`` (one of :data:`PROGRAMS`) for the run's batch shapes into the exported-program store
    and the persistent compilation cache of this user, with the workers' XLA flags
    (:func:`~tccas.pipeline.cluster.use_worker_environment`); write a JSON ``sentinel`` (program, caches,
    seconds)."""
    from tccas.io.output_store import write_json
    from tccas.pipeline.cluster import use_worker_environment
    from tccas.pipeline.problem import template_problem

    if program not in PROGRAMS:
        raise ValueError(f"unknown program {program!r}; one of {', '.join(PROGRAMS)}")
    t0 = time.perf_counter()
    env = use_worker_environment()
    caches = {k: env[k] for k in ("JAX_COMPILATION_CACHE_DIR", "TCCAS_PROGRAM_CACHE", "XLA_FLAGS")}
    template = template_problem(dict(config))
    record = _BUILDERS[program](config, template)
    seconds = time.perf_counter() - t0
    log.info("%s: built or loaded in %.1f s (store %s)", program, seconds, caches["TCCAS_PROGRAM_CACHE"])
    return write_json(sentinel, {"program": program, **record, **caches, "seconds": round(seconds, 3)})
