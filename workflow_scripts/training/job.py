"""The train job: one experiment, one seed; then its predictions for the held-out test set.

Run by rule train's script, in the job's own process or in a fork of the resident trainer (resident.py),
which imports this module once for many jobs.
"""

import json
import os
import time

import numpy as np
import pandas as pd

from workflow_scripts.data.subsets import check_batch_fits, validation_for
from workflow_scripts import targets
from workflow_scripts.evaluation.predictions import mae_text, predictions_frame, true_values
from workflow_scripts.files import logs
from workflow_scripts.files.atomic import write_parquet, write_text
from workflow_scripts.training import linear_reference, pipelines, resident
from workflow_scripts.training.export import export_model
from workflow_scripts.training.loop import train
from workflow_scripts.training.model import load_model, uses_fitted_reference
from workflow_scripts.training.weights import loss_weights


def run(snakemake, gpu=None) -> None:
    """Train, keep the best model, export it and predict the held-out test set; ``gpu``: the job's GpuClaim."""
    job_pid = resident.job_pid()  # the process Snakemake started: start-up and job time count from its start
    # before the input checks: Python, Snakemake's preamble and imports only (or the fork's start)
    startup = logs.seconds_since_process_start(job_pid)
    log = logs.from_snakemake(snakemake)
    how = ("imports of torch, Lightning, SchNetPack" if job_pid == os.getpid()
           else "a fork of the resident trainer, which has torch, Lightning and SchNetPack imported")
    log.info("job started %.1f s ago (Python, Snakemake's script preamble, %s)", startup or float("nan"), how)
    if gpu is not None:
        log.info("training on GPU %s (CUDA_VISIBLE_DEVICES=%s)", gpu.gpu, gpu.gpu)
    settings = snakemake.params.settings
    out = snakemake.output
    split = pd.read_parquet(snakemake.input.split)
    subset = pd.read_parquet(snakemake.input.subset)
    idx, weights, atomref = training_inputs(split, subset, snakemake.input.table, settings,
                                            snakemake.params.subset_definition, log)
    timing = train(snakemake.input.data, idx, weights, settings, int(snakemake.wildcards.seed),
                   out.model.rsplit("/", 1)[0], threads=snakemake.threads, atomref=atomref,
                   n_training_set=n_training_set(split),
                   # from the config, not a param of the rule: turning TensorBoard off or on re-trains nothing
                   tensorboard=snakemake.config["tensorboard"])

    start = time.perf_counter()
    model, saved_settings = load_model(out.model)
    export_model(model, saved_settings, int(snakemake.wildcards.seed), out.export, out.export_info)
    predicted = pipelines.predict(model, saved_settings, snakemake.input.data, idx["test"])
    frame = predictions_frame(split.iloc[idx["test"]], snakemake.input.table, predicted,
                              targets.of_settings(saved_settings))
    timing["eval_seconds"] = time.perf_counter() - start
    write_parquet(frame, out.predictions)
    log.info("%d test molecules predicted in %.1f s; %s", len(frame), timing["eval_seconds"], mae_text(frame))
    timing["startup_seconds"] = startup
    timing["job_seconds"] = logs.seconds_since_process_start(job_pid)
    if startup is not None:
        outside = timing["job_seconds"] - timing["job_train_seconds"]
        log.info("job %.1f s: training %.1f s, outside training %.1f s (start-up %.1f s, the rest %.1f s)",
                 timing["job_seconds"], timing["job_train_seconds"], outside, startup, outside - startup)
    write_text(out.timing, json.dumps(timing, indent=2))


def n_training_set(split: pd.DataFrame) -> int:
    """Molecules of the whole training set (the equal_steps budget's reference)."""
    return int((split["split"] == "train").sum())


def training_inputs(split: pd.DataFrame, subset: pd.DataFrame, table, settings: dict, subset_definition: dict,
                    log=None) -> tuple[dict, np.ndarray, np.ndarray | None]:
    """(pool indices of train/val/test, every pool molecule's loss weight, fitted per-element values or None) of a run.

    ``split``/``subset``: the split and the run's subset tables; ``table``: the metadata table's path (the target).
    """
    check_batch_fits(settings["subset"], len(subset), settings["training"]["batch_size"], settings["name"])
    position = pd.Series(np.arange(len(split)), index=split["gdb_id"])  # pool index (store / database row)
    idx = {
        "train": position.loc[subset["gdb_id"]].to_numpy(),
        "val": position.loc[validation_for(split, subset_definition,
                                           settings["training"].get("validation", "subset_sizes"))["gdb_id"]].to_numpy(),
        "test": np.flatnonzero(split["split"].to_numpy() == "test"),
    }
    loss = settings["loss"]
    weights = loss_weights(loss["weighting"], split["n_atoms"].to_numpy(), train_sizes=subset["n_atoms"].to_numpy(),
                           rate=loss["rate"], alpha=loss["alpha"])
    if log:
        log.info("loss weighting %s: weights of training molecules from %.3g to %.3g", loss["weighting"],
                 weights[idx["train"]].min(), weights[idx["train"]].max())
    atomref, target = None, targets.of_settings(settings)
    if uses_fitted_reference(target, settings["model"]):
        fitted_on = linear_reference.reference_molecules(split, subset, settings["model"])
        fitted_on = fitted_on.assign(**{target.name: true_values(table, fitted_on["gdb_id"], target)})
        reference = linear_reference.fit(fitted_on, target.name, intercept=False)
        atomref = linear_reference.atom_energies_by_number(reference)
        if log:
            log.info("per-element %s fitted on %d training molecules (%s): %s", target.name, len(fitted_on),
                     target.unit, ", ".join(f"{e} {v:.4f}" for e, v in reference.coefficients.items()))
    return idx, weights, atomref
