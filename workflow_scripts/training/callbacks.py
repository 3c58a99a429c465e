"""Lightning callbacks of a training: the study's CSV curves and progress lines, and resumable weight averaging."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd
import pytorch_lightning as pl
import schnetpack as spk
from torch_ema import ExponentialMovingAverage as EMA

from workflow_scripts import targets
from workflow_scripts.files.atomic import write_csv
from workflow_scripts.run_files import VAL_LOG, curve_columns
from workflow_scripts.targets import Target
from workflow_scripts.training.task import batch_stats

log = logging.getLogger(__name__)


def train_log_columns(target: Target) -> list[str]:
    return ["step", "epoch", *batch_stats(target), "lr"]


def val_log_columns(target: Target) -> list[str]:
    return curve_columns(target)[VAL_LOG]


U0 = targets.get(targets.DEFAULT)
TRAIN_LOG_COLUMNS, VAL_LOG_COLUMNS = train_log_columns(U0), val_log_columns(U0)  # the thesis study's


class WeightAverage(spk.train.ExponentialMovingAverage):
    """SchNetPack's ExponentialMovingAverage callback, resumable exactly.

    Validation, and so every checkpoint and the exported model, sees the averaged weights; training goes on
    from the raw ones, which the average keeps aside while validating. A checkpoint is written after
    validation, so its model weights are the averaged ones. SchNetPack's callback resumes training from those
    (it sets aside the weights it finds), not from the raw weights its own saved state holds; this puts the
    raw weights back first, so a resumed run continues as an uninterrupted one would.
    """

    def on_fit_start(self, trainer, pl_module):
        if self._to_load is not None:
            if self.ema is None:
                self.ema = EMA(pl_module.model.parameters(), decay=self.decay)
            self.ema.load_state_dict(self._to_load)
            self._to_load = None
            self.ema.restore()  # the raw training weights, set aside at the checkpoint's validation
        super().on_fit_start(trainer, pl_module)


class TrainingClock(pl.Callback):
    """Seconds spent training, carried in the checkpoints (Lightning saves a callback's ``state_dict``).

    A resumed run's time is the earlier runs' up to the checkpoint it resumes from plus its own, so a training
    interrupted and resumed, or re-run after it had finished, reports the time that made its model, not the
    last job's few seconds (Table 2's runtime column)."""

    def __init__(self):
        self.before = 0.0  # earlier runs' seconds, restored from the checkpoint resumed from
        self.started: float | None = None

    def on_train_start(self, trainer, task):
        self.started = time.perf_counter()

    def this_run(self) -> float:
        return 0.0 if self.started is None else time.perf_counter() - self.started

    def seconds(self) -> float:
        return self.before + self.this_run()

    def state_dict(self) -> dict:
        return {"seconds": self.seconds()}

    def load_state_dict(self, state_dict: dict) -> None:
        self.before = float(state_dict.get("seconds", 0.0))


class PlateauSchedule(pl.Callback):
    """Steps ReduceLROnPlateau on each validation's loss before that validation's checkpoint is written.

    Lightning steps a plateau schedule at the end of the epoch, after ModelCheckpoint has saved the epoch (in
    ``on_validation_end``, or ``on_train_epoch_end`` when every epoch validates), and when it resumes from such a
    checkpoint it leaves that step out (the metric is not in the checkpoint). A run cut off after a validation then
    went on with a schedule that had not seen it: at the old learning rate where that validation had lowered it,
    or nearer to or further from its next reduction. Stepped here (Lightning runs ModelCheckpoint's hooks after
    every other callback's), the checkpoint holds the stepped schedule; ``WeightedTask.lr_scheduler_step`` leaves
    Lightning's own step out. Lightning steps on validating epochs only (frequency ``validate_every``), as this does.
    An uninterrupted run takes the same steps with the same losses, before the same training steps: its numbers do
    not change.
    """

    def on_validation_end(self, trainer, task):
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        for config in trainer.lr_scheduler_configs:
            if config.reduce_on_plateau:
                config.scheduler.step(trainer.callback_metrics[config.monitor])


class StudyLog(pl.Callback):
    """Writes train_log.csv (per step) and val_log.csv (per epoch); plain progress lines."""

    def __init__(self, train_csv, val_csv, every_seconds: float = 20.0, resume: bool = False, target: Target = U0):
        self.train_csv, self.val_csv = Path(train_csv), Path(val_csv)
        self.target = target
        self.every = every_seconds
        self.train_rows = pd.read_csv(self.train_csv).to_dict("records") if resume and self.train_csv.exists() else []
        self.val_rows = pd.read_csv(self.val_csv).to_dict("records") if resume and self.val_csv.exists() else []
        self.last_line = 0.0

    def on_train_start(self, trainer, task):
        # A resumed run goes on from its checkpoint's step: rows logged after it
        # (the rest of an epoch cut off by SIGTERM) are trained again.
        self.train_rows = [r for r in self.train_rows if r["step"] <= trainer.global_step]
        self.val_rows = [r for r in self.val_rows if r["step"] <= trainer.global_step]

    def on_train_batch_end(self, trainer, task, outputs, batch, batch_idx):
        if task.batch_stats is None:
            return
        lr = trainer.optimizers[0].param_groups[0]["lr"]
        row = {"step": trainer.global_step, "epoch": trainer.current_epoch, **task.batch_stats, "lr": lr}
        self.train_rows.append(row)
        now = time.monotonic()
        if now - self.last_line > self.every:
            self.last_line = now
            total = trainer.num_training_batches
            log.info(
                "epoch %d/%d batch %d/%d step %d: loss %.4g (batch max-5 %.4g, min-5 %.4g) lr %.2g",
                trainer.current_epoch + 1, trainer.max_epochs, batch_idx + 1, total, trainer.global_step,
                row["loss_mean"], row["loss_top5_mean"], row["loss_bottom5_mean"], lr,
            )

    def on_validation_epoch_end(self, trainer, task):
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        target = self.target
        mse, mae = val_log_columns(target)[2:]
        # the task logs the stored unit (eV): MSE stays in it (the thesis's eV^2), the MAE goes to the display unit
        row = {"epoch": trainer.current_epoch, "step": trainer.global_step,
               mse: float(metrics["val_loss"]), mae: target.factor * float(metrics["val_mae"])}
        self.val_rows.append(row)
        log.info(
            "epoch %d/%d done: validation MSE %.4g %s, MAE %.4g %s", trainer.current_epoch + 1,
            trainer.max_epochs, row[mse], target.squared_unit, row[mae], target.display_unit,
        )
        self.flush()

    def flush(self):
        write_csv(pd.DataFrame(self.train_rows, columns=train_log_columns(self.target)), self.train_csv)
        write_csv(pd.DataFrame(self.val_rows, columns=val_log_columns(self.target)), self.val_csv)
