# Intervention scenario (obs_da_spec §8): grass converted to trees, extra carbon uptake over the horizon with
# its posterior and prior uncertainty. One job per region: reads the per-tile assimilation results and
# regridded inputs, writes the `scenario` group of the finalized region store, effect quick-looks and the
# time-series panels of the region's first configured point. Gated by config["scenario"]["enabled"];
# its input and target functions live in common.smk.


rule intervention:
    input:
        unpack(scenario_inputs),
        program=f"{RESULTS}/programs/scenario.json",
    output:
        sentinel=f"{RESULTS}/maps/{{region}}.sentinels/scenario.json",
        quicklook=report(
            directory(f"{RESULTS}/quicklook/scenario/{{region}}"),
            patterns=["{name}.png"],
            caption="../report/quicklook.rst",
            category="Intervention scenario",
            subcategory="{region}",
            labels={"region": "{region}", "variable": "{name}"},
        ),
    log:
        main="logs/scenario/{region}/intervention.log",
        dask="logs/scenario/{region}/intervention.dask-report.html",
    benchmark:
        "benchmarks/logs/scenario/{region}/intervention.tsv"
    conda:
        "../../envs/tccas.yaml"
    threads: config["dask"]["n_workers"]
    resources:
        mem_mb=scaled(8000),
        runtime=scaled(120),
        slurm_extra=slurm_nice(),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("intervention"),
        store=f"{RESULTS}/maps/{{region}}.zarr",
    shell:
        "tccas intervention --config {params.config} --region {wildcards.region} "
        "--store {params.store} --out {output.sentinel} --quicklook-dir {output.quicklook} "
        "--workers {threads} --performance-report {log.dask} > {log.main} 2>&1"
