"""Training with SchNetPack and Lightning on a tiny pool: outputs, loss, resume, safe loading."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from tests.unit.tiny_training import (  # noqa: F401 (fixtures)
    FITTED, PACKED, SETTINGS, fail_at_step, fitted_atomref, pool, steps_per_epoch)
from workflow_scripts.properties import U0
from workflow_scripts.training import packed_data
from workflow_scripts.training.packed_data import load_store
from workflow_scripts.training.budget import step_budget
from workflow_scripts.training.callbacks import TRAIN_LOG_COLUMNS, VAL_LOG_COLUMNS
from workflow_scripts.training.loop import train
from workflow_scripts.training.model import build_model, load_model
from workflow_scripts.training.schnetpack_data import data_module, predict
from workflow_scripts.training.task import TrainingError, WeightedTask, cosine_factor

def test_packed_and_schnetpack_paths_train_alike(pool, tmp_path):
    root, split, idx = pool
    packed = json.loads(json.dumps(SETTINGS))
    packed["training"]["data_pipeline"] = "packed"
    runs = {}
    for name, settings, data in (("schnetpack", SETTINGS, "pool.db"), ("packed", packed, "pool.npz")):
        train(root / data, idx, np.ones(len(split)), settings, seed=0, out_dir=tmp_path / name, progress_bar=False)
        runs[name] = pd.read_csv(tmp_path / name / "val_log.csv")
    # Same molecules, targets, neighbor pairs and initial weights; only the batch order differs.
    assert np.isfinite(runs["packed"]["val_mse_eV2"]).all()
    assert runs["packed"]["val_mse_eV2"].iloc[-1] < 10 * runs["schnetpack"]["val_mse_eV2"].iloc[0]


def test_train_writes_logs_model_and_predicts(pool, tmp_path):
    root, split, idx = pool
    timing = train(root / "pool.db", idx, np.ones(len(split)), SETTINGS, seed=0, out_dir=tmp_path, progress_bar=False)
    assert timing["epochs_run"] == 2 and timing["n_train"] == len(idx["train"]) and not timing["resumed"]
    log = pd.read_csv(tmp_path / "train_log.csv")
    assert list(log.columns) == TRAIN_LOG_COLUMNS and len(log) == timing["steps"]
    assert (log["loss_top5_mean"] >= log["loss_mean"]).all() and (log["loss_mean"] >= log["loss_bottom5_mean"]).all()
    assert (log["sqerr_top5_mean_eV2"] >= log["mse_eV2"]).all()
    assert (log["mse_eV2"] >= log["sqerr_bottom5_mean_eV2"]).all()
    assert np.isfinite(log[["loss_mean", "mse_eV2"]].to_numpy()).all()
    val = pd.read_csv(tmp_path / "val_log.csv")
    assert list(val.columns) == VAL_LOG_COLUMNS and val["epoch"].tolist() == [0, 1]
    model, settings = load_model(tmp_path / "model.pt")  # weights_only: tensors and JSON, no code
    assert settings["name"] == "tiny"
    predicted = predict(model, settings, root / "pool.db", idx["test"])
    assert predicted.shape == (len(idx["test"]),) and np.isfinite(predicted).all()
    # Atom references and the mean are added back: predictions are total energies (about -11,000 eV)
    assert -30000 < predicted.mean() < -1000
    checkpoint = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert "hyper_parameters" not in checkpoint


def test_rerun_resumes_from_checkpoint_and_other_settings_do_not(pool, tmp_path):
    root, split, idx = pool
    weights = np.ones(len(split))
    first = train(root / "pool.db", idx, weights, SETTINGS, seed=0, out_dir=tmp_path, progress_bar=False)
    steps = len(pd.read_csv(tmp_path / "train_log.csv"))
    longer = json.loads(json.dumps(SETTINGS))
    longer["training"]["epochs"] = 3
    timing = train(root / "pool.db", idx, weights, SETTINGS, seed=0, out_dir=tmp_path, progress_bar=False)
    assert timing["resumed"] and len(pd.read_csv(tmp_path / "train_log.csv")) == steps  # nothing left to do
    # the model's training time is the first run's (up to its last checkpoint), not the re-run's moment
    assert timing["train_seconds"] > 0.5 * first["train_seconds"]
    assert timing["train_seconds"] > timing["job_train_seconds"]
    assert first["job_train_seconds"] == first["train_seconds"]
    timing = train(root / "pool.db", idx, weights, longer, seed=0, out_dir=tmp_path, progress_bar=False)
    assert not timing["resumed"] and timing["epochs_run"] == 3  # another config: from scratch


def test_weighted_loss_is_the_weighted_mean_of_squared_errors(pool, tmp_path):
    root, split, idx = pool
    weights = np.linspace(1, 3, len(split))
    module = data_module(root / "pool.db", tmp_path, idx, 16, 4.0, weights)
    module.setup("fit")
    task = WeightedTask(build_model(SETTINGS["model"]), 1e-3, None, "tiny")
    task.model.initialize_transforms(module)
    batch = next(iter(module.train_dataloader()))
    target = batch[U0].clone()
    expected_weights = torch.as_tensor(weights[batch["_idx"].numpy()], dtype=torch.float32)
    loss = task.training_step(dict(batch), 0)
    pred = task.predict_without_postprocessing(dict(batch))[U0]
    manual = (expected_weights * (pred - target) ** 2).mean()
    assert loss.item() == pytest.approx(manual.item(), rel=1e-5)
    assert task.batch_stats["loss_top5_mean"] >= task.batch_stats["loss_mean"]


def test_non_finite_loss_names_experiment_and_step(pool, tmp_path):
    root, split, idx = pool
    module = data_module(root / "pool.db", tmp_path, idx, 16, 4.0, np.ones(len(split)))
    module.setup("fit")
    task = WeightedTask(build_model(SETTINGS["model"]), 1e-3, None, "tiny")
    task.model.initialize_transforms(module)
    batch = dict(next(iter(module.train_dataloader())))
    batch[U0] = batch[U0] * float("nan")
    with pytest.raises(TrainingError, match=r"experiment tiny: the training loss became nan at step 0 .*lower training.lr"):
        task.training_step(batch, 0)


def test_a_run_cut_off_mid_epoch_resumes_to_the_same_model(pool, tmp_path, monkeypatch):
    """Killed in its second epoch and run again, a training ends with the model and curves of an uninterrupted one."""
    root, split, idx = pool
    weights = np.ones(len(split))
    train(root / "pool.npz", idx, weights, PACKED, seed=0, out_dir=tmp_path / "whole", progress_bar=False)
    per_epoch = steps_per_epoch(idx, PACKED["training"]["batch_size"])
    with monkeypatch.context() as patch:
        fail_at_step(patch, per_epoch + 2, RuntimeError("the machine went away"))
        with pytest.raises(RuntimeError, match="went away"):
            train(root / "pool.npz", idx, weights, PACKED, seed=0, out_dir=tmp_path / "cut", progress_bar=False)
    assert not (tmp_path / "cut/model.pt").exists()
    timing = train(root / "pool.npz", idx, weights, PACKED, seed=0, out_dir=tmp_path / "cut", progress_bar=False)
    assert timing["resumed"] and timing["train_seconds"] > timing["job_train_seconds"]  # the first epoch's time too
    whole, cut = (torch.load(tmp_path / d / "model.pt", weights_only=True)["state_dict"] for d in ("whole", "cut"))
    for key in whole:
        torch.testing.assert_close(cut[key], whole[key], rtol=1e-6, atol=0, msg=key)
    for log in ("train_log.csv", "val_log.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "cut" / log), pd.read_csv(tmp_path / "whole" / log),
                                      rtol=1e-6)


def test_a_nan_loss_stops_with_a_hint_and_keeps_the_last_good_checkpoint(pool, tmp_path, monkeypatch):
    root, split, idx = pool
    per_epoch = steps_per_epoch(idx, PACKED["training"]["batch_size"])
    fail_at_step(monkeypatch, per_epoch + 1)  # in the second epoch
    with pytest.raises(TrainingError, match=rf"experiment tiny: the training loss became nan at step {per_epoch + 1} "
                                            r"\(epoch 1\); lower training.lr or the loss weighting's rate"):
        train(root / "pool.npz", idx, np.ones(len(split)), PACKED, seed=0, out_dir=tmp_path, progress_bar=False)
    assert not (tmp_path / "model.pt").exists()
    last = torch.load(tmp_path / "checkpoints/last.ckpt", weights_only=True)
    assert last["epoch"] == 0 and last["global_step"] == per_epoch  # the end of the good first epoch
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())


def test_out_of_memory_names_the_batch_size_to_try(pool, tmp_path, monkeypatch):
    root, split, idx = pool
    fail_at_step(monkeypatch, 0, torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    with pytest.raises(TrainingError, match=r"experiment tiny: out of memory at batch size 16; "
                                            r"try training.chunk_size: 8 for this experiment"):
        train(root / "pool.npz", idx, np.ones(len(split)), PACKED, seed=0, out_dir=tmp_path, progress_bar=False)


class Payload:
    """Stands for pickled code: unpickling it would import and run this module's code."""


def test_a_model_file_with_pickled_code_is_refused(tmp_path):
    settings_json = json.dumps(SETTINGS)
    torch.save({"state_dict": {}, "settings_json": settings_json, "seed": 0, "extra": Payload()}, tmp_path / "model.pt")
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_model(tmp_path / "model.pt")


# --- what makes a short run converge, and the step budget ---------------------------------------------------------

def test_step_budget_rules():
    training = {"batch_size": 10, "epochs": 3, "budget": "epochs"}
    assert step_budget(training, n_train=45, n_training_set=100) == (15, 3, 1)  # 3 epochs of 5 batches
    training["budget"] = "equal_steps"
    # the whole training set's 3 epochs of 10 batches, however small the subset: 30 steps, 6 of its epochs,
    # validated every 2 (once per 10 steps, as the whole set)
    assert step_budget(training, n_train=45, n_training_set=100) == (30, 6, 2)
    # rounded up to the next validated epoch: 30 steps of 4-batch epochs validated every 2 (8 steps): 32 steps
    assert step_budget(training, n_train=40, n_training_set=100) == (32, 8, 2)
    assert step_budget(training, n_train=25, n_training_set=100) == (36, 12, 3)  # 9 validated epochs: 27 steps
    assert step_budget(training, n_train=100, n_training_set=100) == (30, 3, 1)


def test_cosine_schedule_warms_up_then_decays_to_its_floor():
    factors = [cosine_factor(step, 100, 0.1, 0.02) for step in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[9:], factors[10:]))
    assert cosine_factor(100, 100, 0.1, 0.02) == pytest.approx(0.02)


def test_fitted_reference_run_trains_on_the_residual_and_predicts_total_energies(pool, fitted_atomref, tmp_path):
    root, split, idx = pool
    store = load_store(root / "pool.npz")
    subset = idx["train"][:60]  # a subset: the equal-steps budget gives it the whole training set's steps
    run_idx = {**idx, "train": subset}
    timing = train(root / "pool.npz", run_idx, np.ones(len(split)), FITTED, seed=0, out_dir=tmp_path,
                   progress_bar=False, atomref=fitted_atomref, n_training_set=len(idx["train"]))
    steps, epochs, every = step_budget(FITTED["training"], len(subset), len(idx["train"]))
    assert timing["steps"] == timing["step_budget"] == steps >= 2 * -(-len(idx["train"]) // 16)
    assert timing["epochs_run"] == epochs > 2  # more passes over the smaller subset
    assert len(pd.read_csv(tmp_path / "val_log.csv")) == epochs // every
    lr = pd.read_csv(tmp_path / "train_log.csv")["lr"].to_numpy()
    assert lr.max() == pytest.approx(1e-3) and lr[-1] < 0.1 * lr.max()  # the cosine decays over the budget
    model, settings = load_model(tmp_path / "model.pt")
    offsets = model.postprocessors[1]
    torch.testing.assert_close(offsets.atomref, torch.as_tensor(fitted_atomref, dtype=torch.float64))
    predicted = packed_data.predict(model, store, idx["test"], settings["model"]["data_cutoff"])
    # the fitted composition energies alone are within a few eV of U0; the model adds its residual to them
    composition = np.array([fitted_atomref[store.atomic_numbers[store.atoms_of(np.array([i]))]].sum()
                            for i in idx["test"]])
    assert np.abs(predicted - store.values[idx["test"]]).mean() < np.abs(composition - store.values[idx["test"]]).mean() + 1.0
    assert np.abs(predicted - composition).max() < 20


def test_fitted_reference_needs_its_atom_energies(pool, tmp_path):
    root, split, idx = pool
    with pytest.raises(ValueError, match="energy_reference is fitted"):
        train(root / "pool.npz", idx, np.ones(len(split)), FITTED, seed=0, out_dir=tmp_path, progress_bar=False)


def test_stratified_sampler_draws_every_size_alike_and_repeats_per_epoch(pool):
    root, split, idx = pool
    store = load_store(root / "pool.npz")
    module = packed_data.PackedDataModule(store, idx, np.ones(len(split)), 8, 4.0, seed=3, stratified=True)
    module.setup()
    sampler = module.train_dataloader().sampler
    assert sampler.sampling.__class__.__name__ == "StratifiedSampler"  # SchNetPack's own
    first = np.concatenate(list(sampler))
    sampler.set_epoch(0)
    assert np.array_equal(np.concatenate(list(sampler)), first)  # a resumed run draws the same molecules
    sampler.set_epoch(5)
    drawn = np.concatenate([np.concatenate(list(sampler)) for _ in range(40)])
    sizes = store.n_atoms[drawn]
    counts = pd.Series(sizes).value_counts()
    pool_counts = pd.Series(store.n_atoms[idx["train"]]).value_counts()
    assert counts.max() / counts.min() < 1.6  # every size about equally often ...
    assert pool_counts.max() / pool_counts.min() > 5  # ... though the sizes are far from equal in the pool


@pytest.mark.parametrize("precision", [32, "bf16-mixed"])
def test_the_quick_recipe_resumes_exactly(pool, fitted_atomref, tmp_path, monkeypatch, precision):
    """Fitted reference, cosine schedule and weight averaging, in either precision: a run cut off mid-epoch resumes
    to the same model."""
    root, split, idx = pool
    weights = np.ones(len(split))
    recipe = {**FITTED, "training": {**FITTED["training"], "precision": precision}}
    kwargs = dict(progress_bar=False, atomref=fitted_atomref, n_training_set=len(idx["train"]))
    train(root / "pool.npz", idx, weights, recipe, seed=0, out_dir=tmp_path / "whole", **kwargs)
    per_epoch = steps_per_epoch(idx, recipe["training"]["batch_size"])
    with monkeypatch.context() as patch:
        fail_at_step(patch, per_epoch + 2, RuntimeError("the machine went away"))
        with pytest.raises(RuntimeError, match="went away"):
            train(root / "pool.npz", idx, weights, recipe, seed=0, out_dir=tmp_path / "cut", **kwargs)
    assert train(root / "pool.npz", idx, weights, recipe, seed=0, out_dir=tmp_path / "cut", **kwargs)["resumed"]
    whole, cut = (torch.load(tmp_path / d / "model.pt", weights_only=True)["state_dict"] for d in ("whole", "cut"))
    for key in whole:
        torch.testing.assert_close(cut[key], whole[key], rtol=1e-6, atol=0, msg=key)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "cut/train_log.csv"),
                                  pd.read_csv(tmp_path / "whole/train_log.csv"), rtol=1e-6)


def test_plateau_schedule_steps_only_after_validating_epochs(pool, tmp_path):
    """A small subset validates every few epochs; ReduceLROnPlateau (the thesis's schedule) waits for those."""
    root, split, idx = pool
    settings = {**PACKED, "training": {**PACKED["training"], "budget": "equal_steps", "epochs": 2,
                                       "scheduler": {"kind": "plateau", "factor": 0.5, "patience": 0}}}
    subset = {**idx, "train": idx["train"][:30]}
    timing = train(root / "pool.npz", subset, np.ones(len(split)), settings, seed=0, out_dir=tmp_path,
                   progress_bar=False, n_training_set=len(idx["train"]))
    _, epochs, every = step_budget(settings["training"], 30, len(idx["train"]))
    assert every > 1 and timing["epochs_run"] == epochs
    assert len(pd.read_csv(tmp_path / "val_log.csv")) == epochs // every


def test_a_run_cut_off_after_a_plateau_reduction_resumes_to_the_same_model(pool, tmp_path, monkeypatch):
    """ReduceLROnPlateau (the thesis's schedule) steps after each validation. Lightning steps it after that
    validation's checkpoint and leaves the step out when it resumes from one; and its save_last writes last.ckpt
    only at a new best. A run cut off went back to its best validation with a schedule that had not seen it. Now
    last.ckpt is every validation's, written after the schedule's step (PlateauSchedule): a run cut off in the
    epoch after a reduction resumes from the reducing validation, at the reduced rate."""
    root, split, idx = pool
    # a learning rate high enough that validation stops improving within a few epochs
    settings = {**PACKED, "training": {**PACKED["training"], "epochs": 8, "lr": 0.03,
                                       "scheduler": {"kind": "plateau", "factor": 0.5, "patience": 0}}}
    weights = np.ones(len(split))
    train(root / "pool.npz", idx, weights, settings, seed=0, out_dir=tmp_path / "whole", progress_bar=False)
    whole_log = pd.read_csv(tmp_path / "whole/train_log.csv")
    reduced = whole_log.index[whole_log["lr"].diff() < 0]
    assert len(reduced), "no reduction of the learning rate to cut after: the test needs one"
    first_at_lower_lr = int(whole_log.loc[reduced[0], "step"])  # the first step of the epoch after the reduction
    with monkeypatch.context() as patch:
        fail_at_step(patch, first_at_lower_lr, RuntimeError("the machine went away"))
        with pytest.raises(RuntimeError, match="went away"):
            train(root / "pool.npz", idx, weights, settings, seed=0, out_dir=tmp_path / "cut", progress_bar=False)
    # the checkpoint to resume from: the validation that lowered the rate, the schedule stepped on it
    cut_at = torch.load(tmp_path / "cut/checkpoints/last.ckpt", weights_only=False)
    assert cut_at["global_step"] == first_at_lower_lr - 1
    assert cut_at["optimizer_states"][0]["param_groups"][0]["lr"] == whole_log.loc[reduced[0], "lr"]
    assert train(root / "pool.npz", idx, weights, settings, seed=0, out_dir=tmp_path / "cut",
                 progress_bar=False)["resumed"]
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "cut/train_log.csv"), whole_log, rtol=1e-6)
    whole, cut = (torch.load(tmp_path / d / "model.pt", weights_only=True)["state_dict"] for d in ("whole", "cut"))
    for key in whole:
        torch.testing.assert_close(cut[key], whole[key], rtol=1e-6, atol=0, msg=key)
