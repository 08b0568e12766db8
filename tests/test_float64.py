"""float64 is switched on explicitly (tccas.enable_float64), never by importing a science package, and the
model refuses to run in float32 instead of silently losing its balances."""

from __future__ import annotations

import os
import subprocess
import sys

_SCRIPT = """
import jax
import tccas.model as M, tccas.da, tccas.obs, tccas.scenario, tccas.site
assert not jax.config.read("jax_enable_x64"), "an import switched float64 on"
forcing = M.synthetic_forcing(52.0, 5.0, "2018-01-01", 2)
try:
    M.run_tile(M.default_tile_params(5), M.default_global_params(), M.default_pools(5), forcing,
               M.default_site(52.0, 5.0), 5)
except RuntimeError as err:
    assert "tccas.enable_float64()" in str(err)
else:
    raise AssertionError("the model ran in float32")
import tccas
tccas.enable_float64()
_, daily, _ = M.run_tile(M.default_tile_params(5), M.default_global_params(), M.default_pools(5), forcing,
                         M.default_site(52.0, 5.0), 5)
assert daily["gpp"].dtype == "float64"
print("ok")
"""


def test_float64_is_explicit():
    # A clean interpreter: an earlier test in this process may have exported the workers' JAX_ENABLE_X64=1
    # (tccas.pipeline.cluster.use_worker_environment), which is the explicit switch this test must not see.
    env = {k: v for k, v in os.environ.items() if k != "JAX_ENABLE_X64"}
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _SCRIPT], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]
