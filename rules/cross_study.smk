# The cross-study (config cross_study): the study's question asked of several
# QM9 properties and SchNetPack networks. Each target x representation is a
# study of its own, in its own folder; `make cross-study` runs their baselines
# (workflow_scripts/run_cross_study.py), then this rule gathers them; its
# inputs come from rules/common.smk (cross_study_inputs).


rule cross_study:
    input:
        unpack(cross_study_inputs),
    output:
        table=f"{CROSS_STUDY}/error_by_size_and_element.csv",
        figure=f"{CROSS_STUDY}/error_by_size_and_element.png",
    log:
        f"{CROSS_STUDY}/logs/cross_study.log",
    benchmark:
        f"{CROSS_STUDY}/benchmarks/cross_study.tsv"
    conda:
        "../envs/qm9.yaml"
    params:
        studies=[
            {k: s[k] for k in ("target", "representation", "study")}
            for s in CROSS_STUDIES
        ],
        seeds=CROSS_STUDY_SEEDS,
        plots=config["plots"],
    script:
        "../workflow_scripts/scripts/cross_study.py"
