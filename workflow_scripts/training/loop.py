"""Training one experiment with one seed: resume or start, data, Lightning's trainer, the best model kept."""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities.exceptions import SIGTERMException

from workflow_scripts import targets
from workflow_scripts.files.atomic import atomic_path
from workflow_scripts.training import pipelines
from workflow_scripts.training.batch_chunks import chunk_molecules
from workflow_scripts.training.budget import StepBudget, step_budget
from workflow_scripts.training.callbacks import PlateauSchedule, StudyLog, TrainingClock, WeightAverage
from workflow_scripts.training.checkpoints import resume_step
from workflow_scripts.training.devices import torch_device
from workflow_scripts.training.model import build_model, save_model, uses_fitted_reference
from workflow_scripts.training.precision import float32_matmuls, lightning_precision, slow_bf16_warning
from workflow_scripts.run_files import BEST, CHECKPOINTS, LAST, MODEL, TRAIN_LOG, VAL_LOG
from workflow_scripts.training.task import TrainingError, WeightedTask
from workflow_scripts.training.tensorboard_log import tensorboard_logging

log = logging.getLogger(__name__)
CURVES = (TRAIN_LOG, VAL_LOG)


def train(
    pool_file, idx: dict, weights: np.ndarray, settings: dict, seed: int, out_dir, threads: int = 1,
    progress_bar: bool | None = None, atomref: np.ndarray | None = None, n_training_set: int | None = None,
    tensorboard: bool = False,
) -> dict:
    """Train one experiment and seed; write model.pt, train_log.csv and val_log.csv; return the timing.

    ``pool_file`` is the pool as the run's data pipeline reads it (pipelines.py); ``idx`` maps train/val/test
    to pool indices and ``weights`` holds every pool molecule's loss weight. ``atomref`` holds the fitted
    per-element energies when ``model.energy_reference`` is ``fitted``; ``n_training_set`` the molecules of the
    whole training set, for the ``equal_steps`` budget (default: this run's). An interrupted run resumes from
    ``out_dir/checkpoints/last.ckpt`` when it was made for the same settings (and loads). ``tensorboard``: also
    log the curves for TensorBoard in ``out_dir/tensorboard`` (tensorboard_log.py).
    """
    out_dir = Path(out_dir)
    work_dir = out_dir / CHECKPOINTS
    work_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    pl.seed_everything(seed, workers=True, verbose=False)
    name, training, n_train = settings["name"], settings["training"], len(idx["train"])
    if uses_fitted_reference(targets.of_settings(settings), settings["model"]) and atomref is None:
        raise ValueError(f"experiment {name}: model.energy_reference is fitted, but no fitted per-element values "
                         "were given")
    budget = step_budget(training, n_train, n_training_set or n_train)

    resumed_at = resume_step(work_dir, {"settings": settings, "seed": seed, "n_train": n_train, "steps": budget.steps},
                             name)
    datamodule = pipelines.data_module(pool_file, settings, idx, weights, seed, atomref, work_dir)
    device = torch_device()
    task = _task(settings, atomref, budget, device)
    trainer, study_log, checkpoint, clock = _trainer(settings, seed, budget, out_dir, resumed_at, tensorboard,
                                                     progress_bar)
    chunk = task.chunk_molecules
    log.info(
        "training %s seed %d on %s in precision %s: %d train / %d val molecules, batch %d%s, %d steps (%d epochs, "
        "budget rule %s)%s", name, seed, device.type, training["precision"], n_train, len(idx["val"]), training["batch_size"],
        f" in chunks of {chunk}" if chunk and chunk < training["batch_size"] else "", budget.steps, budget.epochs,
        training["budget"], f", resuming from {work_dir / LAST}" if resumed_at is not None else "",
    )
    if warning := slow_bf16_warning(training["precision"], device):
        log.warning(warning)
    start = time.perf_counter()
    with float32_matmuls(training["precision"], device):
        _fit(trainer, task, datamodule, study_log, training["batch_size"],
             ckpt_path=str(work_dir / LAST) if resumed_at is not None else None)
    job_train_seconds = time.perf_counter() - start

    _publish_logs(work_dir, out_dir)
    _keep_best_model(task, checkpoint, settings, seed, out_dir)
    return {
        # the model's training time, earlier runs up to the checkpoint resumed from included; this job's part
        "train_seconds": clock.before + job_train_seconds,
        "job_train_seconds": job_train_seconds,
        "epochs_run": trainer.current_epoch,
        "steps": trainer.global_step,
        "step_budget": budget.steps,
        "budget_rule": training["budget"],
        "device": "gpu" if device.type == "cuda" else "cpu",
        "threads": threads,
        f"best_val_{targets.of_settings(settings).mse_column}": float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else math.nan,
        "n_train": n_train,
        "n_val": len(idx["val"]),
        "resumed": resumed_at is not None,
    }


def _task(settings: dict, atomref, budget: StepBudget, device: torch.device) -> WeightedTask:
    """A fresh model in the weighted task of the run's target, with the run's optimizer, schedule and chunks for ``device``."""
    training = settings["training"]
    target = targets.of_settings(settings).name
    return WeightedTask(build_model(settings["model"], atomref, target=target), training["lr"], training["scheduler"],
                        settings["name"], total_steps=budget.steps, validate_every=budget.validate_every,
                        chunk_molecules=chunk_molecules(training["chunk_size"], device), target=target)


def _without_advice_we_chose_against() -> None:
    """Lightning's advice that this workflow chose against, silenced by its message and module (the filter Lightning's
    docs give): loaders run in the training process (num_workers=0; worker processes cost more than they save at 1-2
    threads a job), and a resumed run writes its checkpoints into the folder holding the one it resumes from."""
    warnings.filterwarnings("ignore", message=".*does not have many workers", module="pytorch_lightning")
    warnings.filterwarnings("ignore", message="Checkpoint directory .* exists and is not empty",
                            module="pytorch_lightning.callbacks.model_checkpoint")


def _trainer(settings: dict, seed: int, budget: StepBudget, out_dir: Path, resumed_at: int | None,
             tensorboard: bool, progress_bar: bool | None):
    """(Lightning's trainer, the CSV curves, the checkpoints) with the callbacks the settings ask for."""
    _without_advice_we_chose_against()
    training, work_dir = settings["training"], out_dir / CHECKPOINTS
    # The logs grow beside the checkpoints (Snakemake deletes a failed job's
    # outputs) and are copied to the outputs at the end, so a resumed run
    # continues the curves it had.
    study_log = StudyLog(work_dir / TRAIN_LOG, work_dir / VAL_LOG, resume=resumed_at is not None,
                         target=targets.of_settings(settings))
    # best.ckpt, the best validation's (the run's model), and last.ckpt, every validation's (to resume from).
    # Lightning's save_last writes last.ckpt only when best.ckpt is written: a run cut off would go back to its
    # best validation and train every epoch since again. Lightning runs checkpoint callbacks last, in this order,
    # so last.ckpt holds the best one's state of the same validation.
    checkpoint = pl.callbacks.ModelCheckpoint(dirpath=work_dir, filename=Path(BEST).stem, monitor="val_loss",
                                              save_top_k=1)
    latest = pl.callbacks.ModelCheckpoint(dirpath=work_dir, filename=Path(LAST).stem, monitor=None, save_top_k=1,
                                          enable_version_counter=False)
    clock = TrainingClock()
    callbacks = [study_log, checkpoint, latest, clock, PlateauSchedule()]
    if training["ema_decay"]:
        callbacks.append(WeightAverage(decay=training["ema_decay"]))
    if training["early_stopping_patience"]:
        callbacks.append(pl.callbacks.EarlyStopping(monitor="val_loss", patience=training["early_stopping_patience"]))
    logger, logging_callbacks = tensorboard_logging(out_dir, settings, seed, tensorboard, resumed_at)
    trainer = pl.Trainer(
        max_epochs=budget.epochs,
        check_val_every_n_epoch=budget.validate_every,
        accelerator="auto",
        devices=1,
        precision=lightning_precision(training["precision"]),  # autocast around each step: precision.py
        callbacks=callbacks + logging_callbacks,
        logger=logger,
        enable_progress_bar=sys.stderr.isatty() if progress_bar is None else progress_bar,
        enable_model_summary=False,
        default_root_dir=str(work_dir),
        deterministic=False,
        num_sanity_val_steps=0,
        # the task logs nothing per training step (the curves write themselves, tensorboard_log.LOG_EVERY): 1 keeps
        # Lightning from warning that a short epoch has fewer batches than its default interval of 50
        log_every_n_steps=1,
    )
    return trainer, study_log, checkpoint, clock


def _fit(trainer: pl.Trainer, task: WeightedTask, datamodule, study_log: StudyLog, batch_size: int,
         ckpt_path: str | None) -> None:
    """trainer.fit, from ``ckpt_path`` when resuming; a cancelled job or a full memory said in words."""
    try:
        trainer.fit(task, datamodule=datamodule, ckpt_path=ckpt_path)
    except SIGTERMException as err:  # a SystemExit with status 0: it would pass for success
        raise TrainingError(
            f"experiment {task.experiment}: stopped by SIGTERM at step {trainer.global_step} (job cancelled, "
            "preempted or out of time); its last checkpoint is kept and the next run resumes from it"
        ) from err
    except torch.OutOfMemoryError as err:
        per_pass = min(task.chunk_molecules or batch_size, batch_size)
        raise TrainingError(
            f"experiment {task.experiment}: out of memory at batch size {batch_size}"
            f"{f' in chunks of {per_pass}' if per_pass < batch_size else ''}; try training.chunk_size: "
            f"{max(1, per_pass // 2)} for this experiment (the same optimizer steps in smaller passes)"
        ) from err
    finally:
        study_log.flush()


def _publish_logs(work_dir: Path, out_dir: Path) -> None:
    """The curves, grown beside the checkpoints, copied to the run's outputs."""
    for name in CURVES:
        with atomic_path(out_dir / name) as tmp:
            shutil.copyfile(work_dir / name, tmp)


def _keep_best_model(task: WeightedTask, checkpoint, settings: dict, seed: int, out_dir: Path) -> None:
    """model.pt from the checkpoint with the best validation loss (the last one if none was ranked)."""
    best = checkpoint.best_model_path or str(out_dir / CHECKPOINTS / LAST)
    task.load_state_dict(torch.load(best, map_location="cpu", weights_only=True)["state_dict"])
    save_model(task.model, settings, seed, out_dir / MODEL)
