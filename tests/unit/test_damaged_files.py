"""Files damaged after they were made (a crash, a full disk, a hand edit): named, removed, made again.

The whole loop through Snakemake (a damaged file removed, the next run making it again) is in
tests/workflow/test_workflow_models.py.
"""

import json
import logging
import pickle
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from tests.unit.tiny_training import PACKED, fail_at_step, pool, steps_per_epoch  # noqa: F401 (a fixture)
from workflow_scripts.files import logs
from workflow_scripts.files.damage import DamagedFileError, check_file, check_inputs, read_parquet
from workflow_scripts.evaluation.stratum_metrics import METRIC_COLUMNS
from workflow_scripts.evaluation.predictions import COLUMNS as PREDICTION_COLUMNS
from workflow_scripts.training.loop import train
from workflow_scripts.run_files import BEST, CHECKPOINTS, LAST, TRAIN_LOG, VAL_LOG
from workflow_scripts.training.model import load_model

FIX = "it was removed: run snakemake again and it is made anew"


def cut_short(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def overwrite_middle(path):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = b"\0" * 64
    path.write_bytes(bytes(data))


def assert_named_and_removed(path, reason):
    with pytest.raises(DamagedFileError, match=reason) as error:
        check_file(path)
    assert str(path) in str(error.value) and FIX in str(error.value)
    assert not path.exists()


def predictions(n=20):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.integers(1, 9, n) for c in PREDICTION_COLUMNS[:-2]})
    frame["U0_true_eV"], frame["U0_pred_eV"] = rng.normal(-1e4, 10, n), rng.normal(-1e4, 10, n)
    return frame


@pytest.mark.parametrize("damage", [cut_short, lambda p: p.write_bytes(b""), lambda p: p.write_text("hello")],
                         ids=["cut short", "emptied", "overwritten"])
def test_damaged_predictions_are_named_and_removed(tmp_path, damage):
    path = tmp_path / "results/tiny/experiments/baseline/seed0/predictions.parquet"
    path.parent.mkdir(parents=True)
    predictions().to_parquet(path)
    check_file(path)  # whole: no complaint
    damage(path)
    assert_named_and_removed(path, "predictions.parquet is damaged and cannot be read")


def test_tables_edited_by_hand_are_named_and_removed(tmp_path):
    """A column dropped from a Parquet or CSV table, rows deleted, a table emptied, a JSON file cut off."""
    split = tmp_path / "split.parquet"
    predictions().rename(columns={"U0_pred_eV": "split"}).drop(columns=["n_F"]).to_parquet(split)
    assert_named_and_removed(split, r"no column n_F")
    metrics = tmp_path / "metrics_by_size.csv"
    pd.DataFrame([[12, *range(len(METRIC_COLUMNS))]], columns=["group", *METRIC_COLUMNS]).to_csv(metrics, index=False)
    check_file(metrics)
    metrics.write_text(metrics.read_text().splitlines()[0] + "\n")  # the rows deleted
    assert_named_and_removed(metrics, "no rows")
    metrics.write_text("")
    assert_named_and_removed(metrics, "EmptyDataError")
    subset = tmp_path / "subsets/T2000.parquet"
    subset.parent.mkdir()
    pd.DataFrame({"gdb_id": [1], "n_atoms": [5]}).to_parquet(subset)
    assert_named_and_removed(subset, "no column n_H, n_C, n_N, n_O, n_F")
    timing = tmp_path / "timing.json"
    timing.write_text(json.dumps({"train_seconds": 1.0, "steps": 10})[:15])
    assert_named_and_removed(timing, "JSONDecodeError")


@pytest.mark.parametrize("damage", [cut_short, overwrite_middle], ids=["cut short", "overwritten in the middle"])
def test_a_damaged_packed_store_is_named_and_removed(pool, damage):  # noqa: F811
    root, _, _ = pool
    store = root / "pool_copy.npz"
    store.write_bytes((root / "pool.npz").read_bytes())
    check_file(store)
    damage(store)
    assert_named_and_removed(store, "pool_copy.npz is damaged")


@pytest.mark.parametrize("damage", [cut_short, overwrite_middle], ids=["cut short", "overwritten in the middle"])
def test_a_damaged_model_file_is_named_and_removed(tmp_path, damage):
    path = tmp_path / "model.pt"
    torch.save({"state_dict": {"w": torch.ones(1000)}, "settings_json": "{}", "seed": 0}, path)
    check_file(path)
    damage(path)
    assert_named_and_removed(path, "model.pt is damaged")


class Payload:
    """Stands for pickled code."""


def test_a_model_holding_pickled_code_is_refused_not_taken_for_damage(tmp_path):
    """Whole as an archive, so kept; loading it is refused (weights only), as before."""
    path = tmp_path / "model.pt"
    torch.save({"state_dict": {}, "settings_json": "{}", "seed": 0, "extra": Payload()}, path)
    check_file(path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_model(path)
    assert path.exists()


def test_only_files_the_workflow_made_are_checked(tmp_path, monkeypatch):
    """A user's damaged file outside results/ is left alone; the workflow's own are named and removed."""
    monkeypatch.chdir(tmp_path)
    user = tmp_path / "my_molecules.csv"
    user.write_text("")
    ours = tmp_path / "results/analysis/size_histogram.csv"
    ours.parent.mkdir(parents=True)
    ours.write_text("")
    check_inputs(["my_molecules.csv"])
    assert user.exists()
    with pytest.raises(DamagedFileError, match="size_histogram.csv is damaged"):
        check_inputs(["my_molecules.csv", "results/analysis/size_histogram.csv"])
    assert not ours.exists()


def test_a_damaged_read_names_the_file_without_a_library_traceback(tmp_path):
    """The job's log holds the message alone: what is damaged and what to do, not pyarrow's traceback."""
    path = tmp_path / "split.parquet"
    path.write_text("not a table")
    log_file = tmp_path / "job.log"
    hook = sys.excepthook
    try:
        logs.setup(log_file)
        try:
            read_parquet(path)
        except DamagedFileError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = hook
        logging.getLogger().handlers.clear()
    text = log_file.read_text()
    assert f"failed: {path} is damaged and cannot be read (ArrowInvalid: " in text and FIX in text
    assert "Traceback" not in text and not path.exists()


@pytest.fixture(scope="module")
def cut_off_run(pool, tmp_path_factory):  # noqa: F811
    """An uninterrupted run ("whole") and the same run cut off by a full disk after its first epoch ("cut"), whose
    checkpoint folder holds last.ckpt, best.ckpt and the curves so far."""
    root, split, idx = pool
    base = tmp_path_factory.mktemp("cut_off")
    weights = np.ones(len(split))
    train(root / "pool.npz", idx, weights, PACKED, seed=0, out_dir=base / "whole", progress_bar=False)
    with pytest.MonkeyPatch.context() as patch:
        fail_at_step(patch, steps_per_epoch(idx, PACKED["training"]["batch_size"]) + 2, RuntimeError("disk full"))
        with pytest.raises(RuntimeError, match="disk full"):
            train(root / "pool.npz", idx, weights, PACKED, seed=0, out_dir=base / "cut", progress_bar=False)
    assert {p.name for p in (base / "cut/checkpoints").iterdir()} >= {LAST, BEST, TRAIN_LOG, VAL_LOG}
    return base


def garbage(path):
    path.write_bytes(b"\x00\xffnot a checkpoint, not a table\n" * 8)


@pytest.mark.parametrize("damage", [cut_short, garbage], ids=["cut short", "garbage"])
@pytest.mark.parametrize("name", [LAST, BEST, TRAIN_LOG, VAL_LOG])
def test_a_checkpoint_or_curves_that_do_not_load_are_not_resumed(pool, cut_off_run, tmp_path, caplog,  # noqa: F811
                                                                  name, damage):
    """Cut off by a full disk, then last.ckpt, best.ckpt beside it, or the curves beside them damaged: the run
    warns naming the file, trains from scratch (nothing of the damaged run kept), and ends with the uninterrupted
    run's model and curves, every output whole."""
    root, split, idx = pool
    run = tmp_path / "run"
    shutil.copytree(cut_off_run / "cut", run)
    damaged = run / CHECKPOINTS / name
    damage(damaged)
    with caplog.at_level(logging.WARNING):
        timing = train(root / "pool.npz", idx, np.ones(len(split)), PACKED, seed=0, out_dir=run, progress_bar=False)
    assert not timing["resumed"]
    assert f"{damaged} is damaged and cannot be read" in caplog.text and "training from scratch" in caplog.text
    whole, redone = (torch.load(d / "model.pt", weights_only=True)["state_dict"] for d in (cut_off_run / "whole", run))
    for key in whole:
        torch.testing.assert_close(redone[key], whole[key], rtol=1e-6, atol=0, msg=key)
    for curves in (TRAIN_LOG, VAL_LOG):  # each step once, as in the uninterrupted run: no rows of the damaged run
        check_file(run / curves)
        expected = pd.read_csv(cut_off_run / "whole" / curves)
        pd.testing.assert_frame_equal(pd.read_csv(run / curves)[expected.columns], expected, rtol=1e-6, atol=0)
    for checkpoint in (LAST, BEST):
        check_file(run / CHECKPOINTS / checkpoint)
