"""The README's "Use from Python" example runs as written (from the repository root), and its results are
complete: units, a posterior that lowers the cost, σ that shrink, finite daily σ."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest


def _readme_example(repo_root) -> str:
    text = (repo_root / "README.md").read_text()
    section = text.split("## Use from Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_readme_python_example(repo_root, real_data_dir, capsys):
    code = _readme_example(repo_root)
    assert len(code.strip().splitlines()) <= 14
    cwd = os.getcwd()
    os.chdir(repo_root)
    try:
        scope: dict = {}
        exec(compile(code, "README.md", "exec"), scope)
    finally:
        os.chdir(cwd)
    prior, post, fit = scope["prior"], scope["post"], scope["fit"]
    assert prior["gpp"].attrs["units"] == "gC m-2 d-1" and prior.sizes["time"] == 730
    assert fit.cost_post < fit.cost_prior and fit.n_obs["nee"] > 300
    table = fit.controls
    assert list(table.columns[:5]) == ["name", "prior", "posterior", "sigma_prior", "sigma_posterior"]
    assert (table["sigma_posterior"] <= table["sigma_prior"] * (1 + 1e-9)).all()
    assert np.all(np.isfinite(post["nee_sigma"].values)) and float(post["nee_sigma"].mean()) > 0
    # the posterior fits the assimilated year's data better than the prior, in the cost's own weighting
    assert fit.status in (0, 1) and fit.n_iter >= 1
    assert "validation" in capsys.readouterr().out
