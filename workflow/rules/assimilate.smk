# Assimilate one tile: a Dask LocalCluster (process workers, one thread each) inside the job runs the
# vmapped per-pixel solver over fixed-size padded batches. `threads` = Dask workers; set dask.scheduler_address
# in the config to use an existing (e.g. dask-jobqueue) cluster instead (the job then asks for one CPU). Memory and run time follow the
# config and the tile size (common.smk: assimilate_mem_mb, assimilate_runtime).


rule assimilate_tile:
    input:
        unpack(regridded_inputs),
        program=f"{RESULTS}/programs/solver.json",
    output:
        directory(f"{RESULTS}/assimilate/{{region}}/{{tile}}.zarr"),
    log:
        main="logs/assimilate/{region}/{tile}.log",
        dask="logs/assimilate/{region}/{tile}.dask-report.html",
    benchmark:
        "benchmarks/logs/assimilate/{region}/{tile}.tsv"
    priority: PRIORITY["assimilate"]
    conda:
        "../../envs/tccas.yaml"
    threads: assimilate_threads
    resources:
        mem_mb=assimilate_mem_mb,
        runtime=assimilate_runtime,
        slurm_extra=slurm_nice("assimilate"),
    params:
        config=CONFIG_PATH,
        settings=rule_settings("assimilate_tile"),
    shell:
        "tccas assimilate-tile --config {params.config} --region {wildcards.region} "
        "--tile {wildcards.tile} --output {output} --workers {threads} "
        "--performance-report {log.dask} > {log.main} 2>&1"
