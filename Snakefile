# The QM9 study workflow: SchNet on U0 (or any QM9 property, config target, and
# SchNetPack representation), error by molecule size and element.
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
include: "rules/cross_study.smk"


# On a cluster these run in the Snakemake process instead of as SLURM jobs:
# each takes seconds to a minute and little memory, far less than a wait in
# the queue (thesis scale: 63 stratum_metrics alone). Submitted remain the
# trainings, the two stores of the pool (all of QM9's molecules) and
# qm9_metadata, which reads every QM9 molecule. download_figshare is local
# because compute nodes often cannot reach the internet; linear_reference is
# a least-squares fit of five coefficients.
localrules:
    all,
    predict,
    download_figshare,
    split,
    subset,
    dataset_counts,
    plot_dataset,
    linear_reference,
    reuse_training,
    stratum_metrics,
    study_tables,
    learning_curve,
    hypothesis_verdicts,
    figure_error_by_size,
    figure_error_by_element,
    figure_subset_histogram,
    figure_weight_factors,
    figure_learning_curves,
    figure_data_size,
    figure_overview,
    predict_molecules,
    report,
    cross_study,


rule all:
    default_target: True
    input:
        rules.qm9_metadata.output.table,
        analysis_outputs(),
        rules.report.output.report,


# The study's target for your own molecules (config predict): snakemake --cores 2 predict
rule predict:
    input:
        f"{RESULTS}/predict/{PREDICT_RUN}/predictions.csv",
