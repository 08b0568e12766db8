# Intervention scenario (obs_da_spec §8): grass converted to trees, extra carbon uptake over the horizon with
# its posterior and prior uncertainty. One job per tile, like the assimilation (the vmapped scenario over the
# tile's grass pixels on a Dask LocalCluster; resumable, memory bounded by the batch and the I/O block), then
# one job per region that copies the tiles into the `scenario` group of the finalized region store and
# draws the effect quick-looks and the time-series panels of the region's first configured point. Gated by
# config["scenario"]["enabled"]; input, target and resource functions live in common.smk.


rule intervention_tile:
    input:
        unpack(regridded_inputs),
        result=f"{RESULTS}/assimilate/{{region}}/{{tile}}.zarr",
        program=f"{RESULTS}/programs/scenario.json",
    output:
        directory(f"{RESULTS}/scenario/{{region}}/{{tile}}.zarr"),
    log:
        main="logs/scenario/{region}/{tile}.log",
        dask="logs/scenario/{region}/{tile}.dask-report.html",
    benchmark:
        "benchmarks/logs/scenario/{region}/{tile}.tsv"
    priority: PRIORITY["scenario"]
    conda:
        "../../envs/tccas.yaml"
    threads: assimilate_threads
    resources:
        mem_mb=intervention_mem_mb,
        runtime=intervention_runtime,
        slurm_extra=slurm_nice("scenario"),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("intervention_tile"),
    shell:
        "tccas intervention-tile --config {params.config} --region {wildcards.region} "
        "--tile {wildcards.tile} --output {output} --workers {threads} "
        "--performance-report {log.dask} > {log.main} 2>&1"


rule intervention:
    input:
        unpack(scenario_inputs),
    output:
        sentinel=f"{RESULTS}/maps/{{region}}.sentinels/scenario.json",
        overviews=directory(f"{RESULTS}/maps/{{region}}.scenario.overviews.zarr"),
        quicklook=report(
            directory(f"{RESULTS}/quicklook/scenario/{{region}}"),
            patterns=["{name}.png"],
            caption="../report/quicklook.rst",
            category="Intervention scenario",
            subcategory="{region}",
            labels={"region": "{region}", "variable": "{name}"},
        ),
    log:
        "logs/scenario/{region}/intervention.log",
    benchmark:
        "benchmarks/logs/scenario/{region}/intervention.tsv"
    conda:
        "../../envs/tccas.yaml"
    resources:
        mem_mb=region_pass_mem_mb,
        runtime=region_pass_runtime,
        slurm_extra=slurm_nice(),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("intervention"),
        store=f"{RESULTS}/maps/{{region}}.zarr",
    shell:
        "tccas intervention --config {params.config} --region {wildcards.region} "
        "--store {params.store} --out {output.sentinel} --overviews {output.overviews} "
        "--quicklook-dir {output.quicklook} > {log} 2>&1"
