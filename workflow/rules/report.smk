# Report material: the per-tile convergence table of all regions (`snakemake --report report.html`).


rule tabulate_convergence:
    input:
        expand(f"{RESULTS}/maps/{{region}}.summary.json", region=config["regions"]),
    output:
        report(
            f"{RESULTS}/report/convergence.html",
            caption="../report/convergence.rst",
            category="Convergence",
        ),
    log:
        "logs/report/tabulate_convergence.log",
    benchmark:
        "benchmarks/logs/report/tabulate_convergence.tsv"
    conda:
        "../../envs/tccas.yaml"
    threads: 1
    resources:
        mem_mb=scaled(1000),
        runtime=scaled(5),
        slurm_extra=slurm_nice(),
    shell:
        "tccas report-table --summaries {input} --output {output} > {log} 2>&1"
