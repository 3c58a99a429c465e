"""TensorBoard logs of a training run, through Lightning's TensorBoardLogger, beside the CSV logs.

Each run writes ``<run folder>/tensorboard/``, so ``tensorboard --logdir results/<study>/experiments`` lists every run as
``<experiment>/seed<seed>/tensorboard``. Tags: ``train/<column>`` for every column of train_log.csv (every 10th step),
``val_loss`` (eV^2; the target's stored unit squared) and ``val_mae_meV`` (per validated epoch, from the task's own
logging; in the target's display unit as in val_log.csv and the report: ``val_mae_D`` for the dipole moment) and ``epoch`` (``train/loss_mean`` is the optimized loss); the run's settings and seed in
TensorBoard's HParams view, beside its validation MAE. Steps count from 0, Lightning's convention: TensorBoard's
step s is step s + 1 of train_log.csv and val_log.csv.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger

from workflow_scripts import targets
from workflow_scripts.targets import Target

TENSORBOARD_DIR = "tensorboard"
LOG_EVERY = 10  # steps between the study curves' TensorBoard points
# The task logs its validation MAE in the stored unit (val_mae, eV); TensorBoard shows it in the study's unit
MAE_TAG = "val_mae"
U0 = targets.get(targets.DEFAULT)
MAE_MEV_TAG = U0.metric(MAE_TAG)  # the thesis study's: val_mae_meV


def hparams_metrics(target: Target) -> tuple[str, str]:
    """The scalars HParams shows beside each run's settings (their last values)."""
    return target.metric(MAE_TAG), "val_loss"


def in_study_units(metrics: dict, target: Target = U0) -> dict:
    """The metrics with the validation MAE in the display unit under its own tag (the task logs the stored unit)."""
    if MAE_TAG not in metrics:
        return metrics
    metrics = dict(metrics)
    metrics[target.metric(MAE_TAG)] = target.factor * float(metrics.pop(MAE_TAG))
    return metrics


class SettingsTensorBoardLogger(TensorBoardLogger):
    """Lightning's TensorBoard logger whose hyperparameters are the run's settings, in TensorBoard's HParams view.

    Lightning would log the task's constructor arguments, which hold the model object itself; and without a
    metric (default_hp_metric off, so that no placeholder point enters a curve) it writes them to hparams.yaml only.
    """

    def __init__(self, settings: dict, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.settings = {**settings, "seed": seed}
        self.target = targets.of_settings(settings)

    def log_hyperparams(self, params, metrics=None, step=None) -> None:
        from lightning_fabric.utilities.logger import _flatten_dict
        from torch.utils.tensorboard.summary import hparams

        self.hparams.update(self.settings)  # hparams.yaml
        flat = self._sanitize_params(_flatten_dict(self.settings))  # training/lr; lists and null as text
        # the metrics only name scalars logged anyway: HParams shows their values, no point is written here
        writer = self.experiment._get_file_writer()
        for summary in hparams(flat, dict.fromkeys(hparams_metrics(self.target), 0.0)):
            writer.add_summary(summary)

    def log_metrics(self, metrics, step=None) -> None:
        super().log_metrics(in_study_units(metrics, self.target), step)


class TensorBoardCurves(pl.Callback):
    """The study's per-step curves (train_log.csv) in TensorBoard too, every ``every`` steps.

    From the batch statistics the task already copied to the host: no extra device synchronisation. Writing
    them costs about 0.3 ms a step on this CPU, some 3 % of a quick-scale step; every 10th step, 0.3 %.
    """

    def __init__(self, every: int | None = None):
        self.every = every or LOG_EVERY

    def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
        if task.batch_stats is None or trainer.logger is None or (trainer.global_step - 1) % self.every:
            return
        metrics = {f"train/{name}": value for name, value in task.batch_stats.items()}
        metrics["train/lr"] = trainer.optimizers[0].param_groups[0]["lr"]
        # Lightning's step for a batch's logs is the number of steps before it (0-based)
        trainer.logger.log_metrics(metrics, step=trainer.global_step - 1)


def tensorboard_logging(out_dir, settings: dict, seed: int, enabled: bool, resume_step: int | None):
    """(logger, callbacks) for pl.Trainer: TensorBoard in ``out_dir/tensorboard``, or (False, []) when not enabled.

    A run trained from scratch starts a new log; a resumed one drops what was logged after its checkpoint's step
    (``resume_step``), which it trains again, so the curves read as those of an uninterrupted run.
    """
    log_dir = Path(out_dir) / TENSORBOARD_DIR
    if resume_step is None and log_dir.exists():  # an earlier training's curves, on or off now
        shutil.rmtree(log_dir)
    if not enabled:
        return False, []
    purge = {} if resume_step is None else {"purge_step": resume_step}
    logger = SettingsTensorBoardLogger(settings, seed, save_dir=str(out_dir), name=TENSORBOARD_DIR, version="",
                                       default_hp_metric=False, **purge)
    return logger, [TensorBoardCurves()]
