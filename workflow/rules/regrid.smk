# Regrid one product onto one tile's 100 m EPSG:3035 grid (forcing: bilinear + lapse rate; land cover: PFT
# fractions; FAPAR/SIF/SMOS: observations at native footprints with membership tables, data_formats §7).


rule regrid_product:
    input:
        manifest=f"{RESOURCES}/{{region}}/manifest.yaml",
    output:
        directory(f"{RESULTS}/regrid/{{region}}/{{tile}}/{{product}}.zarr"),
    log:
        "logs/regrid/{region}/{tile}/{product}.log",
    benchmark:
        "benchmarks/logs/regrid/{region}/{tile}/{product}.tsv"
    priority: PRIORITY["inputs"]
    conda:
        "../../envs/tccas.yaml"
    threads: 1
    resources:
        mem_mb=scaled(4000),
        runtime=scaled(60),
    params:
        config=CONFIG_FILE,
    shell:
        "tccas regrid --config {params.config} --region {wildcards.region} --tile {wildcards.tile} "
        "--product {wildcards.product} --out {output} > {log} 2>&1"
