# Build the run's batched JAX programs once, before the tile jobs (tccas.pipeline.precompile): one
# single-threaded job per program; the solver's starts first (PRIORITY in common.smk) so that it runs beside
# the ingest and regrid jobs instead of inside the first tile job, whose other workers would wait for it. The sentinels are
# `ancient` inputs of the jobs that use the programs: they order the jobs, but rebuilding a program does not
# make those jobs' results out of date.


rule precompile:
    output:
        f"{RESULTS}/programs/{{program}}.json",
    log:
        "logs/precompile/{program}.log",
    benchmark:
        "benchmarks/logs/precompile/{program}.tsv"
    priority: program_priority
    conda:
        "../../envs/tccas.yaml"
    threads: 1
    resources:
        mem_mb=scaled(6000),
        runtime=scaled(60),
    params:
        config=CONFIG_FILE,
    shell:
        "tccas precompile --config {params.config} --program {wildcards.program} "
        "--sentinel {output} > {log} 2>&1"
