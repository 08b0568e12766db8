"""Workflow benchmark (issue 7): wall time of the demo chain split by stage, the non-assimilation share, and
the speed-up of one tile's assimilation from 1 to 2 Dask workers.

Usage (from the repository root; ~20 min on a 2-core machine):

    .venv/bin/python benchmarks/bench_workflow.py --workdir /tmp/tccas-bench [--config config/config.yaml]

Stages are read from the per-job ``benchmark:`` files of the Snakemake run: ingest = make_demo_data; regrid =
regrid_product; compile = precompile of the solver (the assimilation's one-off XLA compilation, counted with
the assimilation in the share); assimilate = assimilate_tile; write = init_store + write_tile +
finalize_store + quicklook + tabulate_convergence; scenario = intervention + precompile of the scenario
program. Two splits are printed:

- job seconds: the wall seconds of every job, summed per stage. Jobs of different stages overlap on the
  cores, and a job that shares a core runs longer, so the sum exceeds the end-to-end wall time.
- wall seconds: the run's wall time split by what ran. Each job runs from the modification time of its
  benchmark file (Snakemake writes it when the job ends) minus its seconds. An instant where an
  assimilation stage runs counts as assimilation; any other instant is shared equally by the stages that
  run then, or counts as ``scheduler`` when none runs. The non-assimilation share of this split is the
  part of the wall time the run would lose if every other stage were free.

The speed-up re-runs ``tccas assimilate-tile`` on one demo tile with
``--workers 1`` and ``--workers 2``, ``--repeat`` times each in the order 1, 2, 2, 1, … (best of each;
warm JAX compilation cache from the demo run, so all measure cluster start + solve). It is printed for the
whole job, for its Dask passes (prior pass and assimilation pass with their program loads, from the tile
log) and for its batches (the assimilation pass less the solver's load). The rest of the job (interpreter
start, tile problem, cluster start, prior pass, the workers' program loads, close and write: its fixed
part, 15–22 s on the demo tile) does not shrink with the workers; the script prints the speed-up that part
allows with perfectly scaling batches and the fixed part at which the target (1.7 ×) would be reached
(:func:`speedup_bounds`).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# benchmark folder of each rule file (workflow/rules/*.smk) -> stage
STAGE_OF_FOLDER = {
    "ingest": "ingest",
    "regrid": "regrid",
    "assimilate": "assimilate",
    "products": "write",
    "report": "write",
    "scenario": "scenario",
}
# benchmark file stem of each precompiled program (workflow/rules/precompile.smk) -> stage
STAGE_OF_PROGRAM = {"solver": "compile", "scenario": "scenario"}
ASSIMILATION = ("compile", "assimilate")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_demo(workdir: Path, config: Path, cores: int) -> float:
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(config),
        "--replace-workflow-config",
        "--cores",
        str(cores),
        "--workflow-profile",
        str(REPO / "profiles" / "default"),
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, env=_env(), check=True)
    return time.perf_counter() - t0


def _job_seconds(tsv: Path) -> list[float]:
    """The seconds of every row (benchmark repeat) of a job's benchmark file."""
    with tsv.open() as f:
        return [float(r["s"]) for r in csv.DictReader(f, delimiter="\t")]


def _job_files(workdir: Path) -> list[tuple[Path, str]]:
    """Every job benchmark file ``benchmarks/logs/<rule folder>/**.tsv`` of the run with its stage (folders
    not in :data:`STAGE_OF_FOLDER` are stages of their own and count as non-assimilation)."""
    root = workdir / "benchmarks" / "logs"
    out = []
    for f in root.rglob("*.tsv"):
        folder = f.relative_to(root).parts[0]
        out.append(
            (f, STAGE_OF_PROGRAM[f.stem] if folder == "precompile" else STAGE_OF_FOLDER.get(folder, folder))
        )
    return out


def stage_seconds(workdir: Path) -> dict[str, float]:
    """Sum of job seconds per stage (a job's seconds: the mean of its rows)."""
    out = dict.fromkeys(("ingest", "regrid", "compile", "assimilate", "write", "scenario"), 0.0)
    for f, stage in _job_files(workdir):
        rows = _job_seconds(f)
        out[stage] = out.get(stage, 0.0) + sum(rows) / max(len(rows), 1)
    return out


def job_spans(workdir: Path) -> list[tuple[float, float, str]]:
    """(start, end, stage) of every job of the run, in epoch seconds: the end is the modification time of the
    job's benchmark file, the start the end minus the job's seconds (last row: the latest run)."""
    spans = []
    for f, stage in _job_files(workdir):
        end = f.stat().st_mtime
        spans.append((end - _job_seconds(f)[-1], end, stage))
    return spans


def wall_split(spans: list[tuple[float, float, str]]) -> dict[str, float]:
    """The wall time from the first job's start to the last job's end, split by stage: an interval where an
    :data:`ASSIMILATION` stage runs counts as ``assimilation``; any other interval is shared equally by the
    stages that run in it, or counts as ``scheduler`` when no job runs."""
    edges = sorted({t for start, end, _ in spans for t in (start, end)})
    out: dict[str, float] = {}
    for a, b in itertools.pairwise(edges):
        running = {stage for start, end, stage in spans if start < b and end > a}
        if running & set(ASSIMILATION):
            running = {"assimilation"}
        for stage in running or {"scheduler"}:
            out[stage] = out.get(stage, 0.0) + (b - a) / max(len(running), 1)
    return out


def non_assimilation_share(stages: dict[str, float], without: tuple[str, ...] = ()) -> float:
    """Share of the seconds outside the assimilation (:data:`ASSIMILATION` stages, or ``assimilation`` of
    :func:`wall_split`) over every stage but ``without``."""
    total = sum(s for k, s in stages.items() if k not in without)
    assimilation = sum(s for k, s in stages.items() if k in (*ASSIMILATION, "assimilation"))
    return 1.0 - assimilation / total if total else float("nan")


# the Dask part of a tile job, from its log (tccas.pipeline.assimilate.run_tile_problem)
DASK_PASSES = re.compile(r"(?:prior pass and representativeness errors|assimilation pass): ([0-9.]+) s")
# the solver's load on the workers at the start of the assimilation pass (tccas.pipeline.cluster.run_batches)
SOLVER_LOAD = re.compile(r"assimilate: compiled or loaded on \d+ workers in ([0-9.]+) s")
ASSIMILATION_PASS = re.compile(r"assimilation pass: ([0-9.]+) s")
TARGET_SPEEDUP = 1.7  # issue 7


def dask_seconds(log: str) -> float:
    """Seconds of the tile job's Dask passes (prior pass and assimilation pass, program loads included)."""
    return sum(float(s) for s in DASK_PASSES.findall(log))


def batch_seconds(log: str) -> float:
    """Seconds of the tile job's assimilation batches: its assimilation pass less the solver's load."""
    return sum(float(s) for s in ASSIMILATION_PASS.findall(log)) - sum(
        float(s) for s in SOLVER_LOAD.findall(log)
    )


def speedup_bounds(job1: float, batches1: float, job2: float, batches2: float) -> dict[str, float]:
    """What the fixed part of a tile job (``job − batches``: everything but the batches) allows.

    With one worker's fixed part F₁ and batches B₁, two workers can at best take F₁ + B₁/2 (they load
    their programs at the same time, so their fixed part is not shorter), so the job's speed-up is at most
    ``perfect = (F₁ + B₁) / (F₁ + B₁/2)``; at the measured batch speed-up s = B₁/B₂ the job reaches
    :data:`TARGET_SPEEDUP` r only if F ≤ ``fixed_for_target = B₁ (1 − r/s) / (r − 1)`` (negative: not at
    all); with the measured F₁ and F₂ it needs the batch speed-up
    ``batches_for_target = B₁ / ((F₁ + B₁)/r − F₂)`` (above 2 on two workers: out of reach)."""
    fixed1, fixed2 = job1 - batches1, job2 - batches2
    s, r = batches1 / batches2, TARGET_SPEEDUP
    return {
        "fixed1": fixed1,
        "fixed2": fixed2,
        "batches": s,
        "perfect": (fixed1 + batches1) / (fixed1 + batches1 / 2),
        "fixed_for_target": batches1 * (1 - r / s) / (r - 1),
        "batches_for_target": batches1 / ((fixed1 + batches1) / r - fixed2),
    }


def time_assimilation(
    workdir: Path, config: Path, region: str, tile: str, workers: int, run: int = 0
) -> tuple[float, float, float]:
    """Wall seconds of one ``tccas assimilate-tile`` job, of its Dask passes (:func:`dask_seconds`) and of its
    batches (:func:`batch_seconds`)."""
    out = workdir / "bench" / f"{tile}-w{workers}-{run}.zarr"
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(Path(sys.executable).with_name("tccas")),
        "assimilate-tile",
        "--config",
        str(config),
        "--region",
        region,
        "--tile",
        tile,
        "--output",
        str(out),
        "--workers",
        str(workers),
    ]
    t0 = time.perf_counter()
    log_path = out.with_suffix(".log")
    with log_path.open("w") as log:  # the tile log: where the fixed part and batches went
        subprocess.run(cmd, cwd=workdir, env=_env(), check=True, stdout=log, stderr=subprocess.STDOUT)
    wall, text = time.perf_counter() - t0, log_path.read_text()
    return wall, dask_seconds(text), batch_seconds(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="scratch folder for the run")
    parser.add_argument("--config", type=Path, default=REPO / "config" / "config.yaml")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--region", default="iberia", help="region whose first tile is used for the speed-up")
    parser.add_argument("--reuse", action="store_true", help="keep an existing run in --workdir")
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of each worker count for the speed-up (0: no speed-up)"
    )
    args = parser.parse_args(argv)
    config = args.config.resolve()
    workdir = args.workdir.resolve()
    if not args.reuse:
        shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    wall = run_demo(workdir, config, args.cores)
    stages = stage_seconds(workdir)
    total = sum(stages.values())
    split = wall_split(job_spans(workdir))
    span = sum(split.values())

    sys.path.insert(0, str(REPO / "src"))
    from tccas.config import load_config, planned_tiles

    tile = planned_tiles(load_config(config), args.region)[0].name
    times: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
    for r in range(args.repeat):  # 1, 2, 2, 1, …: slow drifts of a shared VM hit both alike
        for workers in (1, 2) if r % 2 == 0 else (2, 1):
            times[workers].append(time_assimilation(workdir, config, args.region, tile, workers, r))

    print(f"| quantity | value |\n|---|---|\n| end-to-end wall (`--cores {args.cores}`) | {wall:.0f} s |")
    for stage, seconds in stages.items():
        print(f"| {stage} (sum of job seconds) | {seconds:.1f} s ({100 * seconds / total:.0f} %) |")
    print(f"| non-assimilation share, every stage | {100 * non_assimilation_share(stages):.1f} % |")
    share = non_assimilation_share(stages, without=("scenario",))
    print(f"| non-assimilation share without the scenario | {100 * share:.1f} % |")
    print(f"| first job start → last job end | {span:.0f} s |")
    for stage, seconds in sorted(split.items(), key=lambda item: -item[1]):
        print(f"| {stage} (wall seconds) | {seconds:.1f} s ({100 * seconds / span:.0f} %) |")
    print(f"| non-assimilation share of the wall time | {100 * non_assimilation_share(split):.1f} % |")
    share = non_assimilation_share(split, without=("scenario",))
    print(f"| the same without the scenario | {100 * share:.1f} % |")
    if not args.repeat:
        return 0
    best = {w: min(times[w]) for w in times}  # by job time
    for workers, label in ((1, "1 worker"), (2, "2 workers")):
        runs = ", ".join(f"{t:.1f} ({d:.1f}, {b:.1f})" for t, d, b in times[workers])
        job, passes, batches = best[workers]
        print(
            f"| assimilate-tile {args.region}/{tile}, {label} (runs: job (Dask passes, batches) {runs} s) | "
            f"best {job:.1f} s (Dask passes {passes:.1f} s, batches {batches:.1f} s) |"
        )
    print(f"| speed-up 1 → 2 workers, tile job (best against best) | {best[1][0] / best[2][0]:.2f} × |")
    print(f"| the same, Dask passes of those runs | {best[1][1] / best[2][1]:.2f} × |")
    bound = speedup_bounds(best[1][0], best[1][2], best[2][0], best[2][2])
    print(f"| the same, batches of those runs | {bound['batches']:.2f} × |")
    print(
        f"| fixed part of those jobs (all but the batches), 1 / 2 workers | {bound['fixed1']:.1f} / "
        f"{bound['fixed2']:.1f} s |"
    )
    print(f"| tile job speed-up with that fixed part, batches scaling perfectly | {bound['perfect']:.3f} × |")
    print(
        f"| fixed part at which the tile job reaches {TARGET_SPEEDUP} × with the batches' speed-up | "
        f"≤ {bound['fixed_for_target']:.1f} s |"
    )
    print(
        f"| batch speed-up the tile job needs for {TARGET_SPEEDUP} × with that fixed part | "
        f"{bound['batches_for_target']:.2f} × |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
