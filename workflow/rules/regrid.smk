# Regrid one product onto one tile's 100 m EPSG:3035 grid (forcing: bilinear + lapse rate; land cover: PFT
# fractions; FAPAR/SIF/SMOS: observations at native footprints with membership tables, data_formats §7).
# Inputs: the manifest and the product files it lists; a replaced product file reruns the job (product_stamp).


rule regrid_product:
    input:
        unpack(product_inputs),
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
        mem_mb=regrid_mem_mb,
        runtime=regrid_runtime,
        slurm_extra=slurm_nice("inputs"),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("regrid_product"),
        inputs=product_stamp,
    shell:
        "tccas regrid --config {params.config} --region {wildcards.region} --tile {wildcards.tile} "
        "--product {wildcards.product} --out {output} > {log} 2>&1"
