# tccas site mode: the D&B model at flux towers, one chain of `tccas site` stages per configured site.
#
#   snakemake -s workflow/sites.smk --cores 2                                   # config/sites.yaml
#   snakemake -s workflow/sites.smk --cores 2 --configfile my_sites.yaml        # another site config
#
# Outputs (output_dir, default results/sites), per site:
#   {site}/spinup.nc       spin-up diagnostics of the prior (pools per pass, drift per year)
#   {site}/prior.nc        prior run over the whole record (daily, units on every variable)
#   {site}/fit.nc          posterior controls of the calibration years (x, σ, covariance, solver status)
#   {site}/posterior.nc    posterior run over the whole record with daily σ
#   {site}/skill.csv, .md  skill of prior and posterior, calibration and validation years
#   {site}/report.md       the site's report page; figures/{site}.png; callmip/*.nc (CalLMIP Phase 1 files)
# and, with the target `calibrate`, calibration/prior_parameters.yaml and calibration/controls.csv.
from tccas.site import load_sites_config

SITES_CONFIG = workflow.configfiles[-1] if workflow.configfiles else "config/sites.yaml"
CFG = load_sites_config(SITES_CONFIG)
OUT = CFG["output_dir"]


wildcard_constraints:
    site="|".join(CFG["sites"]),


rule sites:
    default_target: True
    input:
        expand(f"{OUT}/{{site}}/report.md", site=CFG["sites"]),


rule site_spinup:
    output:
        f"{OUT}/{{site}}/spinup.nc",
    log:
        f"logs/sites/{{site}}/spinup.log",
    shell:
        "tccas -v site spinup --config {SITES_CONFIG} --site {wildcards.site} --out {output} > {log} 2>&1"


rule site_prior:
    output:
        f"{OUT}/{{site}}/prior.nc",
    log:
        f"logs/sites/{{site}}/prior.log",
    shell:
        "tccas -v site prior --config {SITES_CONFIG} --site {wildcards.site} --out {output} > {log} 2>&1"


rule site_assimilate:
    output:
        f"{OUT}/{{site}}/fit.nc",
    log:
        f"logs/sites/{{site}}/assimilate.log",
    shell:
        "tccas -v site assimilate --config {SITES_CONFIG} --site {wildcards.site} --out {output} "
        "> {log} 2>&1"


rule site_posterior:
    input:
        fit=f"{OUT}/{{site}}/fit.nc",
    output:
        f"{OUT}/{{site}}/posterior.nc",
    log:
        f"logs/sites/{{site}}/posterior.log",
    shell:
        "tccas -v site posterior --config {SITES_CONFIG} --site {wildcards.site} --fit {input.fit} "
        "--out {output} > {log} 2>&1"


rule site_validate:
    input:
        prior=f"{OUT}/{{site}}/prior.nc",
        posterior=f"{OUT}/{{site}}/posterior.nc",
    output:
        csv=f"{OUT}/{{site}}/skill.csv",
        md=f"{OUT}/{{site}}/skill.md",
    log:
        f"logs/sites/{{site}}/validate.log",
    shell:
        "tccas -v site validate --config {SITES_CONFIG} --site {wildcards.site} --prior {input.prior} "
        "--posterior {input.posterior} --out {output.csv} --markdown {output.md} > {log} 2>&1"


rule site_report:
    input:
        spinup=f"{OUT}/{{site}}/spinup.nc",
        prior=f"{OUT}/{{site}}/prior.nc",
        posterior=f"{OUT}/{{site}}/posterior.nc",
        fit=f"{OUT}/{{site}}/fit.nc",
        skill=f"{OUT}/{{site}}/skill.csv",
    output:
        f"{OUT}/{{site}}/report.md",
    log:
        f"logs/sites/{{site}}/report.log",
    shell:
        "tccas -v site report --config {SITES_CONFIG} --site {wildcards.site} --prior {input.prior} "
        "--posterior {input.posterior} --fit {input.fit} --skill {input.skill} --out {output} > {log} 2>&1"


# Joint multi-site calibration of the PFT-level parameters (not in the default target: ~20 min on 2 cores),
# always from the TCCAS demo priors (TCCAS_PRIORS=tccas_demo) so that it reproduces the packaged prior file:
#   snakemake -s workflow/sites.smk --cores 2 calibrate
# Copy calibration/prior_parameters.yaml to src/tccas/data/priors/dnb_calibrated.yaml to make it the default.
rule calibrate:
    output:
        prior=f"{OUT}/calibration/prior_parameters.yaml",
        table=f"{OUT}/calibration/controls.csv",
    log:
        "logs/sites/calibrate.log",
    shell:
        "TCCAS_PRIORS=tccas_demo tccas -v site calibrate --config {SITES_CONFIG} --out {output.prior} "
        "--table {output.table} > {log} 2>&1"


# The validation table of all sites (docs/validation/site_skill.csv and .md), from their skill tables.
#   snakemake -s workflow/sites.smk --cores 2 validation_table
rule validation_table:
    input:
        expand(f"{OUT}/{{site}}/skill.csv", site=CFG["sites"]),
    output:
        csv=CFG["validation"]["csv"],
        md=CFG["validation"]["markdown"],
    log:
        "logs/sites/validation_table.log",
    shell:
        "tccas -v site validation-table --config {SITES_CONFIG} --skill {input} --out {output.csv} "
        "--markdown {output.md} > {log} 2>&1"
