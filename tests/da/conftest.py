"""Session fixtures of the assimilation tests: the twin experiment and the compiled batched assimilation.

The expensive compiled function (vmapped ``assimilate_pixel``) is built once per session; a file lock plus
JAX's persistent compilation cache in pytest's cache folder lets the second xdist worker load the
executable compiled by the first instead of compiling it again.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from da_twin import ERRORS, PFTS, SETTINGS, SIGMA_OBS, batch_members, make_problem, obs_hours, stack

from tccas.da import assimilate_pixel, controls, cost
from tccas.obs import EO_STREAMS


@contextmanager
def compile_lock(request, name):
    """Serialise one compilation across xdist workers and share it through the persistent cache."""
    folder = request.config.cache.mkdir("tccas-da-jax")
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 5.0)
    with open(folder / f"{name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def layout():
    return controls.build_layout(len(PFTS), SETTINGS.controls, SETTINGS.streams)


@pytest.fixture(scope="session")
def twin(layout):
    """Truth x_true ~ N(x0, C0) (clipped to the bounds), its targets, and noisy synthetic observations."""
    template = make_problem({s: np.zeros(h.shape) for s, h in obs_hours().items()})
    pr = controls.prior(layout, PFTS)
    rng = np.random.default_rng(2024)
    x_true = np.clip(
        np.asarray(pr.x0) + np.asarray(pr.sigma0) * rng.standard_normal(layout.size),
        np.asarray(pr.lower),
        np.asarray(pr.upper),
    )

    @jax.jit
    def forward(x, problem):
        data = cost.all_stream_data(problem, SETTINGS)
        ev = cost.evaluate(x / pr.sigma0, problem, layout, pr, SETTINGS, data)
        return ev.equivalents, ev.targets

    eq, targets = forward(jnp.asarray(x_true), jax.tree_util.tree_map(jnp.asarray, template))
    values = {}
    for s in EO_STREAMS:
        sd = np.sqrt(SIGMA_OBS[s] ** 2 + dict(ERRORS)[s].sigma_model_abs ** 2)
        values[s] = np.asarray(eq[s]) + sd * rng.standard_normal(eq[s].shape)
    return {
        "x_true": x_true,
        "targets": {k: float(v) for k, v in targets.items()},
        "values": values,
        "prior": pr,
        "forward": forward,
    }


@pytest.fixture(scope="session")
def assimilate_batch(request):
    fn = jax.jit(jax.vmap(partial(assimilate_pixel, settings=SETTINGS)))

    def run(batch):
        with compile_lock(request, "assimilate"):
            out = fn(batch)
            jax.block_until_ready(out)
        return {k: np.asarray(v) for k, v in out.items()}

    return run


@pytest.fixture(scope="session")
def batch_result(twin, assimilate_batch):
    members = batch_members(twin)
    return members, assimilate_batch(stack(members))
