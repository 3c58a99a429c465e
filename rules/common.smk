# Config validation and everything derived from the config.

import re
import sys

# Snakemake hands this process's sys.path to rule scripts, so they (and this
# file) import workflow_scripts from the workflow's folder, in cluster jobs too.
sys.path.insert(0, workflow.basedir)

from workflow_scripts.config.validation import check_duplicate_keys, validate_config
from workflow_scripts.config.experiments import scale_settings
from snakemake.utils import validate

for _configfile in workflow.configfiles:
    check_duplicate_keys(_configfile)
validate_config(config, validate=validate)

SCALE = scale_settings(config)
RESULTS = "results"
LOGS = f"{RESULTS}/logs"
BENCH = f"{RESULTS}/benchmarks"
ANALYSIS = f"{RESULTS}/analysis"


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
from workflow_scripts.config.experiments import expand_experiments, reused_runs
from workflow_scripts.config.slurm_runtime import training_runtime_minutes
from workflow_scripts.properties import LINEAR_REFERENCE
from workflow_scripts.training import pipelines
from workflow_scripts.training.devices import visible_gpus

EXPERIMENTS = {e["name"]: e for e in expand_experiments(config)}
BASELINE = next(n for n, e in EXPERIMENTS.items() if e["part"] == "baseline")
SPLIT = f"{RESULTS}/splits/split.parquet"
POOL_DB = f"{RESULTS}/data/pool.db"
POOL_STORE = f"{RESULTS}/data/pool.npz"
RUN = f"{RESULTS}/experiments/{{experiment}}/seed{{seed}}"
# what a training run leaves for the rest of the study
RUN_OUTPUTS = {
    "model": "model.pt",
    "train_log": "train_log.csv",
    "val_log": "val_log.csv",
    "timing": "timing.json",
    "predictions": "predictions.parquet",
    # the best model for SchNetPack's own tools (its ASE calculator, spkpredict)
    "export": "schnetpack/best_model",
    "export_info": "schnetpack/model_info.json",
}


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


def run_files(pattern, names=None, reference=False):
    files = [pattern.format(experiment=n, seed=s) for n, s in runs(names)]
    if reference:
        files.append(pattern.format(experiment=LINEAR_REFERENCE, seed=0))
    return files


def reused_from(wildcards):
    """The outputs of the run that trained for a reused run (see rule reuse_training)."""
    source = f"{RESULTS}/experiments/{REUSED[wildcards.reused_run]}"
    return {name: f"{source}/{file}" for name, file in RUN_OUTPUTS.items()}


def experiment_subset(wildcards):
    return f"{RESULTS}/subsets/{EXPERIMENTS[wildcards.experiment]['subset']}.parquet"


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


def used_subsets():
    return sorted({e["subset"] for e in EXPERIMENTS.values()})


def experiments_of(*parts):
    return [n for n, e in EXPERIMENTS.items() if e["part"] in parts]


def training_molecules(wildcards):
    """The molecules a run trained on: its subset, or the training split for the linear reference."""
    if wildcards.experiment == LINEAR_REFERENCE:
        return SPLIT
    return experiment_subset(wildcards)


# ---- predictions for a user's molecules -------------------------------------
from workflow_scripts.config.experiments import prediction_run
from workflow_scripts.predict.molecules import molecule_files

PREDICT_RUN = "{}/seed{}".format(*prediction_run(config, EXPERIMENTS))


def prediction_molecules(wildcards):
    """The files predict.molecules names; relative ones from here, else beside the Snakefile (the examples)."""
    return molecule_files(config["predict"]["molecules"], [".", workflow.basedir])


# ---- figures ---------------------------------------------------------------
FIGURES = f"{RESULTS}/figures"


def label_of(name):
    e = EXPERIMENTS[name]
    if e["sweep_key"]:
        return f"{e['sweep_key'].split('.')[-1]} = {e['sweep_value']}"
    return name


def balancing_label(name):
    e = EXPERIMENTS[name]
    if e["training"]["sampler"] == "stratified_by_size":
        return "each size sampled alike"
    return f"cap {e['subset']}"


def final_runs():
    return [
        (label, n)
        for label, n in config["final_comparison"].items()
        if n in EXPERIMENTS
    ]


def _by_size_figures():
    """Error-by-size figures: name -> (title, [(experiment, label)], log y)."""
    base = [(BASELINE, "baseline")] if BASELINE in EXPERIMENTS else []
    sets = {
        "fig03_baseline_error_by_size": (
            "Baseline: error by molecule size (Figure 3)",
            base,
        ),
        "fig06_balanced_error_by_size": (
            "Size-balanced training subsets (Figure 6)",
            base + [(n, balancing_label(n)) for n in experiments_of("balancing")],
        ),
        "fig07_size_loss_error_by_size": (
            "Size-based loss weights, 13 to 23 atoms (Figure 7)",
            [(n, label_of(n)) for n in experiments_of("loss_size")],
        ),
        "fig08_size_frequency_loss_error_by_size": (
            "Size-and-frequency loss weights, 13 to 23 atoms (Figure 8)",
            [(n, label_of(n)) for n in experiments_of("loss_size_frequency")],
        ),
        "fig08b_inverse_frequency_loss_error_by_size": (
            "Inverse-frequency loss weights",
            base + [(n, label_of(n)) for n in experiments_of("loss_inverse_frequency")],
        ),
        "fig09_targeted_error_by_size": (
            "Training on molecules with more than 17 atoms (Figure 9)",
            base + [(n, "more than 17 atoms") for n in experiments_of("targeted")],
        ),
        "fig10_final_error_by_size": (
            "Default against Custom (Figure 10)",
            [(n, label) for label, n in final_runs()],
        ),
    }
    return {name: spec for name, spec in sets.items() if spec[1]}


BY_SIZE_FIGURES = _by_size_figures()


def by_size_figure_inputs(wildcards):
    names = [n for n, _ in BY_SIZE_FIGURES[wildcards.figure][1]]
    return run_files(f"{RUN}/metrics_by_size.csv", names, reference=True)


def learning_curve_runs():
    return [(n, s) for _, n in final_runs() for s in EXPERIMENTS[n]["seeds"][:1]]


def figure_outputs():
    files = [f"{FIGURES}/{name}.png" for name in BY_SIZE_FIGURES]
    if BASELINE in EXPERIMENTS:
        files.append(f"{FIGURES}/fig04_baseline_error_by_element.png")
    if capped_subset():
        files.append(f"{FIGURES}/fig05_subset_histogram.png")
    files += [
        f"{FIGURES}/figA2_weight_factors.png",
        f"{FIGURES}/overview_overall_mae.png",
    ]
    for n, s in learning_curve_runs():
        for scale in ("linear", "log"):
            files.append(f"{FIGURES}/figA3_learning_curves_{n}_seed{s}_{scale}.png")
    return files


def capped_subset():
    """The balanced subset shown in Figure 5: the smallest cap used by an experiment."""
    capped = [
        (config["subsets"][s]["cap_per_size"], s)
        for s in used_subsets()
        if "cap_per_size" in config["subsets"][s]
    ]
    return min(capped)[1] if capped else None


def loss_rates():
    rates = {
        e["loss"]["rate"]
        for e in EXPERIMENTS.values()
        if e["loss"]["weighting"] in ("size", "size_frequency")
    }
    return sorted(rates | {0, 2, 5, 10})
