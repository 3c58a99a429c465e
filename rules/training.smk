# One training job per experiment and seed (it also predicts the held-out test
# set), the pool in the form each data path reads, the reuse of identical
# trainings, and the linear reference that needs no network.


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
        **{name: f"{REUSED_RUN}/{file}" for name, file in RUN_OUTPUTS.items()},
    log:
        f"{REUSED_RUN}/reuse.log",
    benchmark:
        f"{REUSED_RUN}/reuse_benchmark.tsv"
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
        predictions=f"{LINEAR_REFERENCE_RUN}/{RUN_OUTPUTS['predictions']}",
        coefficients=f"{LINEAR_REFERENCE_RUN}/coefficients.json",
    log:
        f"{LOGS}/linear_reference.log",
    benchmark:
        f"{BENCH}/linear_reference.tsv"
    conda:
        "../envs/qm9.yaml"
    script:
        "../workflow_scripts/scripts/linear_reference.py"
