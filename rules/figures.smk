# The thesis's figures regenerated. Each figure rule reads only the runs it
# shows, so changing one experiment re-draws only the figures that show it.
# What each figure shows, its title and its caption: rules/common.smk reads
# them from workflow_scripts/figures/catalogue.py.


rule figure_error_by_size:
    input:
        metrics=figure_run_files(rules.stratum_metrics.output.by_size),
    output:
        figure=reported_figure(),
        values=figure_values_file("{figure}"),
    log:
        f"{LOGS}/figures/{{figure}}.log",
    benchmark:
        f"{BENCH}/figures/{{figure}}.tsv"
    wildcard_constraints:
        figure="|".join(figure_names("error_by_size")),
    conda:
        "../envs/qm9.yaml"
    params:
        runs=figure_runs(),
        experiments=figure_fact("experiments"),
        title=figure_fact("title"),
        captions=figure_facts("caption", figure="{figure}"),
        frequent_bin_fraction=config["analysis"]["frequent_bin_fraction"],
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_error_by_size.py"


rule figure_error_by_element:
    input:
        metrics=figure_run_files(
            rules.stratum_metrics.output.by_element, ERROR_BY_ELEMENT
        ),
    output:
        figure=reported_figure(ERROR_BY_ELEMENT),
        values=figure_values_file(ERROR_BY_ELEMENT),
    log:
        f"{LOGS}/figures/{ERROR_BY_ELEMENT}.log",
    benchmark:
        f"{BENCH}/figures/{ERROR_BY_ELEMENT}.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        runs=figure_runs(ERROR_BY_ELEMENT),
        experiments=figure_fact("experiments", ERROR_BY_ELEMENT),
        title=figure_fact("title", ERROR_BY_ELEMENT),
        captions=figure_facts("caption", figure=ERROR_BY_ELEMENT),
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_error_by_element.py"


rule figure_subset_histogram:
    input:
        subset=SUBSET_SIZE_COUNTS.format(subset=CAPPED_SUBSET),
        # the baseline trains on the whole training set
        pool=SUBSET_SIZE_COUNTS.format(subset=EXPERIMENTS[BASELINE]["subset"]),
    output:
        figure=reported_figure(SUBSET_HISTOGRAM),
        values=figure_values_file(SUBSET_HISTOGRAM),
    log:
        f"{LOGS}/figures/{SUBSET_HISTOGRAM}.log",
    benchmark:
        f"{BENCH}/figures/{SUBSET_HISTOGRAM}.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        subset=CAPPED_SUBSET,
        title=figure_fact("title", SUBSET_HISTOGRAM),
        captions=figure_facts("caption", figure=SUBSET_HISTOGRAM),
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_subset_histogram.py"


rule figure_weight_factors:
    output:
        figure=reported_figure(WEIGHT_FACTORS),
        values=figure_values_file(WEIGHT_FACTORS),
    log:
        f"{LOGS}/figures/{WEIGHT_FACTORS}.log",
    benchmark:
        f"{BENCH}/figures/{WEIGHT_FACTORS}.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        rates=LOSS_RATES,
        title=figure_fact("title", WEIGHT_FACTORS),
        captions=figure_facts("caption", figure=WEIGHT_FACTORS),
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_weight_factors.py"


rule figure_learning_curves:
    input:
        train_log=rules.train.output.train_log,
        val_log=rules.train.output.val_log,
    output:
        linear=reported_figure(learning_curves_figure("linear"), "linear"),
        log=reported_figure(learning_curves_figure("log"), "log"),
        values=figure_values_file(catalogue.LEARNING_CURVES_RUN),
    log:
        f"{LOGS}/figures/{catalogue.LEARNING_CURVES_RUN}.log",
    benchmark:
        f"{BENCH}/figures/{catalogue.LEARNING_CURVES_RUN}.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        weighted=lambda w: EXPERIMENTS[w.experiment]["loss"]["weighting"] != "none",
        titles=figure_facts(
            "title",
            linear=learning_curves_figure("linear"),
            log=learning_curves_figure("log"),
        ),
        captions=figure_facts(
            "caption",
            linear=learning_curves_figure("linear"),
            log=learning_curves_figure("log"),
        ),
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_learning_curves.py"


rule figure_data_size:
    input:
        table=rules.learning_curve.output.learning_curve,
    output:
        figure=reported_figure(LEARNING_CURVE_FIGURE),
        values=figure_values_file(LEARNING_CURVE_FIGURE),
    log:
        f"{LOGS}/figures/{LEARNING_CURVE_FIGURE}.log",
    benchmark:
        f"{BENCH}/figures/{LEARNING_CURVE_FIGURE}.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        title=figure_fact("title", LEARNING_CURVE_FIGURE),
        captions=figure_facts("caption", figure=LEARNING_CURVE_FIGURE),
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_data_size.py"


rule figure_overview:
    input:
        overall=rules.study_tables.output.overall,
    output:
        figure=reported_figure(OVERVIEW),
        values=figure_values_file(OVERVIEW),
    log:
        f"{LOGS}/figures/{OVERVIEW}.log",
    benchmark:
        f"{BENCH}/figures/{OVERVIEW}.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        experiments=figure_fact("experiments", OVERVIEW),
        # bars coloured by the part of the study each experiment belongs to
        parts={n: e["part"] for n, e in EXPERIMENTS.items()},
        title=figure_fact("title", OVERVIEW),
        captions=figure_facts("caption", figure=OVERVIEW),
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_overview.py"
