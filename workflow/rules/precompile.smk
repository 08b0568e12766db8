# Build the run's batched JAX programs once, before the tile jobs (tccas.pipeline.precompile): one
# single-threaded job per program; the solver's starts first (PRIORITY in common.smk) so that it runs beside
# the ingest and regrid jobs instead of inside the first tile job, whose other workers would wait for it. A
# program is rebuilt when the settings it is built from change (RULE_SETTINGS in common.smk: those of the
# jobs that use it), and then those jobs rerun too. (Its sentinel is not an `ancient` input: Snakemake 9
# skips the settings check of a job downstream of a rerunning job through an ancient input.)


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
        slurm_extra=program_nice,
    params:
        config=CONFIG_PATH,
        settings=rule_settings("precompile"),
    shell:
        "tccas precompile --config {params.config} --program {wildcards.program} "
        "--sentinel {output} > {log} 2>&1"
