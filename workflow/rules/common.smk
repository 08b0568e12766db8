# Helper functions of the workflow (no rules here): configuration file, tile planning, paths, resources,
# rerun settings and the target list. Included first by the root Snakefile.
import hashlib
import os
import subprocess
from datetime import date
from math import ceil
from pathlib import Path

from snakemake.exceptions import WorkflowError

from tccas.config import ConfigError, load_config, planned_tiles, settings_digest
from tccas.grid import REGIONS
from tccas.io.output_store import load_registry
from tccas.pipeline.cluster import parse_sinfo, slurm_request_problems
from tccas.pipeline.regrid import manifest_path, product_files, load_manifest

DEFAULT_CONFIG_FILE = "config/config.yaml"


def run_config_file():
    """The config file passed to every `tccas` subcommand, validated by tccas: the --configfile given, else
    config/config.yaml. Fills the workflow's `config` with the validated values (defaults included).

    The subcommands read that file, so the effective Snakemake config must equal it: several --configfile
    files (Snakemake merges them) or --config overrides are refused with an explanation instead of silently
    diverging. Schema, consistency and YAML errors of the file (and an empty file) are reported as
    `tccas validate-config` reports them: one line each, naming the file and the key. (A YAML error in a
    --configfile file is caught by Snakemake itself before this runs; `tccas validate-config FILE` names its
    line.)
    """
    given = [str(path) for path in workflow.overwrite_configfiles]
    if len(given) > 1 or workflow.config_settings.config:
        raise WorkflowError(
            "tccas: the effective config would differ from the file the tccas subcommands read (several "
            "--configfile files or --config overrides); put the whole configuration in one file and run "
            "with --configfile FILE --replace-workflow-config"
        )
    path = given[0] if given else DEFAULT_CONFIG_FILE
    try:
        validated = load_config(path)
    except ConfigError as err:
        raise WorkflowError(f"tccas: invalid configuration: {err}") from None
    config.clear()
    config.update(validated)
    return path


CONFIG_FILE = run_config_file()
# The `config` param of every rule: a Path, which Snakemake leaves out of its params rerun trigger (it records
# builtin types only), so moving the file reruns nothing; its content does, through RULE_SETTINGS.
CONFIG_PATH = Path(CONFIG_FILE)

# Printed by the Snakefile's onerror hook (docs/reliability.md, "After a crash").
RECOVERY_HINT = f"""
tccas: the workflow stopped with a failed job (its log is named above; logs/ holds every job's log).
  * Fix the cause and rerun the same command: finished jobs are kept, killed or failed ones are redone
    (rerun-incomplete in the profiles).
  * If Snakemake itself was killed (kill, walltime, power loss), the next run stops with "Directory cannot
    be locked": run the same command once with --unlock added, then rerun it.
  * Check the plan without running anything: add -n (dry run); --summary lists every output and its state.
  Config: {CONFIG_FILE}
"""
RESOURCES = config["data"]["root"]
RESULTS = config["outputs"]["root"]
PRODUCTS = ["forcing", "landcover", "fapar", "sif", "smos"]
PLANNED = {region: planned_tiles(config, region) for region in config["regions"]}
TILES = {region: [t.name for t in tiles] for region, tiles in PLANNED.items()}
TILE_PATTERN = r"\d+kmE\d+N\d+"


# Config keys each rule's results depend on (dotted; {region} is the job's region): a Snakemake param of the
# rule is their digest, so editing one of them reruns the rule and everything downstream of it (Snakemake's
# `params` rerun trigger), while an edit elsewhere (e.g. dask.n_workers, which never changes a result) reruns
# nothing. The product files of a regrid job are its inputs (product_inputs). A program is built from the
# settings of the jobs that run it (precompile has one key list per program), and rebuilding it reruns them.
RULE_SETTINGS = {
    "make_demo_data": (
        "period",
        "grid",
        "data",
        "model",
        "streams",
        "assimilation.max_tiles",
        "regions.{region}",
    ),
    "regrid_product": ("grid",),
    "precompile": {
        "solver": ("period", "grid", "model", "streams", "assimilation"),
        "scenario": ("period", "grid", "model", "streams", "assimilation", "scenario"),
    },
    "assimilate_tile": ("period", "grid", "model", "streams", "assimilation"),
    "init_store": (
        "run_id",
        "period",
        "grid",
        "model",
        "streams",
        "assimilation",
        "outputs.time_step",
        "regions.{region}",
    ),
    "write_tile": ("grid",),
    "finalize_store": None,  # None: every section but the Dask machinery (the store's config_sha256)
    "quicklook": ("run_id", "period"),
    "intervention_tile": (
        "period",
        "grid",
        "model",
        "streams",
        "assimilation",
        "scenario",
        "regions.{region}",
    ),
    "intervention": (
        "run_id",
        "period",
        "grid",
        "model",
        "streams",
        "assimilation",
        "scenario",
        "regions.{region}",
    ),
}


def rule_settings(rule):
    """The `settings` param of `rule`: the digest of its RULE_SETTINGS keys (tccas.config.settings_digest;
    a mapping of keys is looked up by the job's `program` wildcard)."""

    def digest(wildcards):
        keys = RULE_SETTINGS[rule]
        if isinstance(keys, dict):
            keys = keys[wildcards.program]
        if keys is None:
            return settings_digest(config)
        return settings_digest(config, [key.format(**wildcards) for key in keys])

    return digest


def _product_files(wildcards):
    """The region's manifest and the native files a regrid job's product reads (from the manifest).

    With synthetic inputs the manifest comes from the make_demo_data checkpoint, so the file list is read
    once it exists; with data.source files it must exist already (checked by the config validation).
    """
    region, product = wildcards.region, wildcards.product
    if config["data"]["source"] == "synthetic":
        manifest = checkpoints.make_demo_data.get(region=region).output.manifest
    else:
        manifest = str(manifest_path(RESOURCES, region))
    base = Path(RESOURCES) / region
    try:
        files = product_files(load_manifest(RESOURCES, region), base, product, manifest)
    except (FileNotFoundError, ValueError) as err:
        raise WorkflowError(f"tccas: {err}") from None
    return manifest, [str(f) for group in files.values() for f in group]


def product_inputs(wildcards):
    """Inputs of a regrid job: the region's manifest and the native files its product reads."""
    manifest, files = _product_files(wildcards)
    return {"manifest": manifest, "files": files}


def product_stamp(wildcards):
    """The `inputs` param of a regrid job: size and modification time of each native file it reads.

    Replacing a product file changes it, so the job reruns. (The files are inputs too, but Snakemake 9
    compares no modification times of inputs that come through a checkpoint, here the manifest's list;
    it does compare params.)
    """
    _, files = _product_files(wildcards)
    stamp = []
    for name in files:
        info = os.stat(name)
        stamp.append(
            f"{os.path.relpath(name, RESOURCES)}:{info.st_size}:{info.st_mtime_ns}"
        )
    return hashlib.sha256("\n".join(stamp).encode()).hexdigest()


# Resources of the jobs: what each SLURM job asks for (memory [MB], run time [minutes], CPUs), from the config
# and the size of what the job touches (a tile, a region's raster) with the measured costs of
# benchmarks/README.md; memory and run time × the attempt (profiles/slurm: retries resubmit a job that ran
# out of memory or time with twice and three times the request).


def _tile_pixels(wildcards):
    """Cells of the job's tile (its edge in km is the prefix of the tile code, e.g. 1kmE4029N3237)."""
    km = int(wildcards.tile.split("km", 1)[0])
    return (km * 1000 // config["grid"]["resolution_m"]) ** 2


def _region_cells(wildcards):
    """Cells of the job's region raster: the bounding box of its planned tiles (the store grid)."""
    tiles = PLANNED[wildcards.region]
    size, res = tiles[0].size_m, tiles[0].res
    width = max(t.x0 for t in tiles) + size - min(t.x0 for t in tiles)
    height = max(t.y0 for t in tiles) + size - min(t.y0 for t in tiles)
    return (width // res) * (height // res)


def _model_days():
    """Days the model runs per pixel: the window and the spin-up years before it."""
    period = config["period"]
    days = (
        date.fromisoformat(period["end"]) - date.fromisoformat(period["start"])
    ).days + 1
    return days + 365 * period["spinup_years"]


def _attached():
    """Whether tile jobs use an existing Dask cluster (dask.scheduler_address) instead of their own."""
    return bool(config["dask"].get("scheduler_address"))


def assimilate_threads(wildcards):
    """CPUs of a tile job: its dask.n_workers process workers, or one when it is attached to an existing
    cluster (the job then only submits batches and writes the result; the workers are that cluster's).
    """
    return 1 if _attached() else config["dask"]["n_workers"]


def _tile_result_bytes_per_cell():
    """Bytes per cell of a tile result in memory: the daily series of five targets (float64), the control
    covariance (float32, 50 controls) when stored, and 2000 B of maps and per-pixel vectors.
    """
    a = config["assimilation"]
    return 5 * 8 * _model_days() + (4 * 50 * 50 if a["store_covariance"] else 0) + 2000


def assimilate_mem_mb(wildcards, attempt):
    """Memory of a tile job [MB] from the config and the tile size, × attempt.

    Per local worker (none when attached) 1700 MB (JAX runtime and the loaded solver) plus the posterior
    chunk's XLA temporaries, 80 MiB = 84 MB per pixel and model year (assimilation.posterior_pixels at a
    time); in the job's process 800 MB plus the tile result (:func:`_tile_result_bytes_per_cell`). Measured
    (benchmarks/README.md): 4.3 GB max RSS for a 2-worker demo tile; the request is 1.5 × the estimate, in
    whole GB.
    """
    years = _model_days() / 365.0
    worker = 1700 + config["assimilation"]["posterior_pixels"] * 84 * years
    workers = 0 if _attached() else config["dask"]["n_workers"]
    estimate = (
        800
        + workers * worker
        + _tile_pixels(wildcards) * _tile_result_bytes_per_cell() / 1e6
    )
    return attempt * 1000 * ceil(1.5 * estimate / 1000)


def assimilate_runtime(wildcards, attempt):
    """Run time of a tile job [minutes] from the config and the tile size, × attempt.

    0.94 s per pixel for 10 iterations and a 1-year window on one worker (93.1 s for the 99 pixels of a
    demo tile, README), in proportion to the iteration cap and the model days, shared by dask.n_workers
    workers (an attached cluster's workers are counted as that many too); 3 × that (slower nodes, XLA
    compilation when a program is missing), at least 30 minutes.
    """
    seconds = 0.94 * config["assimilation"]["max_iter"] / 10 * _model_days() / 365
    minutes = _tile_pixels(wildcards) * seconds / config["dask"]["n_workers"] / 60
    return attempt * max(30, ceil(10 + 3 * minutes))


# Regridding (benchmarks/README.md, "Regridding"): cells per second for one day of native files, 10 km tile,
# upper bounds (2-core machine at load 12); land cover is read once, the other products once per day of the
# model run. Memory: 350 MB measured for the tiny CI tile (max RSS 290–336 MB), plus the membership rows
# (24 B each, 3 copies while sorting) of the QC-passed observations per cell and year (SIF 96, SMOS soil
# moisture + L-VOD 128 + 114, FAPAR 19), the bilinear weights and lapse-rate terms of the forcing (≈ 100 B
# per cell) and the ≤ 6 PFT slots of the land cover (≈ 100 B per cell).
REGRID_CELLS_PER_S = {
    "forcing": 24500,
    "landcover": 70600,
    "sif": 33100,
    "smos": 40800,
    "fapar": 54300,
}
REGRID_BYTES_PER_CELL_YEAR = {
    "forcing": 100,
    "landcover": 100,
    "sif": 96 * 72,
    "smos": (128 + 114) * 72,
    "fapar": 19 * 72,
}


def regrid_mem_mb(wildcards, attempt):
    """Memory of a regrid job [MB] from the tile size, the product and the model years, × attempt; 1.5 × the
    estimate, at least 1 GB, in whole GB."""
    years = 1 if wildcards.product == "landcover" else _model_days() / 365.0
    per_cell = REGRID_BYTES_PER_CELL_YEAR[wildcards.product] * years
    estimate = 350 + _tile_pixels(wildcards) * per_cell / 1e6
    return attempt * 1000 * max(1, ceil(1.5 * estimate / 1000))


def regrid_runtime(wildcards, attempt):
    """Run time of a regrid job [minutes]: the tile's cells × days of files at the product's measured rate,
    2 × that plus 5 minutes (start-up, Zarr writes), at least 10 minutes, × attempt."""
    days = 1 if wildcards.product == "landcover" else _model_days()
    seconds = _tile_pixels(wildcards) * days / REGRID_CELLS_PER_S[wildcards.product]
    return attempt * max(10, ceil(5 + 2 * seconds / 60))


def write_tile_mem_mb(wildcards, attempt):
    """Memory of a region write [MB]: 1000 MB plus twice the tile result (read, then its store rows), × attempt,
    in whole GB."""
    estimate = 1000 + 2 * _tile_pixels(wildcards) * _tile_result_bytes_per_cell() / 1e6
    return attempt * 1000 * ceil(estimate / 1000)


# Passes over a whole region raster, one window at a time (the overview pyramid, the finalize checks): memory
# is bounded by the window (tccas.io.overviews: 2048² cells, ≈ 40 B each), run time follows the region's
# cells × 2-D maps. `tccas overviews` measured on the 2-core machine (a 4096 × 4096 store with 1000-cell
# chunks, one mean map and the status map's mode): 5.2 × 10⁶ cell-maps per second; 4 × 10⁶ is used.
REGION_CELL_MAPS_PER_S = 4e6
REGION_MAPS = sum(1 for spec in load_registry() if spec.dims == ("y", "x"))


def region_pass_mem_mb(wildcards, attempt):
    """Memory of a windowed pass over a region raster [MB]: 2000 MB whatever the region's size, × attempt."""
    return attempt * 2000


def region_pass_runtime(wildcards, attempt):
    """Run time of a windowed pass over a region raster [minutes]: its cells × 2-D maps at
    :data:`REGION_CELL_MAPS_PER_S`, 3 × that plus 10 minutes, × attempt."""
    seconds = _region_cells(wildcards) * REGION_MAPS / REGION_CELL_MAPS_PER_S
    return attempt * ceil(10 + 3 * seconds / 60)


def _known(value):
    """A resource value that is already known: a number, else None (a resource computed from input sizes
    is Snakemake's TBDString "<TBD>" while those inputs do not exist yet)."""
    return value if isinstance(value, (int, float)) else None


def check_slurm_requests():
    """The onstart hook's check, with the SLURM executor: every job that is to run must fit a node of its
    partition (CPUs, memory, time limit, from sinfo), else the run stops before submitting anything, naming
    the rule, the resource, the limit and the setting that changes it. (A request that no node can meet
    stays PENDING with Reason=PartitionConfig for ever, and Snakemake prints nothing.)
    """
    plugin = workflow.executor_plugin
    if plugin is None or not str(plugin.name).endswith("slurm"):
        return
    try:
        sinfo = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format", "%P %c %m %l"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError) as err:
        print(
            f"tccas: sinfo failed ({err}); the SLURM requests are not checked against the partitions"
        )
        return
    limits, default = parse_sinfo(sinfo)
    problems = set()
    for job in workflow.dag.needrun_jobs():
        res = job.resources
        partition = res.get("slurm_partition") or default
        problems.update(
            slurm_request_problems(
                job.rule.name,
                partition,
                job.threads,
                _known(res.get("mem_mb")),
                _known(res.get("runtime")),
                limits,
            )
        )
    if problems:
        raise WorkflowError(
            "tccas: SLURM requests that no node can meet (they would stay PENDING for ever):\n  "
            + "\n  ".join(sorted(problems))
        )


def scaled(base):
    """Attempt-scaled resource (memory in MB, runtime in minutes): `base` × attempt."""

    def resource(wildcards, attempt):
        return base * attempt

    return resource


# Job priorities on a machine with fewer cores than ready jobs: the solver's compilation first (every tile
# waits for it), then the inputs (ingest, regrid: their errors surface in the first minutes, and they run on
# the core the solver's compilation leaves free), then a tile's assimilation when its cores are free, then
# the scenario's compilation (needed only after the assimilation); the rest at 0. Snakemake fills a core as
# soon as it is free, so on 2 cores the scenario's compilation usually starts on the core the last input job
# leaves, and the first tile job waits for it.
PRIORITY = {"solver": 10, "inputs": 5, "assimilate": 2, "scenario": 1}


def program_priority(wildcards):
    """Priority of a precompile job: that of its program in :data:`PRIORITY`."""
    return PRIORITY[wildcards.program]


# The same order on SLURM, where Snakemake's priorities only order the submissions: every job but the
# solver's compilation is submitted with a SLURM nice value (`slurm_extra`), 100 per step below the solver's
# priority, so that the compilation every tile job waits for starts first on a busy partition instead of
# queueing behind ingest, regrid and store jobs (a user may only lower the priority of their own jobs).
NICE_PER_PRIORITY = 100


def _nice(priority):
    return f"--nice={NICE_PER_PRIORITY * (PRIORITY['solver'] - priority)}"


def slurm_nice(key=None):
    """The `slurm_extra` resource for a priority of PRIORITY[key], or priority 0 when key is None."""
    return _nice(PRIORITY[key] if key else 0)


def program_nice(wildcards):
    """The `slurm_extra` resource of a precompile job: the nice value of its program (0 for the solver)."""
    return _nice(PRIORITY[wildcards.program])


def regridded_inputs(wildcards):
    """The regridded products of one tile, named by product (the assimilate_tile inputs)."""
    return {
        product: f"{RESULTS}/regrid/{wildcards.region}/{wildcards.tile}/{product}.zarr"
        for product in PRODUCTS
    }


def tile_sentinels(wildcards):
    """The write_tile sentinels of every planned tile of a region."""
    return [
        f"{RESULTS}/maps/{wildcards.region}.sentinels/{tile}.json"
        for tile in TILES[wildcards.region]
    ]


# Target functions of the default target; later includes (e.g. scenario.smk) append their own.
TARGET_FUNCTIONS = []


def core_targets():
    """Finalized stores (summaries), quick-looks and the convergence table of every configured region."""
    targets = [f"{RESULTS}/report/convergence.html"]
    for region in config["regions"]:
        targets.append(f"{RESULTS}/maps/{region}.summary.json")
        targets.append(f"{RESULTS}/quicklook/{region}")
    return targets


TARGET_FUNCTIONS.append(core_targets)


def scenario_inputs(wildcards):
    """Finalized region store (its summary) and the per-tile scenario results of every planned tile."""
    region = wildcards.region
    return {
        "summary": f"{RESULTS}/maps/{region}.summary.json",
        "tiles": [f"{RESULTS}/scenario/{region}/{tile}.zarr" for tile in TILES[region]],
    }


def intervention_mem_mb(wildcards, attempt):
    """Memory of an intervention tile job [MB]: that of the tile's assimilation job (the same tile problem,
    one compiled program per worker; the stored batches stay on disk), × attempt."""
    return assimilate_mem_mb(wildcards, attempt)


# The scenario of one grass pixel: 2.62 s for a 5-year horizon after a 1-year window on one core
# (benchmarks/README.md, "The scenario program is shared"), i.e. per model year of window and horizon.
SCENARIO_S_PER_PIXEL_YEAR = 2.62 / 6


def intervention_runtime(wildcards, attempt):
    """Run time of an intervention tile job [minutes], × attempt: :data:`SCENARIO_S_PER_PIXEL_YEAR` × the
    model years (window, spin-up and horizon) for every cell of the tile (as if all had a grass tile: an
    upper bound), shared by dask.n_workers workers; 3 × that plus 10 minutes, at least 30 minutes.
    """
    years = _model_days() / 365 + config["scenario"]["horizon_years"]
    seconds = _tile_pixels(wildcards) * SCENARIO_S_PER_PIXEL_YEAR * years
    minutes = seconds / config["dask"]["n_workers"] / 60
    return attempt * max(30, ceil(10 + 3 * minutes))


def scenario_targets():
    """Scenario sentinels and quick-look folders of every configured region (empty when disabled)."""
    if not config["scenario"]["enabled"]:
        return []
    targets = []
    for region in config["regions"]:
        targets.append(f"{RESULTS}/maps/{region}.sentinels/scenario.json")
        targets.append(f"{RESULTS}/quicklook/scenario/{region}")
    return targets


TARGET_FUNCTIONS.append(scenario_targets)


def final_products(wildcards):
    """Inputs of the default target: the union of the registered target functions."""
    return [target for function in TARGET_FUNCTIONS for target in function()]
