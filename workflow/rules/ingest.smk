# Inputs per region: with data.source = synthetic, `tccas make-demo-data` writes native-format demo files
# (and the truth they were drawn from) under data.root/{region}/ with a manifest; with data.source = files the
# user provides data.root/{region}/manifest.yaml and the files it lists. A checkpoint: the regrid jobs take
# the files the manifest lists as inputs (common.smk: product_inputs), so replacing one reruns its regrid.


if config["data"]["source"] == "synthetic":

    checkpoint make_demo_data:
        output:
            manifest=f"{RESOURCES}/{{region}}/manifest.yaml",
        log:
            "logs/ingest/{region}.log",
        benchmark:
            "benchmarks/logs/ingest/{region}.tsv"
        priority: PRIORITY["inputs"]
        conda:
            "../../envs/tccas.yaml"
        threads: 1
        resources:
            mem_mb=scaled(4000),
            runtime=scaled(30),
            slurm_extra=slurm_nice("inputs"),
        params:
            config=CONFIG_PATH,
            settings=rule_settings("make_demo_data"),
        shell:
            "tccas make-demo-data --config {params.config} --region {wildcards.region} > {log} 2>&1"
