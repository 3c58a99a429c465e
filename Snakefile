# The QM9 study workflow: SchNet on U0, error by molecule size and element.
# Rules read like the study's table of contents; their logic lives in
# workflow_scripts/. Run: snakemake --cores 8   (dry run: snakemake -n)

import os

from snakemake.utils import min_version

min_version("9.0")


# Relative to this file, so that --directory elsewhere still finds the study.
configfile: os.path.join(workflow.basedir, "config.yaml")


# Snakemake's own report of the results: snakemake --report report.html
report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/analysis.smk"
include: "rules/training.smk"
include: "rules/evaluation.smk"
include: "rules/figures.smk"
include: "rules/report.smk"
include: "rules/predict.smk"


rule all:
    default_target: True
    input:
        rules.qm9_metadata.output.table,
        analysis_outputs(),
        rules.report.output.report,


# U0 of your own molecules (config predict): snakemake --cores 2 predict
rule predict:
    input:
        f"{RESULTS}/predict/{PREDICT_RUN}/predictions.csv",
