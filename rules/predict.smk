# Your own molecules through one trained run (config predict): its target, with the
# error the study measured for the molecules' size bin and element groups,
# and a flag where they lie outside what the run was trained on.


rule predict_molecules:
    input:
        molecules=prediction_molecules,
        model=rules.train.output.model,
        by_size=rules.stratum_metrics.output.by_size,
        by_element=rules.stratum_metrics.output.by_element,
        training_molecules=experiment_subset,
    output:
        table=f"{RESULTS}/predict/{{experiment}}/seed{{seed}}/predictions.csv",
    log:
        f"{RESULTS}/predict/{{experiment}}/seed{{seed}}/predict.log",
    benchmark:
        f"{RESULTS}/predict/{{experiment}}/seed{{seed}}/predict_benchmark.tsv"
    wildcard_constraints:
        experiment=TRAINED,
    conda:
        "../envs/qm9.yaml"
    params:
        data_cutoff=lambda w: EXPERIMENTS[w.experiment]["model"]["data_cutoff"],
    script:
        "../workflow_scripts/scripts/predict_molecules.py"
