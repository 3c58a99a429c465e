"""TensorBoard logs of a training, read back; the logger leaves the training itself unchanged."""

import numpy as np
import pandas as pd
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from tests.unit.tiny_training import FITTED, fail_at_step, fitted_atomref, pool, steps_per_epoch  # noqa: F401 (fixtures)
from workflow_scripts.training import tensorboard_log
from workflow_scripts.training.tensorboard_log import TensorBoardCurves
from workflow_scripts.training.loop import train

STUDY_CURVES = ["train/loss_mean", "train/loss_top5_mean", "train/loss_bottom5_mean", "train/mse_eV2",
                "train/sqerr_top5_mean_eV2", "train/sqerr_bottom5_mean_eV2", "train/lr"]


def read_scalars(log_dir) -> dict[str, pd.DataFrame]:
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})  # 0: keep every event
    events.Reload()
    return {tag: pd.DataFrame([(e.step, e.value) for e in events.Scalars(tag)], columns=["step", "value"])
            for tag in events.Tags()["scalars"]}


def run(pool, atomref, out_dir, **kwargs):
    root, split, idx = pool
    return train(root / "pool.npz", idx, np.ones(len(split)), FITTED, seed=0, out_dir=out_dir, progress_bar=False,
                 atomref=atomref, n_training_set=len(idx["train"]), **kwargs)


def test_tensorboard_event_files_hold_the_study_curves(pool, fitted_atomref, tmp_path):
    timing = run(pool, fitted_atomref, tmp_path, tensorboard=True)
    scalars = read_scalars(tmp_path / "tensorboard")
    assert {*STUDY_CURVES, "val_loss", "val_mae_meV", "epoch"} <= set(scalars)
    assert "val_mae" not in scalars  # the eV tag: the study's unit is meV
    train_log, val_log = (pd.read_csv(tmp_path / name) for name in ("train_log.csv", "val_log.csv"))
    assert timing["steps"] > TensorBoardCurves().every
    for tag in STUDY_CURVES:
        logged = scalars[tag]
        # every 10th step; Lightning counts steps from 0, the CSV logs from 1
        assert logged["step"].tolist() == list(range(0, timing["steps"], TensorBoardCurves().every))
        expected = train_log.set_index("step").loc[logged["step"] + 1, tag.removeprefix("train/")]
        np.testing.assert_allclose(logged["value"], expected, rtol=1e-6)  # TensorBoard keeps float32
    assert (scalars["val_mae_meV"]["step"] + 1).tolist() == val_log["step"].tolist()
    np.testing.assert_allclose(scalars["val_mae_meV"]["value"], val_log["val_mae_meV"], rtol=1e-6)


def read_hparams(log_dir) -> tuple[dict, list[str]]:
    """The run's hyperparameters and the metric tags of TensorBoard's HParams view."""
    events = EventAccumulator(str(log_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"])
    values = {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in start.session_start_info.hparams.items()}
    return values, [m.name.tag for m in experiment.experiment.metric_infos]


def test_each_run_has_its_settings_in_the_hparams_view(pool, fitted_atomref, tmp_path):
    run(pool, fitted_atomref, tmp_path, tensorboard=True)
    hparams, metrics = read_hparams(tmp_path / "tensorboard")
    training = FITTED["training"]
    assert hparams["training/lr"] == pytest.approx(training["lr"]) and hparams["seed"] == 0
    assert hparams["training/batch_size"] == training["batch_size"]
    assert hparams["model/n_atom_basis"] == FITTED["model"]["n_atom_basis"]
    assert hparams["loss/weighting"] == FITTED["loss"]["weighting"]
    # HParams shows each run's last validation MAE (meV) and loss beside its settings
    assert metrics == ["val_mae_meV", "val_loss"] and set(metrics) <= set(read_scalars(tmp_path / "tensorboard"))


def test_tensorboard_leaves_the_training_unchanged(pool, fitted_atomref, tmp_path):
    """Same seed with the logger on and off: the same model bit for bit, the same curves (the RNG stream is untouched)."""
    run(pool, fitted_atomref, tmp_path / "on", tensorboard=True)
    run(pool, fitted_atomref, tmp_path / "off", tensorboard=False)
    assert not (tmp_path / "off/tensorboard").exists()
    on, off = (torch.load(tmp_path / d / "model.pt", weights_only=True)["state_dict"] for d in ("on", "off"))
    assert on.keys() == off.keys()
    for key in on:
        assert torch.equal(on[key], off[key]), key
    for name in ("train_log.csv", "val_log.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "on" / name), pd.read_csv(tmp_path / "off" / name))


def test_a_resumed_run_logs_every_step_once(pool, fitted_atomref, tmp_path, monkeypatch):
    """Cut off mid-epoch and resumed: TensorBoard drops what was logged after the checkpoint, which is trained again."""
    _, _, idx = pool
    monkeypatch.setattr(tensorboard_log, "LOG_EVERY", 1)  # every step, so that a step logged twice would show
    with monkeypatch.context() as patch:
        fail_at_step(patch, steps_per_epoch(idx, FITTED["training"]["batch_size"]) + 2, RuntimeError("went away"))
        with pytest.raises(RuntimeError, match="went away"):
            run(pool, fitted_atomref, tmp_path, tensorboard=True)
    timing = run(pool, fitted_atomref, tmp_path, tensorboard=True)
    assert timing["resumed"]
    scalars = read_scalars(tmp_path / "tensorboard")
    logged = scalars["train/loss_mean"]
    assert logged["step"].tolist() == list(range(timing["steps"]))
    assert (scalars["val_mae_meV"]["step"] + 1).tolist() == pd.read_csv(tmp_path / "val_log.csv")["step"].tolist()
    train_log = pd.read_csv(tmp_path / "train_log.csv").set_index("step")
    np.testing.assert_allclose(logged["value"], train_log.loc[logged["step"] + 1, "loss_mean"], rtol=1e-6)
