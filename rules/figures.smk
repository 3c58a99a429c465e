# The thesis's figures regenerated. Each figure rule reads only the runs it
# shows, so changing one experiment re-draws only the figures that show it.


rule figure_error_by_size:
    input:
        metrics=by_size_figure_inputs,
    output:
        figure=f"{FIGURES}/{{figure}}.png",
    log:
        f"{LOGS}/figures/{{figure}}.log",
    benchmark:
        f"{BENCH}/figures/{{figure}}.tsv"
    wildcard_constraints:
        figure="|".join(BY_SIZE_FIGURES),
    conda:
        "../envs/qm9.yaml"
    params:
        title=lambda w: BY_SIZE_FIGURES[w.figure][0],
        experiments=lambda w: BY_SIZE_FIGURES[w.figure][1],
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_error_by_size.py"


rule figure_error_by_element:
    input:
        metrics=run_files(f"{RUN}/metrics_by_element.csv", [BASELINE], reference=True),
    output:
        figure=f"{FIGURES}/fig04_baseline_error_by_element.png",
    log:
        f"{LOGS}/figures/fig04_baseline_error_by_element.log",
    benchmark:
        f"{BENCH}/figures/fig04_baseline_error_by_element.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        experiments=[(BASELINE, "baseline")],
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_error_by_element.py"


rule figure_subset_histogram:
    input:
        subset=f"{RESULTS}/subsets/{capped_subset()}_size_counts.csv",
        pool=f"{RESULTS}/subsets/full_size_counts.csv",
    output:
        figure=f"{FIGURES}/fig05_subset_histogram.png",
    log:
        f"{LOGS}/figures/fig05_subset_histogram.log",
    benchmark:
        f"{BENCH}/figures/fig05_subset_histogram.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        subset=capped_subset(),
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_subset_histogram.py"


rule figure_weight_factors:
    output:
        figure=f"{FIGURES}/figA2_weight_factors.png",
    log:
        f"{LOGS}/figures/figA2_weight_factors.log",
    benchmark:
        f"{BENCH}/figures/figA2_weight_factors.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        rates=loss_rates(),
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_weight_factors.py"


rule figure_learning_curves:
    input:
        train_log=f"{RUN}/train_log.csv",
        val_log=f"{RUN}/val_log.csv",
    output:
        linear=f"{FIGURES}/figA3_learning_curves_{{experiment}}_seed{{seed}}_linear.png",
        log=f"{FIGURES}/figA3_learning_curves_{{experiment}}_seed{{seed}}_log.png",
    log:
        f"{LOGS}/figures/figA3_learning_curves_{{experiment}}_seed{{seed}}.log",
    benchmark:
        f"{BENCH}/figures/figA3_learning_curves_{{experiment}}_seed{{seed}}.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        weighted=lambda w: EXPERIMENTS[w.experiment]["loss"]["weighting"] != "none",
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_learning_curves.py"


rule figure_overview:
    input:
        overall=rules.study_tables.output.overall,
    output:
        figure=f"{FIGURES}/overview_overall_mae.png",
    log:
        f"{LOGS}/figures/overview_overall_mae.log",
    benchmark:
        f"{BENCH}/figures/overview_overall_mae.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        experiments=[(n, n) for n in EXPERIMENTS],
        # bars coloured by the part of the study each experiment belongs to
        parts={n: e["part"] for n, e in EXPERIMENTS.items()},
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/figure_overview.py"
