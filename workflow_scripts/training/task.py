"""The training task: SchNetPack's ``AtomisticTask`` with a per-molecule weighted MSE and its batch statistics.

Each step logs the per-molecule losses of its batch (mean, 5 largest, 5 smallest: thesis Appendix Figures 3
and 4); a large batch may run in chunks whose gradients add up to one optimizer step (batch_chunks.py).
"""

from __future__ import annotations

import inspect
import math

import schnetpack as spk
import torch

from workflow_scripts import targets
from workflow_scripts.properties import LOSS_WEIGHT
from workflow_scripts.targets import Target
from workflow_scripts.training.batch_chunks import split_batch


def batch_stats(target: Target) -> tuple[str, ...]:
    """A step's statistics, in train_log.csv's names. loss_*: the per-molecule loss the optimizer sees (v * squared
    error, v the loss weight); mse and sqerr_*: the plain squared error in the target's stored unit squared
    (``mse_eV2`` for U0), comparable between weighted and unweighted runs."""
    squared = target.mse_column.removeprefix("mse_")
    return ("loss_mean", "loss_top5_mean", "loss_bottom5_mean",
            target.mse_column, f"sqerr_top5_mean_{squared}", f"sqerr_bottom5_mean_{squared}")


BATCH_STATS = batch_stats(targets.get(targets.DEFAULT))  # the thesis study's (U0)


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why and what to change."""


def cosine_factor(step: int, total_steps: int, warmup_fraction: float, final_lr_fraction: float) -> float:
    """Learning-rate factor at ``step``: a linear warm-up, then a cosine from 1 down to ``final_lr_fraction``.

    Made for a fixed step budget: the rate is high while the model is far off and small at the end, so a short
    run ends settled instead of still falling (ReduceLROnPlateau never fires within a few epochs).
    """
    warmup = max(1, round(warmup_fraction * total_steps))
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return final_lr_fraction + (1 - final_lr_fraction) * 0.5 * (1 + math.cos(math.pi * progress))


class WeightedTask(spk.task.AtomisticTask):
    """AtomisticTask with a per-molecule weighted MSE loss of the study's target and batch loss statistics.

    ``scheduler``: ``{"kind": "plateau", "factor", "patience"}`` (SchNetPack's ReduceLROnPlateau on the
    validation loss, once per epoch), ``{"kind": "cosine", "warmup_fraction", "final_lr_fraction"}`` (per step
    over ``total_steps``) or None (constant). ``chunk_molecules``: a larger batch runs as chunks of this many
    molecules, gradients added up before the one optimizer step (batch_chunks.py).
    """

    def __init__(self, model, lr: float, scheduler: dict | None, experiment: str, total_steps: int | None = None,
                 validate_every: int = 1, chunk_molecules: int | None = None, target: str = targets.DEFAULT):
        spec = targets.get(target)
        plateau = bool(scheduler) and scheduler["kind"] == "plateau"
        super().__init__(
            model=model,
            outputs=[spk.task.ModelOutput(name=spec.key, loss_fn=None, metrics={})],
            optimizer_cls=torch.optim.Adam,
            optimizer_args={"lr": lr},
            scheduler_cls=spk.train.ReduceLROnPlateau if plateau else None,
            scheduler_args={"factor": scheduler["factor"], "patience": scheduler["patience"]} if plateau else None,
            scheduler_monitor="val_loss" if plateau else None,
        )
        self.target = spec
        self.cosine = scheduler if scheduler and scheduler["kind"] == "cosine" else None
        if self.cosine and not total_steps:
            raise ValueError("a cosine learning-rate schedule needs the run's total_steps")
        self.total_steps = total_steps
        self.validate_every = validate_every  # epochs between validations: when the plateau schedule may step
        self.experiment = experiment
        self.chunk_molecules = chunk_molecules  # molecules per forward/backward pass (batch_chunks.py); None: all
        self.batch_stats: dict | None = None

    def save_hyperparameters(self, *args, ignore=None, frame=None, logger=True) -> None:
        # AtomisticTask saves every constructor argument; the model is a module, in the state dict already (and
        # Lightning warns about it): left out. The frame is the caller's, as Lightning would take it.
        ignore = ["model", *([ignore] if isinstance(ignore, str) else ignore or [])]
        super().save_hyperparameters(*args, ignore=ignore, frame=frame or inspect.currentframe().f_back, logger=logger)

    def configure_optimizers(self):
        if not self.cosine:
            configured = super().configure_optimizers()
            if isinstance(configured, tuple):  # ReduceLROnPlateau: step only after epochs that validate
                for schedule in configured[1]:
                    schedule["frequency"] = self.validate_every
            return configured
        optimizer = self.optimizer_cls(params=self.parameters(), **self.optimizer_kwargs)
        warmup, final = self.cosine["warmup_fraction"], self.cosine["final_lr_fraction"]
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: cosine_factor(step, self.total_steps, warmup, final)
        )
        return [optimizer], [{"scheduler": schedule, "interval": "step", "name": "lr_schedule"}]

    def lr_scheduler_step(self, scheduler, metric) -> None:
        # ReduceLROnPlateau steps in callbacks.PlateauSchedule, before each validation's checkpoint: Lightning would
        # step it after that checkpoint, and skip the step when it resumes from one
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            return
        super().lr_scheduler_step(scheduler, metric)

    def per_molecule(self, batch):
        key = self.target.key
        target = batch[key]  # before the forward: the model writes its output under the same key of the batch
        pred = self.predict_without_postprocessing(batch)
        error = pred[key] - target
        return error, error**2

    def on_save_checkpoint(self, checkpoint):
        # AtomisticTask saves the model object as a hyperparameter: pickled
        # code. Checkpoints keep tensors and plain values only, so that they
        # load with torch.load(weights_only=True).
        checkpoint.pop("hyper_parameters", None)

    def optimizer_zero_grad(self, epoch, batch_idx, optimizer):
        # Lightning zeroes gradients after training_step, which would drop the gradients of a chunked batch's
        # earlier chunks; training_step zeroes them before its first pass instead.
        pass

    def on_fit_start(self):
        super().on_fit_start()
        if self.trainer.accumulate_grad_batches != 1:  # would need Lightning's own zeroing between batches
            raise ValueError("WeightedTask accumulates within a batch (training.chunk_size), not across batches")

    def training_step(self, batch, batch_idx):
        if self._trainer is not None:
            for optimizer in self.trainer.optimizers:
                optimizer.zero_grad(set_to_none=True)
        n = len(batch[LOSS_WEIGHT])
        chunks = split_batch(batch, self.chunk_molecules)
        weighted_parts, plain_parts = [], []
        for index, chunk in enumerate(chunks):
            _, squared = self.per_molecule(chunk)
            weighted = squared * chunk[LOSS_WEIGHT].to(squared.dtype)
            weighted_parts.append(weighted.detach())
            plain_parts.append(squared.detach())
            if len(chunks) == 1:
                loss = weighted.mean()
            else:  # each chunk's share of the batch mean, so that the gradients add up to the batch's
                loss = weighted.sum() / n
                if index < len(chunks) - 1:
                    self._backward_now(loss)  # frees this chunk's graph before the next chunk's forward
        detached, plain = torch.cat(weighted_parts), torch.cat(plain_parts)
        k = min(5, n)
        # one device-to-host copy per step, the finiteness check included (each copy is a GPU sync)
        stats = torch.stack([
            detached.mean(), detached.topk(k).values.mean(), detached.topk(k, largest=False).values.mean(),
            plain.mean(), plain.topk(k).values.mean(), plain.topk(k, largest=False).values.mean(),
        ]).tolist()
        if not math.isfinite(stats[0]):
            raise TrainingError(
                f"experiment {self.experiment}: the training loss became {stats[0]} at step {self.global_step} "
                f"(epoch {self.current_epoch}); lower training.lr or the loss weighting's rate and run again "
                "(the last good checkpoint is kept)"
            )
        # read by the callbacks (train_log.csv, TensorBoard's train/*); not through self.log, which costs
        # about 2 ms a step, some 8 % of a quick-scale step
        self.batch_stats = dict(zip(batch_stats(self.target), stats))
        return loss  # Lightning's backward adds the last chunk's gradient to the others'

    def _backward_now(self, loss):
        """Backward of one chunk within a step (Lightning's own backward path, precision plugin included)."""
        if self._trainer is not None:
            self.trainer.strategy.backward(loss, None)
        else:
            loss.backward()

    def validation_step(self, batch, batch_idx):
        error, squared = self.per_molecule(batch)
        n = len(squared)
        self.log("val_loss", squared.mean(), on_epoch=True, prog_bar=True, batch_size=n)
        self.log("val_mae", error.abs().mean(), on_epoch=True, batch_size=n)
