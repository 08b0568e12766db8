# tccas: regional D&B land-carbon assimilation on the EEA 100 m grid (EPSG:3035).
#
# Entry point only: config, validation, includes and the target rule. Rules live in workflow/rules/*.smk
# (one rule = one `tccas` subcommand = one tccas.pipeline function); helpers in workflow/rules/common.smk.
#
# Outputs (outputs.root, default results/):
#   regrid/{region}/{tile}/{product}.zarr     regridded inputs per tile and product
#   programs/{program}.json                   sentinels of the precompiled JAX programs (solver, scenario)
#   assimilate/{region}/{tile}.zarr           per-tile assimilation result (float64, daily series)
#   maps/{region}.zarr                        region map store (Zarr v3, CF + GeoZarr), template-first
#   maps/{region}.sentinels/*.json            template and per-tile sentinels
#   maps/{region}.summary.json                finalize summary (per-tile convergence)
#   maps/{region}.overviews.zarr              overview pyramid of the 2-D maps (GeoZarr multiscales)
#   quicklook/{region}/*.png                  quick-look maps (from the overviews)
#   report/convergence.html                   per-tile convergence table (in `snakemake --report`)
#
# Config: the file given with --configfile (run with --replace-workflow-config), else config/config.yaml;
# read and validated by tccas itself (common.smk: run_config_file), with the messages of
# `tccas validate-config`.
from snakemake.utils import min_version

min_version("9.0")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


wildcard_constraints:
    region="|".join(REGIONS),
    tile=TILE_PATTERN,
    product="|".join(PRODUCTS),
    program="solver|scenario",


include: "workflow/rules/ingest.smk"
include: "workflow/rules/regrid.smk"
include: "workflow/rules/precompile.smk"
include: "workflow/rules/assimilate.smk"
include: "workflow/rules/products.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/scenario.smk"


onstart:
    check_slurm_requests()


onerror:
    print(RECOVERY_HINT)


rule all:
    default_target: True
    input:
        final_products,
