"""Prior sets (tccas.model.prior_sets): the packaged calibrated prior is the default, the TCCAS demo priors
stay available as TCCAS_PRIORS=tccas_demo, an unknown set is refused, and the packaged file is valid and
records its provenance."""

from __future__ import annotations

import os
import subprocess
import sys

from tccas import model
from tccas.model import prior_sets

_PRINT = (
    "import tccas.model as M; p = M.param_spec('vcmax25'); "
    "print(repr(float(p.prior[3])), repr(float(p.sigma[3])))"
)


def _run(value: str | None):
    env = {k: v for k, v in os.environ.items() if k != prior_sets.ENV_VAR}
    if value is not None:
        env[prior_sets.ENV_VAR] = value
    return subprocess.run(
        [sys.executable, "-c", _PRINT], capture_output=True, text=True, env=env, timeout=120
    )


def _overrides(doc):
    return prior_sets.overrides_from_document(
        doc, "packaged", model.PFT_NAMES, model.TILE_PARAM_NAMES, model.GLOBAL_PARAM_NAMES
    )


def test_packaged_prior_file_is_valid_and_has_provenance():
    doc = prior_sets.packaged_document()
    over = _overrides(doc)
    assert {"vcmax25", "leaf_lifespan", "wmax_scale"} <= set(over)
    calibrated = {model.PFT_NAMES[c] for by_pft in over.values() for c in by_pft if c >= 0}
    assert calibrated == {"TmEv", "EvCn", "TmSg", "C4Gr", "DShr", "C3Gr"}
    prov = doc["provenance"]
    assert set(prov["sites"]) == {"FR-Pue", "FI-Hyy", "NL-Loo", "DE-Hai", "US-SRG", "US-Var", "RU-Fyo"}
    assert prov["started_from_prior_set"] == "tccas_demo"
    assert prov["cost_post"] < prov["cost_prior"] and prov["tccas_version"]
    for site, (start, end) in prov["sites"].items():
        assert int(end[:4]) - int(start[:4]) == 4, site  # five calibration years, the rest withheld


def test_default_is_calibrated_and_demo_priors_stay_available():
    doc = prior_sets.packaged_document()["parameters"]["vcmax25"]["TmEv"]
    default, demo = _run(None), _run("tccas_demo")
    assert default.returncode == 0 and demo.returncode == 0, default.stderr + demo.stderr
    assert default.stdout.split() == [repr(float(doc["value"])), repr(float(doc["sigma"]))]
    assert demo.stdout.split() == [repr(41.0), repr(0.2 * 41.0)]  # model_spec §4.1 BETHY V_m25 of TmEv
    assert _run("calibrated").stdout == default.stdout


def test_unknown_prior_set_is_refused():
    bad = _run("tuned")
    assert bad.returncode != 0 and "TCCAS_PRIORS='tuned' is not a prior set" in bad.stderr


def test_literature_file_covers_only_pfts_without_a_calibration_site():
    lit = prior_sets.packaged_document(prior_sets.LITERATURE_FILE)
    over = _overrides(lit)
    calibrated = {c for by_pft in _overrides(prior_sets.packaged_document()).values() for c in by_pft}
    assert over and not {c for by_pft in over.values() for c in by_pft} & calibrated
    for name, by_pft in lit["parameters"].items():
        for pft, entry in by_pft.items():
            assert len(entry["source"]) > 40, (name, pft)  # every literature value cites its source
    code = model.PFT_NAMES.index("EShr")
    env = {k: v for k, v in os.environ.items() if k != prior_sets.ENV_VAR}
    script = f"import tccas.model as M; print(float(M.param_spec('leaf_lifespan').prior[{code}]))"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert float(proc.stdout) == lit["parameters"]["leaf_lifespan"]["EShr"]["value"], proc.stderr
