"""tccas — Terrestrial Carbon Community Assimilation System.

A functional core (``tccas.model``, ``tccas.obs``, ``tccas.da``, ``tccas.scenario``: pure JAX on
pytrees of one pixel), one I/O boundary (``tccas.io``), the EEA reference grid (``tccas.grid``), a
composition layer (``tccas.pipeline``) driven by the ``tccas`` CLI and the Snakemake workflow, and the
flux-tower site mode (``tccas.site``). Science code runs in float64: call :func:`enable_float64` before
using JAX through tccas from Python (the CLI, the workflow and the tests do).
"""

__version__ = "0.1.0"


def enable_float64() -> None:
    """Switch JAX to 64-bit floats (``jax_enable_x64``), which all tccas science code needs: the model's
    daily carbon and water balances close to round-off only in float64, and the solver's gradient and
    posterior Hessian lose their small eigenvalues in float32. Call it before the first JAX array is made."""
    import jax

    jax.config.update("jax_enable_x64", True)
