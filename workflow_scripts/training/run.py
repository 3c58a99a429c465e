"""Training one experiment with one seed: SchNetPack model, Lightning loop.

The model is SchNetPack's QM9 recipe for U0 (PairwiseDistances -> SchNet ->
Atomwise sum, mean and atom references removed from the targets and added
back to the predictions). The task is SchNetPack's ``AtomisticTask`` with one
change: the loss is a per-molecule weighted MSE, and the per-molecule losses
of every batch are logged (mean, 5 largest, 5 smallest: thesis Appendix
Figures 3 and 4).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
from pytorch_lightning.utilities.exceptions import SIGTERMException
import torch
from torch import nn
from torch_ema import ExponentialMovingAverage as EMA

import schnetpack as spk
import schnetpack.transform as trn

from workflow_scripts.files.atomic import atomic_path, write_csv, write_text
from workflow_scripts.training.batch_chunks import chunk_molecules, split_batch
from workflow_scripts.properties import LOSS_WEIGHT, U0, ZMAX
from workflow_scripts.files.damage import resumable_step
from workflow_scripts.training.devices import torch_device
from workflow_scripts.training.packed_data import PackedDataModule, load_store
from workflow_scripts.training.pair_symmetric_schnet import PairSymmetricSchNet
from workflow_scripts.training.tensorboard_log import tensorboard_logging

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot go on; the message says why and what to change."""


class LossWeight(trn.Transform):
    """Adds each molecule's loss weight to its inputs, looked up by database index."""

    is_preprocessor = True
    is_postprocessor = False

    def __init__(self, weights_by_index: np.ndarray):
        super().__init__()
        self.weights = torch.as_tensor(weights_by_index, dtype=torch.float64)

    def forward(self, inputs):
        inputs[LOSS_WEIGHT] = self.weights[inputs[spk.properties.idx]]
        return inputs


def build_model(model_settings: dict, atomref: np.ndarray | None = None) -> spk.model.NeuralNetworkPotential:
    """SchNet for U0 as in SchNetPack's QM9 recipe (thesis Figure 2).

    ``model.energy_reference`` says what is added to the network's output: ``qm9_atoms``, SchNetPack's recipe
    (QM9's free-atom energies and the training mean per atom, set from the data module); ``fitted``, per-element
    energies fitted on the training molecules (``atomref``, eV by atomic number; zeros until a state_dict is
    loaded), so that the network learns only what the composition does not explain. ``model.implementation``
    picks SchNet's forward: ``pair_symmetric`` (one filter evaluation per atom pair) or ``schnetpack``; both have
    SchNetPack's parameters.
    """
    cutoff = model_settings["model_cutoff"]
    n_atom_basis = model_settings["n_atom_basis"]
    if model_settings["energy_reference"] == "fitted":
        fitted = torch.zeros(ZMAX, dtype=torch.float64) if atomref is None else torch.as_tensor(atomref, dtype=torch.float64)
        offsets = trn.AddOffsets(U0, add_mean=False, add_atomrefs=True, atomrefs=fitted)
    else:
        offsets = trn.AddOffsets(U0, add_mean=True, add_atomrefs=True)
    pair_symmetric = model_settings["implementation"] == "pair_symmetric"
    schnet = PairSymmetricSchNet if pair_symmetric else spk.representation.SchNet
    representation = schnet(
        n_atom_basis=n_atom_basis,
        n_interactions=model_settings["n_interactions"],
        radial_basis=spk.nn.GaussianRBF(n_rbf=model_settings["n_rbf"], cutoff=cutoff),
        cutoff_fn=spk.nn.CosineCutoff(cutoff),
    )
    return spk.model.NeuralNetworkPotential(
        representation=representation,
        input_modules=[spk.atomistic.PairwiseDistances()],
        output_modules=[spk.atomistic.Atomwise(n_in=n_atom_basis, output_key=U0, aggregation_mode="sum")],
        postprocessors=[trn.CastTo64(), offsets],
    )


def input_transforms(data_cutoff: float, targets: bool, weights: np.ndarray | None = None,
                     atomref: np.ndarray | None = None, neighbor_list=trn.ASENeighborList) -> list:
    """Per-molecule transforms of SchNetPack's data path; ``atomref``: fitted per-element energies (see build_model).

    ``neighbor_list``: SchNetPack's neighbor-list transform (ASE's by default; the benchmark also runs MatScipy's).
    """
    transforms = [neighbor_list(cutoff=data_cutoff)]
    if targets and atomref is not None:
        fitted = torch.as_tensor(atomref, dtype=torch.float64)
        transforms += [trn.CastTo64(), trn.RemoveOffsets(U0, remove_mean=False, remove_atomrefs=True, atomrefs=fitted)]
    elif targets:
        transforms.append(trn.RemoveOffsets(U0, remove_mean=True, remove_atomrefs=True))
    if weights is not None:
        transforms.append(LossWeight(weights))
    transforms.append(trn.CastTo32())
    return transforms


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


class WeightedU0Task(spk.task.AtomisticTask):
    """AtomisticTask with a per-molecule weighted MSE loss and batch loss statistics.

    ``scheduler``: ``{"kind": "plateau", "factor", "patience"}`` (SchNetPack's ReduceLROnPlateau on the
    validation loss, once per epoch), ``{"kind": "cosine", "warmup_fraction", "final_lr_fraction"}`` (per step
    over ``total_steps``) or None (constant). ``chunk_molecules``: a larger batch runs as chunks of this many
    molecules, gradients added up before the one optimizer step (batch_chunks.py).
    """

    def __init__(self, model, lr: float, scheduler: dict | None, experiment: str, total_steps: int | None = None,
                 validate_every: int = 1, chunk_molecules: int | None = None):
        plateau = bool(scheduler) and scheduler["kind"] == "plateau"
        super().__init__(
            model=model,
            outputs=[spk.task.ModelOutput(name=U0, loss_fn=None, metrics={})],
            optimizer_cls=torch.optim.Adam,
            optimizer_args={"lr": lr},
            scheduler_cls=spk.train.ReduceLROnPlateau if plateau else None,
            scheduler_args={"factor": scheduler["factor"], "patience": scheduler["patience"]} if plateau else None,
            scheduler_monitor="val_loss" if plateau else None,
        )
        self.cosine = scheduler if scheduler and scheduler["kind"] == "cosine" else None
        if self.cosine and not total_steps:
            raise ValueError("a cosine learning-rate schedule needs the run's total_steps")
        self.total_steps = total_steps
        self.validate_every = validate_every  # epochs between validations: when the plateau schedule may step
        self.experiment = experiment
        self.chunk_molecules = chunk_molecules  # molecules per forward/backward pass (batch_chunks.py); None: all
        self.batch_stats: dict | None = None

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

    def per_molecule(self, batch):
        target = batch[U0]  # the model writes its output under the same key
        pred = self.predict_without_postprocessing(batch)
        error = pred[U0] - target
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
            raise ValueError("WeightedU0Task accumulates within a batch (training.chunk_size), not across batches")

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
        self.batch_stats = dict(zip(TRAIN_LOG_COLUMNS[2:8], stats))
        self.log("train_loss", stats[0], on_step=True, on_epoch=False, batch_size=n)
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


class StudyLog(pl.Callback):
    """Writes train_log.csv (per step) and val_log.csv (per epoch); plain progress lines."""

    def __init__(self, train_csv, val_csv, every_seconds: float = 20.0, resume: bool = False):
        self.train_csv, self.val_csv = Path(train_csv), Path(val_csv)
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
        row = {
            "epoch": trainer.current_epoch,
            "step": trainer.global_step,
            "val_mse_eV2": float(metrics["val_loss"]),
            "val_mae_meV": 1000.0 * float(metrics["val_mae"]),
        }
        self.val_rows.append(row)
        log.info(
            "epoch %d/%d done: validation MSE %.4g eV^2, MAE %.1f meV",
            trainer.current_epoch + 1, trainer.max_epochs, row["val_mse_eV2"], row["val_mae_meV"],
        )
        self.flush()

    def flush(self):
        write_csv(pd.DataFrame(self.train_rows, columns=TRAIN_LOG_COLUMNS), self.train_csv)
        write_csv(pd.DataFrame(self.val_rows, columns=VAL_LOG_COLUMNS), self.val_csv)


# loss_*: the per-molecule loss the optimizer sees (v * squared error, v the loss weight); mse_eV2 and
# sqerr_*: the plain squared error, comparable between weighted and unweighted runs.
TRAIN_LOG_COLUMNS = ["step", "epoch", "loss_mean", "loss_top5_mean", "loss_bottom5_mean",
                     "mse_eV2", "sqerr_top5_mean_eV2", "sqerr_bottom5_mean_eV2", "lr"]
VAL_LOG_COLUMNS = ["epoch", "step", "val_mse_eV2", "val_mae_meV"]


def fingerprint(settings: dict) -> str:
    """Identifies what a checkpoint was trained for; resuming needs it to match."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def data_module(db_path, work_dir: Path, idx: dict, batch_size: int, data_cutoff: float, weights: np.ndarray,
                atomref: np.ndarray | None = None, stratified: bool = False, neighbor_list=trn.ASENeighborList,
                num_workers: int = 0):
    split_file = work_dir / "split.npz"
    np.savez(split_file, train_idx=idx["train"], val_idx=idx["val"], test_idx=idx["test"])
    sampler = {}
    if stratified:
        sampler = dict(train_sampler_cls=spk.data.sampler.StratifiedSampler,
                       train_sampler_args={"partition_criterion": spk.data.sampler.NumberOfAtomsCriterion(),
                                           "num_samples": len(idx["train"]), "num_bins": 27, "verbose": False})
    return spk.data.AtomsDataModule(
        str(db_path),
        batch_size=batch_size,
        split_file=str(split_file),
        load_properties=[U0],
        property_units={U0: "eV"},
        distance_unit="Ang",
        train_transforms=input_transforms(data_cutoff, targets=True, weights=weights, atomref=atomref,
                                          neighbor_list=neighbor_list),
        val_transforms=input_transforms(data_cutoff, targets=True, atomref=atomref, neighbor_list=neighbor_list),
        test_transforms=input_transforms(data_cutoff, targets=True, atomref=atomref, neighbor_list=neighbor_list),
        **sampler,
        num_workers=num_workers,  # the workflow: 0, worker processes cost more than they save at 1-2 threads a job
        pin_memory=torch.cuda.is_available(),
    )


def step_budget(training: dict, n_train: int, n_training_set: int) -> tuple[int, int, int]:
    """(optimizer steps, epochs, epochs between validations) of a run under ``training.budget``.

    ``epochs`` (the thesis's rule): ``training.epochs`` passes over the run's own training molecules, so a
    smaller subset gets fewer steps. ``equal_steps``: as many steps as ``training.epochs`` passes over the whole
    training set (``n_training_set`` molecules) take at the run's batch size, so every experiment with the
    baseline's epochs and batch size gets the baseline's steps, however small its subset. A small subset's
    epochs are short, so it validates every few epochs, about once per whole-training-set epoch, as the
    baseline does (early stopping then counts alike). Runs end on a validated epoch (checkpoints are written
    there, and Lightning resumes exactly only from epoch ends), so steps are rounded up to the next one.
    """
    batch, epochs = training["batch_size"], training["epochs"]
    per_epoch = math.ceil(n_train / batch)
    per_full_epoch = math.ceil(n_training_set / batch)
    equal = training["budget"] == "equal_steps"
    steps = epochs * (per_full_epoch if equal else per_epoch)
    every = max(1, per_full_epoch // per_epoch) if equal else 1
    epochs_run = math.ceil(steps / (per_epoch * every)) * every
    return epochs_run * per_epoch, epochs_run, every


def train(
    data_path, idx: dict, weights: np.ndarray, settings: dict, seed: int, out_dir, threads: int = 1,
    progress_bar: bool | None = None, atomref: np.ndarray | None = None, n_training_set: int | None = None,
    tensorboard: bool = False,
) -> dict:
    """Train one experiment and seed; write model.pt, train_log.csv and val_log.csv; return the timing.

    ``data_path`` is the packed store or SchNetPack's ASE database of the pool
    (``training.data_path``); ``idx`` maps train/val/test to pool indices and
    ``weights`` holds every pool molecule's loss weight. ``atomref`` holds the fitted per-element
    energies when ``model.energy_reference`` is ``fitted``; ``n_training_set`` the molecules of the whole
    training set, for the ``equal_steps`` budget (default: this run's). An interrupted run resumes from
    ``out_dir/checkpoints/last.ckpt`` when it was made for the same settings (and loads). ``tensorboard``: also
    log the curves for TensorBoard in ``out_dir/tensorboard`` (tensorboard_log.py).
    """
    out_dir = Path(out_dir)
    work_dir = out_dir / "checkpoints"
    work_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(threads)
    pl.seed_everything(seed, workers=True, verbose=False)
    name = settings["name"]
    training = settings["training"]
    if settings["model"]["energy_reference"] == "fitted" and atomref is None:
        raise ValueError(f"experiment {name}: model.energy_reference is fitted, but no fitted atom energies were given")
    max_steps, max_epochs, validate_every = step_budget(training, len(idx["train"]),
                                                        n_training_set or len(idx["train"]))
    identity = fingerprint({"settings": settings, "seed": seed, "n_train": len(idx["train"]), "steps": max_steps})
    last = work_dir / "last.ckpt"
    stamp = work_dir / "fingerprint.txt"
    resume = last.exists() and stamp.exists() and stamp.read_text().strip() == identity
    if last.exists() and not resume:
        log.warning("checkpoint %s was made for other settings; training %s from scratch", last, name)
        for old in work_dir.glob("*.ckpt"):
            old.unlink()
    resume_step = resumable_step(work_dir) if resume else None  # None: damaged, warned, from scratch
    resume = resume_step is not None
    write_text(stamp, identity)

    data_cutoff = settings["model"]["data_cutoff"]
    stratified = training["sampler"] == "stratified_by_size"
    if training["data_path"] == "packed":
        datamodule = PackedDataModule(load_store(data_path), idx, weights, training["batch_size"], data_cutoff, seed,
                                      fitted_atomref=atomref, stratified=stratified)
    else:
        datamodule = data_module(data_path, work_dir, idx, training["batch_size"], data_cutoff, weights,
                                 atomref=atomref, stratified=stratified)
    device = torch_device()
    chunk = chunk_molecules(training["chunk_size"], device)
    task = WeightedU0Task(build_model(settings["model"], atomref), training["lr"], training["scheduler"], name,
                          total_steps=max_steps, validate_every=validate_every, chunk_molecules=chunk)
    # The logs grow beside the checkpoints (Snakemake deletes a failed job's
    # outputs) and are copied to the outputs at the end, so a resumed run
    # continues the curves it had.
    study_log = StudyLog(work_dir / "train_log.csv", work_dir / "val_log.csv", resume=resume)
    checkpoint = pl.callbacks.ModelCheckpoint(
        dirpath=work_dir, filename="best", monitor="val_loss", save_top_k=1, save_last=True
    )
    callbacks = [study_log, checkpoint]
    if training["ema_decay"]:
        callbacks.append(WeightAverage(decay=training["ema_decay"]))
    if training["early_stopping_patience"]:
        callbacks.append(pl.callbacks.EarlyStopping(monitor="val_loss", patience=training["early_stopping_patience"]))
    logger, logging_callbacks = tensorboard_logging(out_dir, settings, seed, tensorboard, resume_step)
    callbacks += logging_callbacks
    if progress_bar is None:
        progress_bar = sys.stderr.isatty()
    trainer = pl.Trainer(
        max_epochs=max_epochs,
        check_val_every_n_epoch=validate_every,
        accelerator="auto",
        devices=1,
        callbacks=callbacks,
        logger=logger,
        enable_progress_bar=progress_bar,
        enable_model_summary=False,
        default_root_dir=str(work_dir),
        deterministic=False,
        num_sanity_val_steps=0,
    )
    log.info(
        "training %s seed %d on %s: %d train / %d val molecules, batch %d%s, %d steps (%d epochs, budget rule %s)%s",
        name, seed, device.type, len(idx["train"]), len(idx["val"]), training["batch_size"],
        f" in chunks of {chunk}" if chunk and chunk < training["batch_size"] else "", max_steps, max_epochs,
        training["budget"], f", resuming from {last}" if resume else "",
    )
    start = time.perf_counter()
    try:
        trainer.fit(task, datamodule=datamodule, ckpt_path=str(last) if resume else None)
    except SIGTERMException as err:  # a SystemExit with status 0: it would pass for success
        raise TrainingError(
            f"experiment {name}: stopped by SIGTERM at step {trainer.global_step} (job cancelled, preempted or out "
            "of time); its last checkpoint is kept and the next run resumes from it"
        ) from err
    except torch.OutOfMemoryError as err:
        per_pass = min(chunk or training["batch_size"], training["batch_size"])
        raise TrainingError(
            f"experiment {name}: out of memory at batch size {training['batch_size']}"
            f"{f' in chunks of {per_pass}' if per_pass < training['batch_size'] else ''}; try training.chunk_size: "
            f"{max(1, per_pass // 2)} for this experiment (the same optimizer steps in smaller passes)"
        ) from err
    finally:
        study_log.flush()
    train_seconds = time.perf_counter() - start
    for log_name in ("train_log.csv", "val_log.csv"):
        with atomic_path(out_dir / log_name) as tmp:
            shutil.copyfile(work_dir / log_name, tmp)

    best = checkpoint.best_model_path or str(last)
    state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    task.load_state_dict(state)
    model_state = {k: v.cpu() for k, v in task.model.state_dict().items()}
    with atomic_path(out_dir / "model.pt") as tmp:
        torch.save({"state_dict": model_state, "settings_json": json.dumps(settings), "seed": seed}, tmp)
    timing = {
        "train_seconds": train_seconds,
        "epochs_run": trainer.current_epoch,
        "steps": trainer.global_step,
        "step_budget": max_steps,
        "budget_rule": training["budget"],
        "device": "gpu" if device.type == "cuda" else "cpu",
        "threads": threads,
        "best_val_mse_eV2": float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else math.nan,
        "n_train": len(idx["train"]),
        "n_val": len(idx["val"]),
        "resumed": resume,
    }
    return timing


def load_model(path) -> tuple[nn.Module, dict]:
    """A trained model from model.pt; tensors and JSON only, no pickled code."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    settings = json.loads(saved["settings_json"])
    settings["model"].setdefault("implementation", "schnetpack")  # models saved before the key existed
    model = build_model(settings["model"])
    for key, value in saved["state_dict"].items():
        # AddOffsets' mean is a shape-[] buffer after training, shape [1] when built
        owner, _, name = key.rpartition(".")
        buffers = model.get_submodule(owner)._buffers
        if name in buffers and buffers[name].shape != value.shape:
            buffers[name] = torch.empty_like(value)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, settings


@torch.no_grad()
def predict(model, settings: dict, db_path, indices: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predicted U0 (eV) of the database molecules at ``indices``, in that order."""
    device = torch_device()
    model = model.to(device)
    dataset = spk.data.ASEAtomsData(
        str(db_path), load_properties=[U0], transforms=input_transforms(settings["model"]["data_cutoff"], targets=False)
    ).subset([int(i) for i in indices])
    loader = spk.data.AtomsLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    predictions = []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        predictions.append(model(batch)[U0].double().cpu())
    return torch.cat(predictions).numpy()
