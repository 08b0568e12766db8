"""Files of a multi-site calibration (``tccas site calibrate``): the prior-parameter file, the control table.

- **Prior-parameter file** (YAML, layout in :mod:`tccas.model.prior_sets`): the calibrated value and σ of
  every shared PFT-level and global parameter (σ inflated as :mod:`tccas.site.calibrate` documents), with
  the prior and the raw posterior σ beside them, and the provenance (sites and calibration dates,
  observation counts, costs, χ², solver status, tccas version, date). Copied to
  ``src/tccas/data/priors/dnb_calibrated.yaml`` it is the default prior of every run (prior set
  ``calibrated``).
- **Control table** (CSV): every control of the joint vector — shared and per site — with prior, posterior,
  σ prior, σ posterior, the σ written to the prior file, and the uncertainty reduction.

Both are written atomically (:func:`tccas.io._util.atomic_path`); :func:`read_prior_file` checks the layout
and names the file and the field of any error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from tccas import model
from tccas.io._util import atomic_path
from tccas.io.errors import CorruptFileError
from tccas.model import prior_sets

_HEADER = (
    "# Calibrated prior of the D&B model's PFT-level parameters, written by `tccas site calibrate`\n"
    "# (tccas.site.calibrate). value/sigma: the new prior mean and 1-sigma; prior/prior_sigma: the prior\n"
    "# the calibration started from; sigma_posterior: the Gauss-Newton posterior sigma before inflation.\n"
)


def write_prior_file(path, table: dict, provenance: dict) -> Path:
    """Write the prior-parameter file: ``table`` ``{parameter: {PFT or "all": {"value", "sigma", …}}}`` and
    the ``provenance`` mapping (``Calibration.shared_table()`` and ``Calibration.provenance()``)."""
    path = Path(path)
    doc = {
        "format": prior_sets.FORMAT,
        "version": 1,
        "provenance": _plain(provenance),
        "parameters": _plain(table),
    }
    prior_sets.overrides_from_document(
        doc, str(path), model.PFT_NAMES, model.TILE_PARAM_NAMES, model.GLOBAL_PARAM_NAMES
    )
    with atomic_path(path) as tmp:
        Path(tmp).write_text(_HEADER + yaml.safe_dump(doc, sort_keys=False, width=110))
    return path


def read_prior_file(path) -> dict:
    """Read and check a prior-parameter file; returns the parsed document. ``CorruptFileError`` names the
    file and the field."""
    path = Path(path)
    if not path.is_file():
        raise CorruptFileError(path, "", "file does not exist")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise CorruptFileError(path, "", f"not valid YAML: {err}") from None
    try:
        prior_sets.overrides_from_document(
            doc, str(path), model.PFT_NAMES, model.TILE_PARAM_NAMES, model.GLOBAL_PARAM_NAMES
        )
    except prior_sets.PriorFileError as err:
        raise CorruptFileError(path, "", str(err).removeprefix(f"{path}: ")) from None
    return doc


def write_control_table(path, calibration) -> Path:
    """Write the control table (module docstring) of a :class:`tccas.site.calibrate.Calibration`."""
    path = Path(path)
    c = calibration
    table = pd.DataFrame(
        {
            "control": list(c.labels),
            "name": list(c.joint.names),
            "pft": [model.PFT_NAMES[p] if p >= 0 else prior_sets.GLOBAL_KEY for p in c.joint.pfts],
            "site": [c.site_ids[s] if s >= 0 else "" for s in c.joint.sites],
            "tile": list(c.joint.tiles),
            "prior": c.x_prior,
            "posterior": c.x_post,
            "sigma_prior": c.sd_prior,
            "sigma_posterior": c.sd_post,
            "sigma_calibrated": c.sd_calibrated,
            "uncertainty_reduction": 1.0 - c.sd_post / c.sd_prior,
        }
    )
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    return path


def _plain(x):
    """Nested mappings/sequences of NumPy scalars → plain Python for YAML."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x
