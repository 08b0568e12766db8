"""Named prior sets of the per-PFT parameters: the calibrated D&B prior (default) and the TCCAS demo priors.

The parameter registry (:mod:`tccas.model.parameters`) is built from the TCCAS r10043 demo priors and the
design defaults of model_spec §4 (prior set ``"tccas_demo"``). Prior set ``"calibrated"`` (the default)
replaces the prior mean and σ of the PFT-level (and global) parameters that a multi-site calibration at
flux towers constrained (``tccas site calibrate``, :mod:`tccas.site.calibrate`) by the values of the
packaged file ``tccas/data/priors/dnb_calibrated.yaml``, and, for PFTs without a calibration site, by the
literature values of ``tccas/data/priors/dnb_literature.yaml`` (same layout; each entry cites its source;
the calibrated file wins where both set a value); every other entry keeps its demo/design value. Bounds
are kept and widened to include a new value if needed.

Selection: the environment variable ``TCCAS_PRIORS`` (``calibrated`` | ``tccas_demo``), read once when
:mod:`tccas.model` is imported — the registry is static, and the value travels to Dask workers with the
environment. ``tccas.io.programs`` keys exported programs by the active set.

File layout (YAML, written by :func:`tccas.io.priors.write_prior_file`)::

    format: tccas-prior-parameters
    version: 1
    provenance: {sites: {...}, tccas_version: ..., created: ..., cost_prior: ..., ...}
    parameters:
      <name>:                   # a per-PFT registry entry
        <PFT>: {value: float, sigma: float, ...}   # further keys (prior, sigma_posterior) are informative
      <name>:                   # a global registry entry (one value for every PFT)
        all: {value: float, sigma: float, ...}

:func:`overrides_from_document` checks such a document (every error names the source and the field).
"""

from __future__ import annotations

import os
from importlib import resources

import yaml

PRIOR_SETS: tuple[str, ...] = ("calibrated", "tccas_demo")
DEFAULT_PRIOR_SET = "calibrated"
ENV_VAR = "TCCAS_PRIORS"
FORMAT = "tccas-prior-parameters"
PACKAGED_FILE = "data/priors/dnb_calibrated.yaml"
LITERATURE_FILE = "data/priors/dnb_literature.yaml"
#: The packaged files of prior set ``calibrated``, in the order they apply (a later file wins).
CALIBRATED_SET_FILES: tuple[str, ...] = (LITERATURE_FILE, PACKAGED_FILE)
#: Key of a global parameter's single entry in a prior-parameter file, and its code in the overrides.
GLOBAL_KEY = "all"
GLOBAL_CODE = -1


class PriorFileError(ValueError):
    """A prior-parameter document that does not follow the layout of the module docstring."""


def active_prior_set() -> str:
    """The prior set named by ``TCCAS_PRIORS`` (default ``calibrated``); ``ValueError`` for another name."""
    name = os.environ.get(ENV_VAR, DEFAULT_PRIOR_SET).strip() or DEFAULT_PRIOR_SET
    if name not in PRIOR_SETS:
        raise ValueError(f"{ENV_VAR}={name!r} is not a prior set; choose one of {PRIOR_SETS}")
    return name


def overrides_from_document(
    doc, source: str, pft_names, per_pft_names, global_names=()
) -> dict[str, dict[int, tuple]]:
    """``{parameter: {PFT code: (value, sigma)}}`` from a parsed prior-parameter document (module docstring);
    a global parameter's entry has the code :data:`GLOBAL_CODE`.

    ``pft_names``: the PFT names in code order; ``per_pft_names`` / ``global_names``: the per-PFT / global
    registry entries that may be overridden. Errors (:class:`PriorFileError`) name ``source`` and the
    offending field."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise PriorFileError(
            f"{source}: not a tccas prior-parameter file (field 'format' must be {FORMAT!r})"
        )
    params = doc.get("parameters")
    if not isinstance(params, dict) or not params:
        raise PriorFileError(f"{source}: field 'parameters' must be a non-empty mapping")
    out: dict[str, dict[int, tuple]] = {}
    for name, by_pft in params.items():
        is_global = name in global_names
        if not (is_global or name in per_pft_names):
            raise PriorFileError(f"{source}: parameters.{name}: not a parameter of the registry")
        if not isinstance(by_pft, dict):
            raise PriorFileError(f"{source}: parameters.{name}: must map PFT names to entries")
        for pft, entry in by_pft.items():
            where = f"{source}: parameters.{name}.{pft}"
            if is_global and pft != GLOBAL_KEY:
                raise PriorFileError(f"{where}: a global parameter has one entry, {GLOBAL_KEY!r}")
            if not is_global and pft not in pft_names:
                raise PriorFileError(f"{where}: unknown PFT; known {', '.join(pft_names)}")
            try:
                value, sigma = float(entry["value"]), float(entry["sigma"])
            except (KeyError, TypeError, ValueError):
                raise PriorFileError(f"{where}: needs numeric 'value' and 'sigma'") from None
            if not (value == value and sigma == sigma) or sigma < 0:  # NaN or negative
                raise PriorFileError(f"{where}: value {value} / sigma {sigma} must be finite, sigma >= 0")
            code = GLOBAL_CODE if is_global else pft_names.index(pft)
            out.setdefault(name, {})[code] = (value, sigma)
    return out


def packaged_document(name: str = PACKAGED_FILE) -> dict:
    """A parsed packaged prior file (package data, like the config schemas); default the calibrated one."""
    return yaml.safe_load(resources.files("tccas").joinpath(name).read_text())
