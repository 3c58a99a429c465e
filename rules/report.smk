# The study's self-contained HTML report.


rule report:
    input:
        figures=figure_outputs(),
        analysis=analysis_outputs(),
        tables=rules.study_tables.output,
        verdicts=rules.hypothesis_verdicts.output.verdicts,
    output:
        report=f"{RESULTS}/report/report.html",
    log:
        f"{LOGS}/report.log",
    benchmark:
        f"{BENCH}/report.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        scale=config["scale"],
        scale_settings=SCALE,
        experiments=EXPERIMENTS,
        final=[(n, label) for label, n in final_runs()],
        budget_rule=config["training_budget"],
        min_seeds=config["evaluation"]["min_seeds_per_arm"],
        convergence=config["evaluation"]["convergence"],
    script:
        "../workflow_scripts/scripts/report.py"
