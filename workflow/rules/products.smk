# Region map store: template first, one region write per tile (sentinel), finalize, the overview pyramid
# (tccas.io.overviews) and the quick-looks drawn from it. init_store and write_tile remove the region's
# summary before touching the store (it is no longer final), so a killed write is redone: Snakemake alone
# would keep the summary and skip the missing tile sentinel.


rule init_store:
    output:
        f"{RESULTS}/maps/{{region}}.sentinels/template.json",
    log:
        "logs/products/{region}/init_store.log",
    benchmark:
        "benchmarks/logs/products/{region}/init_store.tsv"
    conda:
        "../../envs/tccas.yaml"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(10),
        slurm_extra=slurm_nice(),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("init_store"),
        store=f"{RESULTS}/maps/{{region}}.zarr",
        summary=f"{RESULTS}/maps/{{region}}.summary.json",
    shell:
        "tccas init-store --config {params.config} --region {wildcards.region} "
        "--store {params.store} --sentinel {output} --overwrite --summary {params.summary} > {log} 2>&1"


rule write_tile:
    input:
        result=f"{RESULTS}/assimilate/{{region}}/{{tile}}.zarr",
        template=f"{RESULTS}/maps/{{region}}.sentinels/template.json",
    output:
        f"{RESULTS}/maps/{{region}}.sentinels/{{tile}}.json",
    log:
        "logs/products/{region}/write_tile_{tile}.log",
    benchmark:
        "benchmarks/logs/products/{region}/write_tile_{tile}.tsv"
    conda:
        "../../envs/tccas.yaml"
    threads: 1
    resources:
        mem_mb=write_tile_mem_mb,
        runtime=scaled(20),
        slurm_extra=slurm_nice(),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("write_tile"),
        store=f"{RESULTS}/maps/{{region}}.zarr",
        summary=f"{RESULTS}/maps/{{region}}.summary.json",
    shell:
        "tccas write-tile --config {params.config} --region {wildcards.region} --tile {wildcards.tile} "
        "--result {input.result} --store {params.store} --sentinel {output} --summary {params.summary} "
        "> {log} 2>&1"


rule finalize_store:
    input:
        tile_sentinels,
    output:
        f"{RESULTS}/maps/{{region}}.summary.json",
    log:
        "logs/products/{region}/finalize_store.log",
    benchmark:
        "benchmarks/logs/products/{region}/finalize_store.tsv"
    conda:
        "../../envs/tccas.yaml"
    threads: 1
    resources:
        mem_mb=scaled(4000),
        runtime=region_pass_runtime,
        slurm_extra=slurm_nice(),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("finalize_store"),
        store=f"{RESULTS}/maps/{{region}}.zarr",
    shell:
        "tccas finalize-store --config {params.config} --region {wildcards.region} "
        "--store {params.store} --sentinels {input} --summary {output} > {log} 2>&1"


rule overviews:
    input:
        f"{RESULTS}/maps/{{region}}.summary.json",
    output:
        directory(f"{RESULTS}/maps/{{region}}.overviews.zarr"),
    log:
        "logs/products/{region}/overviews.log",
    benchmark:
        "benchmarks/logs/products/{region}/overviews.tsv"
    conda:
        "../../envs/tccas.yaml"
    threads: 1
    resources:
        mem_mb=region_pass_mem_mb,
        runtime=region_pass_runtime,
        slurm_extra=slurm_nice(),
    params:
        store=f"{RESULTS}/maps/{{region}}.zarr",
    shell:
        "tccas overviews --store {params.store} --output {output} > {log} 2>&1"


rule quicklook:
    input:
        f"{RESULTS}/maps/{{region}}.overviews.zarr",
    output:
        report(
            directory(f"{RESULTS}/quicklook/{{region}}"),
            patterns=["{name}.png"],
            caption="../report/quicklook.rst",
            category="Posterior maps",
            subcategory="{region}",
            labels={"region": "{region}", "variable": "{name}"},
        ),
    log:
        "logs/products/{region}/quicklook.log",
    benchmark:
        "benchmarks/logs/products/{region}/quicklook.tsv"
    conda:
        "../../envs/tccas.yaml"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(20),
        slurm_extra=slurm_nice(),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("quicklook"),
    shell:
        "tccas quicklook --config {params.config} --region {wildcards.region} "
        "--overviews {input} --outdir {output} > {log} 2>&1"
