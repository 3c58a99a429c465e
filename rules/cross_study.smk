# The cross-study (config cross_study): the study's question asked of several
# QM9 properties and SchNetPack networks. Each target x representation is a
# study of its own, in its own folder; `make cross-study` runs their baselines
# (workflow_scripts/run_cross_study.py), then this rule gathers them.
from workflow_scripts.config.experiments import cross_studies

CROSS_STUDY = f"results/cross_study-{config['scale']}"
CROSS_STUDIES = cross_studies(config)
# the baseline's seeds at this scale, the same in every study
CROSS_STUDY_SEEDS = next(
    e["seeds"]
    for e in expand_experiments(config, select=False)
    if e["part"] == "baseline"
)


def cross_study_files(study):
    """What the cross-study reads of one study: the baseline's metrics per seed, the linear reference's."""
    runs = f"results/{study['study']}/experiments"
    return {
        "by_size": [
            f"{runs}/baseline/seed{s}/metrics_by_size.csv" for s in CROSS_STUDY_SEEDS
        ],
        "by_element": [
            f"{runs}/baseline/seed{s}/metrics_by_element.csv" for s in CROSS_STUDY_SEEDS
        ],
        "reference": f"{runs}/{LINEAR_REFERENCE}/seed0/metrics_overall.csv",
    }


def cross_study_inputs(wildcards):
    """Every study's files; the other studies' are made by their own runs (make cross-study), not by this DAG."""
    files = {}
    missing = []
    for study in CROSS_STUDIES:
        for kind, paths in cross_study_files(study).items():
            files[f"{study['study']}_{kind}"] = paths
            if study["study"] != study_name(config):
                missing += [
                    p
                    for p in ([paths] if isinstance(paths, str) else paths)
                    if not os.path.exists(p)
                ]
    if missing:
        raise ValueError(
            f"the cross-study needs the baselines of every study of config cross_study; {len(missing)} files are "
            f"missing, the first {missing[0]}. Run: make cross-study (it runs each study's baseline, then this rule)"
        )
    return files


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
