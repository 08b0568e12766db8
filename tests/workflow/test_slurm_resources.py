"""What each job would ask SLURM for (workflow/rules/common.smk resource functions), read from Snakemake's
dry run: requests follow the tile and region size, an attached tile job asks for one CPU, and every job but
the solver's compilation is submitted with a SLURM nice value in the order of the Snakemake priorities."""

from __future__ import annotations

import re

import pytest
import yaml

pytestmark = pytest.mark.workflow


def _requests(smk, tmp_path, tiny, name, **changes) -> dict[str, dict[str, str]]:
    """``{rule or rule:wildcards: {threads, resource: value}}`` of a dry run of the tiny config with
    ``changes`` (section → mapping merged into it)."""
    config = yaml.safe_load(tiny[1].read_text())
    for section, values in changes.items():
        config[section] = {**config.get(section, {}), **values}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = smk(*tiny[0]("-n", config=path), workdir=tmp_path / name, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs, current = {}, None
    for line in (proc.stdout + proc.stderr).splitlines():
        head = re.match(r"^(?:localrule|rule|checkpoint) (\w+):", line)
        if head:
            current = {"rule": head[1], "threads": "1"}  # Snakemake prints threads only when > 1
            jobs.setdefault(head[1], []).append(current)
        elif current is not None and line.strip().startswith(("threads:", "resources:", "wildcards:")):
            key, _, value = line.strip().partition(": ")
            if key == "resources":
                current.update(item.split("=", 1) for item in value.split(", "))
            else:
                current[key] = value
    return jobs


def _one(jobs, rule, wildcards=""):
    matches = [job for job in jobs[rule] if wildcards in job.get("wildcards", "")]
    assert len(matches) == 1, (rule, wildcards, jobs[rule])
    return matches[0]


def test_requests_follow_tile_and_region_size(smk, tmp_path, tiny):
    iterations = {"max_iter": 30}  # so that the 10 km tile needs more than the 30-minute floor
    small = _requests(smk, tmp_path, tiny, "km1", assimilation=iterations)
    large = _requests(
        smk,
        tmp_path,
        tiny,
        "km10",
        assimilation=iterations,
        regions={"netherlands": {"tile_km": 10, "points": [[5.74, 52.17]]}},
        scenario={"enabled": True, "horizon_years": 5},
    )
    # 1 km tile, 31 days, 1 worker: 1.5 × (800 + 1 × (1700 + posterior chunk) + 100 cells × result) → 4 GB
    assert _one(small, "assimilate_tile")["mem_mb"] == "4000"
    assert _one(small, "assimilate_tile")["runtime"] == "30"  # the 30-minute floor
    # 10 000 pixels × 0.94 s × 30/10 iterations × 31/365 years on 1 worker = 40 min; × 3 + 10
    assert _one(large, "assimilate_tile")["runtime"] == "130"
    for rule, wildcards in (("assimilate_tile", ""), ("write_tile", ""), ("regrid_product", "product=sif")):
        a, b = _one(small, rule, wildcards), _one(large, rule, wildcards)
        assert int(b["mem_mb"]) >= int(a["mem_mb"]) and int(b["runtime"]) >= int(a["runtime"]), (rule, a, b)
    # the windowed region passes: memory bounded, run time with the region's cells: the whole Netherlands in
    # 100 km tiles (11 tiles, a 4 × 4-tile bounding box: 1.6 × 10⁷ cells × 44 maps / 4 × 10⁶ per second =
    # 176 s; × 3 + 10 minutes) against the 1 km tile
    # the intervention runs per tile too: 10 000 cells × 2.62/6 s × (31/365 + 5) model years on 1 worker
    # = 370 min; × 3 + 10. Its region job is a windowed pass, bounded in memory.
    assert _one(large, "intervention_tile")["runtime"] == "1121"
    assert _one(large, "intervention_tile")["mem_mb"] == _one(large, "assimilate_tile")["mem_mb"]
    assert _one(large, "intervention_tile")["slurm_extra"] == "--nice=900"  # after the tiles (800)
    whole = {"netherlands": {"tile_km": 100, "whole_region": True}}
    huge = _requests(smk, tmp_path, tiny, "whole", regions=whole, scenario={"enabled": True})
    assert len(huge["assimilate_tile"]) == len(huge["intervention_tile"]) == 11
    assert _one(huge, "intervention")["mem_mb"] == "2000"
    assert _one(huge, "overviews")["mem_mb"] == _one(small, "overviews")["mem_mb"] == "2000"
    assert (_one(small, "overviews")["runtime"], _one(huge, "overviews")["runtime"]) == ("11", "19")


def test_attached_tile_job_asks_for_one_cpu_and_no_worker_memory(smk, tmp_path, tiny):
    own = _requests(smk, tmp_path, tiny, "own", dask={"n_workers": 2})
    attached = _requests(
        smk, tmp_path, tiny, "attached", dask={"n_workers": 2, "scheduler_address": "tcp://127.0.0.1:8786"}
    )
    assert _one(own, "assimilate_tile")["threads"] == "2"
    assert _one(attached, "assimilate_tile")["threads"] == "1"
    assert int(_one(attached, "assimilate_tile")["mem_mb"]) < int(_one(own, "assimilate_tile")["mem_mb"])


def test_solver_compilation_first_on_slurm(smk, tmp_path, tiny):
    jobs = _requests(smk, tmp_path, tiny, "nice")
    nice = {
        (job["rule"], job.get("wildcards", "")): int(job["slurm_extra"].removeprefix("--nice="))
        for group in jobs.values()
        for job in group
        if "slurm_extra" in job
    }
    assert nice.pop(("precompile", "program=solver")) == 0
    assert min(nice.values()) > 0
    inputs = {v for (rule, _), v in nice.items() if rule in ("make_demo_data", "regrid_product")}
    assert inputs == {500}
    assert nice[("assimilate_tile", _one(jobs, "assimilate_tile")["wildcards"])] == 800
    assert nice[("finalize_store", _one(jobs, "finalize_store")["wildcards"])] == 1000
