# Config validation and everything derived from the config.

import os
import re
import sys

# Snakemake hands this process's sys.path to rule scripts, so they (and this
# file) import workflow_scripts from the workflow's folder, in cluster jobs too.
sys.path.insert(0, workflow.basedir)

from workflow_scripts.config.validation import (
    check_duplicate_keys,
    in_file_order,
    validate_config,
)
from workflow_scripts.config.experiments import (
    baseline_seeds,
    cross_studies,
    cross_study_files,
    scale_settings,
    study_name,
)
from snakemake.utils import validate

for _configfile in workflow.configfiles:
    check_duplicate_keys(_configfile)
# --config values arrive as text inside mappings: validation types them first
validate_config(
    config, validate=validate, command_line=workflow.config_settings.overwrite_config
)
in_file_order(config, workflow.configfiles)

SCALE = scale_settings(config)
# QM9 itself and its analysis are the same for every study: results/data, results/analysis.
QM9_RESULTS = "results"
QM9_LOGS = f"{QM9_RESULTS}/logs"
QM9_BENCH = f"{QM9_RESULTS}/benchmarks"
ANALYSIS = f"{QM9_RESULTS}/analysis"
# Everything else is a study's own, in its folder (results/quick, results/thesis, results/quick-gap-painn):
# studies of other scales, targets or representations never overwrite each other's splits, models or report.
RESULTS = f"results/{study_name(config)}"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"


def raw_source_input(wildcards):
    if config["data"]["source"] == "figshare":
        return rules.download_figshare.output
    return []


def analysis_outputs():
    return [
        *rules.dataset_counts.output,
        *rules.plot_dataset.output,
    ]


# ---- experiments -----------------------------------------------------------
from workflow_scripts.config.experiments import (
    VERDICT_PARTS,
    baseline_of,
    expand_experiments,
    in_parts,
    learning_curve_arms,
    matched_controls,
    reused_runs,
)
from workflow_scripts.config.slurm_runtime import training_runtime_minutes
from workflow_scripts.properties import LINEAR_REFERENCE
from workflow_scripts.training import pipelines
from workflow_scripts.training.devices import visible_gpus

EXPERIMENTS = {e["name"]: e for e in expand_experiments(config)}
BASELINE = baseline_of(EXPERIMENTS)
SPLIT = f"{RESULTS}/splits/split.parquet"
POOL_DB = f"{RESULTS}/data/pool.db"
POOL_STORE = f"{RESULTS}/data/pool.npz"
RUN = f"{RESULTS}/experiments/{{experiment}}/seed{{seed}}"
REUSED_RUN = f"{RESULTS}/experiments/{{reused_run}}"
LINEAR_REFERENCE_RUN = RUN.format(experiment=LINEAR_REFERENCE, seed=0)
SUBSET = f"{RESULTS}/subsets/{{subset}}.parquet"
SUBSET_SIZE_COUNTS = f"{RESULTS}/subsets/{{subset}}_size_counts.csv"
# what rule train leaves in RUN for the rest of the study
from workflow_scripts.run_files import RUN_OUTPUTS

TRAINED = "|".join(re.escape(n) for n in EXPERIMENTS)
# Runs whose settings and seed equal another's: "experiment/seedN" -> the run that trains for both
REUSED = {
    f"{n}/seed{s}": f"{n0}/seed{s0}"
    for (n, s), (n0, s0) in reused_runs(
        list(EXPERIMENTS.values()), config["subsets"]
    ).items()
}


wildcard_constraints:
    experiment=f"{TRAINED}|{LINEAR_REFERENCE}",
    # (?!) matches nothing: no run is reused
    reused_run="|".join(re.escape(r) for r in REUSED) or "(?!)",
    seed=r"\d+",
    subset="|".join(re.escape(n) for n in config["subsets"]),


def runs(names=None):
    """(experiment, seed) of every training run, or of the named experiments."""
    names = EXPERIMENTS if names is None else [n for n in names if n in EXPERIMENTS]
    return [(n, s) for n in names for s in EXPERIMENTS[n]["seeds"]]


def run_list(names=None, reference=False):
    """runs(names), the linear reference last if asked: the runs of run_files, in its order."""
    return runs(names) + ([(LINEAR_REFERENCE, 0)] if reference else [])


def run_files(pattern, names=None, reference=False):
    return [pattern.format(experiment=n, seed=s) for n, s in run_list(names, reference)]


def reused_from(wildcards):
    """The outputs of the run that trained for a reused run (see rule reuse_training)."""
    source = REUSED_RUN.format(reused_run=REUSED[wildcards.reused_run])
    return {name: f"{source}/{file}" for name, file in RUN_OUTPUTS.items()}


def experiment_subset(wildcards):
    return SUBSET.format(subset=EXPERIMENTS[wildcards.experiment]["subset"])


def same_size_subset(wildcards):
    """The file of the subset a `same_size_as` subset matches in size; none for other subsets."""
    target = config["subsets"][wildcards.subset].get("same_size_as")
    return SUBSET.format(subset=target) if target else []


# One `gpu` per training where Snakemake's machine has a GPU; locally, as many
# trainings at once as it has GPUs unless --resources gpu=N says otherwise
# (each training claims its own GPU: workflow_scripts/training/devices.py).
LOCAL_GPUS = visible_gpus()
TRAINING_GPUS = 1 if LOCAL_GPUS else 0
# (workflow.nodes is set by --jobs for cluster executors only: there SLURM
# pins the GPUs and this machine's count must not cap the cluster's jobs)
if LOCAL_GPUS and workflow.nodes is None and "gpu" not in workflow.global_resources:
    workflow.global_resources["gpu"] = LOCAL_GPUS


def train_runtime(wildcards, attempt):
    """Minutes a training asks of SLURM (sbatch --time): from its epochs and the pool, more on a retry."""
    return training_runtime_minutes(config, EXPERIMENTS[wildcards.experiment], attempt)


def experiment_data(wildcards):
    """The pool as the experiment's data pipeline reads it: packed arrays or SchNetPack's database."""
    return pipelines.pool_file(
        EXPERIMENTS[wildcards.experiment]["training"], POOL_STORE, POOL_DB
    )


def experiments_of(*parts):
    return in_parts(EXPERIMENTS, *parts)


def training_molecules(wildcards):
    """The molecules a run trained on: its subset, or the training split for the linear reference."""
    if wildcards.experiment == LINEAR_REFERENCE:
        return SPLIT
    return experiment_subset(wildcards)


# ---- predictions for a user's molecules -------------------------------------
from workflow_scripts.config.experiments import prediction_run
from workflow_scripts.predict.molecules import readable_molecule_files

PREDICT_RUN = "{}/seed{}".format(*prediction_run(config, EXPERIMENTS))


def prediction_molecules(wildcards):
    """The files predict.molecules names; relative ones from here, else beside the Snakefile (the examples).

    Each is read here, before the job: a bad file stops the run and leaves the last predictions.csv in place.
    """
    return readable_molecule_files(
        config["predict"]["molecules"], [".", workflow.basedir]
    )


# ---- figures: what each shows is stated once, in workflow_scripts/figures/catalogue.py
from workflow_scripts.figures import catalogue
from workflow_scripts.figures.catalogue import (
    ELEMENT_SIZE_HEATMAP,
    ERROR_BY_ELEMENT,
    LEARNING_CURVE_FIGURE,
    OVERVIEW,
    SIZE_HISTOGRAM,
    SUBSET_HISTOGRAM,
    WEIGHT_FACTORS,
)

CATALOGUE = catalogue.figures(EXPERIMENTS, config)
FINAL_RUNS = catalogue.final_runs(EXPERIMENTS, config)
CAPPED_SUBSET = catalogue.capped_subset(EXPERIMENTS, config)
LOSS_RATES = catalogue.loss_rates(EXPERIMENTS)
# (experiment, series) of the learning curve: the baseline on fractions of the
# training set, the caps and their random controls of the same size
LEARNING_CURVE_ARMS = learning_curve_arms(EXPERIMENTS, config["subsets"])


def figure_file(name):
    root = QM9_RESULTS if name in catalogue.DATASET_FIGURES else RESULTS
    return f"{root}/{catalogue.file_of(name)}"


def figure_files():
    """Every figure of the study, in the catalogue's order."""
    return [figure_file(name) for name in CATALOGUE]


def figure_placements():
    """(caption, section) of each of figure_files(), for the page (rule report)."""
    return [(f.caption, f.section) for f in CATALOGUE.values()]


def figure_values_file(name):
    """The values a figure draws, as a table beside it."""
    return figure_file(name).removesuffix(".png") + ".csv"


def figure_names(kind):
    return [name for name, f in CATALOGUE.items() if f.kind == kind]


def learning_curves_figure(scale):
    """The name of a run's learning curves figure, with the rule's wildcards."""
    return catalogue.learning_curves_name("{experiment}", "{seed}", scale)


def figure_fact(field, name="{figure}"):
    """Input function: a field of a figure's catalogue entry; `name` may hold the rule's wildcards."""
    return lambda wildcards: getattr(CATALOGUE[name.format(**wildcards)], field)


def figure_facts(field, **names):
    """Input function: output name -> that field of its figure's catalogue entry."""
    return lambda wildcards: {
        key: getattr(CATALOGUE[name.format(**wildcards)], field)
        for key, name in names.items()
    }


def shown_experiments(name, wildcards):
    return [n for n, _ in CATALOGUE[name.format(**wildcards)].experiments]


def figure_runs(name="{figure}"):
    """Input function: (experiment, seed) of the runs a figure shows, the linear reference last."""
    return lambda wildcards: run_list(
        shown_experiments(name, wildcards), reference=True
    )


def figure_run_files(pattern, name="{figure}"):
    """Input function: `pattern` of each of figure_runs(name), in its order."""
    return lambda wildcards: run_files(
        pattern, shown_experiments(name, wildcards), reference=True
    )


# For Snakemake's own report (snakemake --report): each caption template
# report/captions/<output name>.rst shows params.captions[<output name>], so the
# captions come from the catalogue; several outputs of one rule each get theirs.
def reported_figure(name="{figure}", output="figure"):
    """A figure output marked for the report with its catalogue caption, section and labels."""
    return report(
        figure_file(name),
        caption=f"../report/captions/{output}.rst",
        category=figure_fact("category", name),
        subcategory=figure_fact("subcategory", name),
        labels=figure_fact("labels", name),
    )


def reported_table(path, output):
    """A result table marked for the report with its catalogue caption and section."""
    return report(
        path,
        caption=f"../report/captions/{output}.rst",
        category=catalogue.TABLES[output].category,
    )


def table_captions(*outputs):
    return {output: catalogue.TABLES[output].caption for output in outputs}


# The cross-study (rules/cross_study.smk): every study of config cross_study.
CROSS_STUDY = f"results/cross_study-{config['scale']}"
CROSS_STUDIES = cross_studies(config)
# the baseline's seeds at this scale, the same in every study
CROSS_STUDY_SEEDS = baseline_seeds(config)


def cross_study_inputs(wildcards):
    """Every study's files; the other studies' are made by their own runs (make cross-study), not by this DAG."""
    files = {}
    missing = []
    for study in CROSS_STUDIES:
        for kind, paths in cross_study_files(study["study"], CROSS_STUDY_SEEDS).items():
            files[f"{study['study']}_{kind}"] = paths
            if f"results/{study['study']}" != RESULTS:
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
