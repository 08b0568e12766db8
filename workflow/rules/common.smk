# Helper functions of the workflow (no rules here): configuration file, tile planning, paths, resources
# and the target list. Imported before the rule files by the root Snakefile.
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from tccas.config import ConfigError, check_consistency, planned_tiles
from tccas.grid import REGIONS


def run_config_file():
    """The config file passed to every `tccas` subcommand: the last --configfile (or config/config.yaml).

    The subcommands read that file, so the effective Snakemake config must equal it (both validated with
    defaults by the same schema): command-line `--config` overrides or merged config files are refused with
    an explanation instead of silently diverging.
    """
    path = workflow.configfiles[-1] if workflow.configfiles else "config/config.yaml"
    with open(path) as handle:
        file_config = yaml.safe_load(handle) or {}
    validate(file_config, schema="../schemas/config.schema.yaml", set_default=True)
    try:
        check_consistency(config, source=path)
    except ConfigError as err:
        raise WorkflowError(str(err))
    if file_config != config:
        raise WorkflowError(
            f"the effective config differs from {path} (merged config files or --config overrides); put the "
            "whole configuration in one file and run with --configfile FILE --replace-workflow-config"
        )
    return path


CONFIG_FILE = run_config_file()
RESOURCES = config["data"]["root"]
RESULTS = config["outputs"]["root"]
PRODUCTS = ["forcing", "landcover", "fapar", "sif", "smos"]
TILES = {
    region: [t.name for t in planned_tiles(config, region)]
    for region in config["regions"]
}
TILE_PATTERN = r"\d+kmE\d+N\d+"


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
    """Finalized region store, per-tile assimilation results and regridded inputs of every planned tile."""
    region = wildcards.region
    inputs = {
        "summary": f"{RESULTS}/maps/{region}.summary.json",
        "results": [
            f"{RESULTS}/assimilate/{region}/{tile}.zarr" for tile in TILES[region]
        ],
    }
    for product in PRODUCTS:
        inputs[product] = [
            f"{RESULTS}/regrid/{region}/{tile}/{product}.zarr" for tile in TILES[region]
        ]
    return inputs


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
