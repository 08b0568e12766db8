# Intervention scenario (obs_da_spec §8): grass converted to trees, extra carbon uptake over the horizon with
# its posterior and prior uncertainty. One job per region: reads the per-tile assimilation results and
# regridded inputs, writes the `scenario` group of the finalized region store, effect quick-looks and the
# time-series panels of the region's first configured point. Gated by config["scenario"]["enabled"].


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


rule intervention:
    input:
        unpack(scenario_inputs),
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
    params:
        config=CONFIG_FILE,
        store=f"{RESULTS}/maps/{{region}}.zarr",
    shell:
        "tccas intervention --config {params.config} --region {wildcards.region} "
        "--store {params.store} --out {output.sentinel} --quicklook-dir {output.quicklook} "
        "--workers {threads} --performance-report {log.dask} > {log.main} 2>&1"
