# The study: one held-out split, training subsets, one training job per
# experiment and seed (which also predicts the held-out test set), metrics per
# stratum.


rule split:
    input:
        table=rules.qm9_metadata.output.table,
    output:
        split=SPLIT,
    log:
        f"{LOGS}/split.log",
    benchmark:
        f"{BENCH}/split.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        pool_size=SCALE["pool_size"],
        split=config["split"],
    script:
        "../workflow_scripts/scripts/split.py"


rule atoms_database:
    input:
        table=rules.qm9_metadata.output.table,
        split=SPLIT,
    output:
        db=POOL_DB,
    log:
        f"{LOGS}/atoms_database.log",
    benchmark:
        f"{BENCH}/atoms_database.tsv"
    conda:
        "../envs/qm9.yaml"
    script:
        "../workflow_scripts/scripts/atoms_database.py"


rule packed_store:
    input:
        table=rules.qm9_metadata.output.table,
        split=SPLIT,
    output:
        store=POOL_STORE,
    log:
        f"{LOGS}/packed_store.log",
    benchmark:
        f"{BENCH}/packed_store.tsv"
    conda:
        "../envs/qm9.yaml"
    script:
        "../workflow_scripts/scripts/packed_store.py"


rule subset:
    input:
        table=rules.qm9_metadata.output.table,
        split=SPLIT,
    output:
        subset=f"{RESULTS}/subsets/{{subset}}.parquet",
        counts=f"{RESULTS}/subsets/{{subset}}_size_counts.csv",
    log:
        f"{LOGS}/subset_{{subset}}.log",
    benchmark:
        f"{BENCH}/subset_{{subset}}.tsv"
    # subsets are checked early: before the database, so before any training
    priority: 10
    conda:
        "../envs/qm9.yaml"
    params:
        definition=lambda w: config["subsets"][w.subset],
        seed=config["split"]["seed"],
    script:
        "../workflow_scripts/scripts/subset.py"


rule train:
    input:
        table=rules.qm9_metadata.output.table,
        data=experiment_data,
        split=SPLIT,
        subset=experiment_subset,
    output:
        # RUN_OUTPUTS (common.smk); the held-out test set is predicted in the
        # same job: one process start (torch, SchNetPack) instead of two
        **{name: f"{RUN}/{file}" for name, file in RUN_OUTPUTS.items()},
    log:
        f"{RUN}/train.log",
    benchmark:
        f"{RUN}/train_benchmark.tsv"
    wildcard_constraints:
        experiment=TRAINED,
    conda:
        "../envs/qm9.yaml"
    threads: SCALE["training_threads"]
    resources:
        gpu=TRAINING_GPUS,
        runtime=train_runtime,
    params:
        settings=lambda w: EXPERIMENTS[w.experiment],
        subset_definition=lambda w: config["subsets"][
            EXPERIMENTS[w.experiment]["subset"]
        ],
    script:
        "../workflow_scripts/scripts/train.py"


# A run whose settings and seed equal another's takes that run's results
# instead of training again (a sweep point with the baseline's value).
ruleorder: reuse_training > train


rule reuse_training:
    input:
        unpack(reused_from),
    output:
        **{
            name: f"{RESULTS}/experiments/{{reused_run}}/{file}"
            for name, file in RUN_OUTPUTS.items()
        },
    log:
        f"{RESULTS}/experiments/{{reused_run}}/reuse.log",
    benchmark:
        f"{RESULTS}/experiments/{{reused_run}}/reuse_benchmark.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        source=lambda w: REUSED[w.reused_run],
    script:
        "../workflow_scripts/scripts/reuse_training.py"


rule linear_reference:
    input:
        table=rules.qm9_metadata.output.table,
        split=SPLIT,
    output:
        predictions=f"{RESULTS}/experiments/{LINEAR_REFERENCE}/seed0/predictions.parquet",
        coefficients=f"{RESULTS}/experiments/{LINEAR_REFERENCE}/seed0/coefficients.json",
    log:
        f"{LOGS}/linear_reference.log",
    benchmark:
        f"{BENCH}/linear_reference.tsv"
    conda:
        "../envs/qm9.yaml"
    script:
        "../workflow_scripts/scripts/linear_reference.py"


rule stratum_metrics:
    input:
        predictions=f"{RUN}/predictions.parquet",
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
