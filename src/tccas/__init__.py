"""tccas — Terrestrial Carbon Community Assimilation System.

A functional core (``tccas.model``, ``tccas.obs``, ``tccas.da``, ``tccas.scenario``: pure JAX on
pytrees of one pixel), one I/O boundary (``tccas.io``), the EEA reference grid (``tccas.grid``), and a
composition layer (``tccas.pipeline``) driven by the ``tccas`` CLI and the Snakemake workflow.
See ``../shared/spec/architecture.md`` for the import rules.
"""

__version__ = "0.1.0"
