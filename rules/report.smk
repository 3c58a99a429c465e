# The study's self-contained HTML page; it reads only the files it names here.
# (Snakemake's own report, snakemake --report, shows the outputs marked with
# report(...) in the other rules: see the Snakefile.)


rule report:
    input:
        figures=figure_files(),
        element_frequency=rules.dataset_counts.output.element_frequency,
        by_size=rules.study_tables.output.by_size,
        by_element=rules.study_tables.output.by_element,
        overall=rules.study_tables.output.overall,
        table2=rules.study_tables.output.table2,
        training_runs=rules.study_tables.output.training_runs,
        verdicts=rules.hypothesis_verdicts.output.verdicts,
        learning_curve=rules.learning_curve.output.learning_curve,
    output:
        report=f"{RESULTS}/report/report.html",
    log:
        f"{LOGS}/report.log",
    benchmark:
        f"{BENCH}/report.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        # (caption, section) of each figure, in the order of input.figures
        figures=figure_placements(),
        scale=config["scale"],
        scale_settings=SCALE,
        experiments=EXPERIMENTS,
        final=FINAL_RUNS,
        budget_rule=config["training_budget"],
        min_seeds=config["evaluation"]["min_seeds_per_arm"],
        convergence=config["evaluation"]["convergence"],
        # the thesis's settings: the study's defaults, unscaled
        thesis_defaults=config["defaults"],
        test_fraction=config["split"]["test_fraction"],
    script:
        "../workflow_scripts/scripts/report.py"
