# Test predictions to numbers: metrics per stratum of every run, study-wide
# tables and the verdicts on the hypotheses.

TABLES = f"{RESULTS}/tables"
# the runs the hypotheses compare
VERDICT_EXPERIMENTS = experiments_of(*VERDICT_PARTS)
# the experiments of the learning curve
LEARNING_CURVE_RUNS = [name for name, _ in LEARNING_CURVE_ARMS]


rule stratum_metrics:
    input:
        predictions=rules.train.output.predictions,
        size_histogram=rules.dataset_counts.output.size_histogram,
        training_molecules=training_molecules,
    output:
        by_size=f"{RUN}/metrics_by_size.csv",
        by_element=f"{RUN}/metrics_by_element.csv",
        overall=f"{RUN}/metrics_overall.csv",
    log:
        f"{RUN}/metrics.log",
    benchmark:
        f"{RUN}/metrics_benchmark.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        resamples=SCALE["bootstrap_resamples"],
        seed=config["split"]["seed"],
    script:
        "../workflow_scripts/scripts/stratum_metrics.py"


rule study_tables:
    input:
        by_size=run_files(rules.stratum_metrics.output.by_size, reference=True),
        by_element=run_files(rules.stratum_metrics.output.by_element, reference=True),
        overall=run_files(rules.stratum_metrics.output.overall, reference=True),
        timing=run_files(rules.train.output.timing),
        val_log=run_files(rules.train.output.val_log),
        train_log=run_files(rules.train.output.train_log),
    output:
        by_size=reported_table(f"{TABLES}/metrics_by_size.csv", "by_size"),
        by_element=reported_table(f"{TABLES}/metrics_by_element.csv", "by_element"),
        overall=reported_table(f"{TABLES}/metrics_overall.csv", "overall"),
        table2=reported_table(f"{TABLES}/table2_final_comparison.csv", "table2"),
        training_runs=reported_table(f"{TABLES}/training_runs.csv", "training_runs"),
    log:
        f"{LOGS}/study_tables.log",
    benchmark:
        f"{BENCH}/study_tables.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        # (experiment, seed) of each metrics file, and of each timing, val_log and train_log file
        runs=run_list(reference=True),
        trained_runs=run_list(),
        parts={n: e["part"] for n, e in EXPERIMENTS.items()},
        final=FINAL_RUNS,
        convergence=config["evaluation"]["convergence"],
        failure=config["evaluation"]["failure"],
        # figure -> the experiments it shows: what a failed run affects
        figures={n: [e for e, _ in f.experiments] for n, f in CATALOGUE.items()},
        captions=table_captions(
            "by_size", "by_element", "overall", "table2", "training_runs"
        ),
    script:
        "../workflow_scripts/scripts/study_tables.py"


# Reads only the runs it shows, as a figure rule does: a change elsewhere
# leaves it alone.
rule learning_curve:
    input:
        overall=run_files(rules.stratum_metrics.output.overall, LEARNING_CURVE_RUNS),
        by_size=run_files(rules.stratum_metrics.output.by_size, LEARNING_CURVE_RUNS),
        timing=run_files(rules.train.output.timing, LEARNING_CURVE_RUNS),
    output:
        learning_curve=reported_table(f"{TABLES}/learning_curve.csv", "learning_curve"),
    log:
        f"{LOGS}/learning_curve.log",
    benchmark:
        f"{BENCH}/learning_curve.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        # (experiment, seed) of each input file
        runs=run_list(LEARNING_CURVE_RUNS),
        arms=LEARNING_CURVE_ARMS,
        subsets={n: EXPERIMENTS[n]["subset"] for n in LEARNING_CURVE_RUNS},
        captions=table_captions("learning_curve"),
    script:
        "../workflow_scripts/scripts/learning_curve.py"


rule hypothesis_verdicts:
    input:
        predictions=run_files(rules.train.output.predictions, VERDICT_EXPERIMENTS),
        baseline_subset=SUBSET.format(subset=EXPERIMENTS[BASELINE]["subset"]),
        size_histogram=rules.dataset_counts.output.size_histogram,
        # each compared run's status (failed runs are left out, the others named), judged as study_tables
        # judges it, from the compared runs' own files only
        val_log=run_files(rules.train.output.val_log, VERDICT_EXPERIMENTS),
        train_log=run_files(rules.train.output.train_log, VERDICT_EXPERIMENTS),
        overall=run_files(
            rules.stratum_metrics.output.overall, VERDICT_EXPERIMENTS, reference=True
        ),
    output:
        verdicts=reported_table(f"{TABLES}/hypothesis_verdicts.csv", "verdicts"),
    log:
        f"{LOGS}/hypothesis_verdicts.log",
    benchmark:
        f"{BENCH}/hypothesis_verdicts.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        runs=run_list(VERDICT_EXPERIMENTS),
        runs_with_reference=run_list(VERDICT_EXPERIMENTS, reference=True),
        convergence=config["evaluation"]["convergence"],
        failure=config["evaluation"]["failure"],
        baseline=BASELINE,
        balanced=experiments_of("balancing"),
        # each capped arm's random subset of as many molecules (H3 compares them)
        controls=matched_controls(EXPERIMENTS, config["subsets"]),
        targeted=experiments_of("targeted"),
        placebo=next(iter(experiments_of("placebo")), None),
        threshold=config["evaluation"]["large_molecule_threshold"],
        margin=config["evaluation"]["non_inferiority_margin"],
        min_seeds=config["evaluation"]["min_seeds_per_arm"],
        resamples=SCALE["bootstrap_resamples"],
        seed=config["split"]["seed"],
        captions=table_captions("verdicts"),
    script:
        "../workflow_scripts/scripts/hypothesis_verdicts.py"
