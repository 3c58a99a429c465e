"""Trained models people can use, through the real Snakefile at the tiny scale: the SchNetPack export, rule
predict on the shipped example molecules, TensorBoard logs, and damaged files made again by the next run."""

import json
import shutil
import time

import numpy as np
import pandas as pd
import pytest
import torch
from ase import Atoms
from ase.io import write
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.conftest import REPO, run_snakemake, tiny_config
from tests.workflow.schnetpack_alone import export_energies
from workflow_scripts.data.metadata import read_geometry
from workflow_scripts.training.devices import torch_device
from workflow_scripts.training.precision import slow_bf16_warning

pytestmark = pytest.mark.workflow

TINY = tiny_config("baseline")
RUN = "results/tiny/experiments/baseline/seed0"
N_STUDY_MOLECULES = 5  # test-set molecules predicted again by rule predict


def held_out_molecules(workdir, n=None) -> tuple[pd.DataFrame, list[Atoms]]:
    """The run's test molecules (its predictions.parquet rows) with their geometry from the run's metadata."""
    predictions = pd.read_parquet(workdir / RUN / "predictions.parquet")
    if n is not None:
        predictions = predictions.head(n)
    ids, n_atoms, numbers, positions = read_geometry(workdir / "results/data/qm9.parquet", predictions["gdb_id"].to_numpy())
    start = np.concatenate([[0], np.cumsum(n_atoms)])
    molecules = [Atoms(numbers=numbers[a:b], positions=positions[a:b], info={"name": f"gdb{gdb}"})
                 for gdb, a, b in zip(ids, start[:-1], start[1:])]
    return predictions.reset_index(drop=True), molecules


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The baseline trained and evaluated; then rule predict on the examples and a few of its test molecules."""
    workdir = tmp_path_factory.mktemp("models")
    start = time.perf_counter()
    run_snakemake(workdir, TINY, "--cores", "2", f"{RUN}/metrics_by_size.csv")
    _, molecules = held_out_molecules(workdir, N_STUDY_MOLECULES)
    (workdir / "mine").mkdir()
    write(workdir / "mine/qm9_test_molecules.xyz", molecules, format="extxyz")
    # the shipped examples, found beside the Snakefile; the user's folder, in the working directory
    overlay = {**TINY, "predict": {"molecules": ["examples/molecules", "mine"], "experiment": "baseline", "seed": 0}}
    result = run_snakemake(workdir, overlay, "--cores", "2", "predict")
    print(f"tiny baseline and rule predict: {time.perf_counter() - start:.0f} s")
    return workdir, result


def export_matches_predictions(workdir, tmp_path) -> float:
    """Max |SchNetPack's ASE calculator on the run's export - predictions.parquet| (eV) over the run's test set,
    the calculator in a fresh process that cannot import this repository (python -I)."""
    predictions, molecules = held_out_molecules(workdir)
    representation, energies = export_energies(workdir / RUN / "schnetpack", molecules, tmp_path)
    assert representation == "SchNet"
    difference = np.abs(energies - predictions["U0_pred_eV"].to_numpy())
    print(f"{len(energies)} test molecules: max |SpkCalculator - predictions.parquet| = {difference.max():.2e} eV")
    return float(difference.max())


def test_the_export_reproduces_the_runs_predictions_with_schnetpack_alone(study, tmp_path):
    workdir, _ = study
    assert export_matches_predictions(workdir, tmp_path) < 1e-5


def test_a_bf16_mixed_training_through_the_workflow(tmp_path):
    """training.precision bf16-mixed end to end: trained, evaluated, exported in float32 and loaded by SchNetPack
    alone to the run's predictions."""
    workdir = tmp_path / "bf16"
    overlay = {**TINY, "defaults": {"training": {"precision": "bf16-mixed"}}}
    run_snakemake(workdir, overlay, "--cores", "2", f"{RUN}/metrics_by_size.csv")
    train_log = (workdir / RUN / "train.log").read_text()
    assert "in precision bf16-mixed" in train_log
    # the log warns where the training's device has no bfloat16 arithmetic (this machine's CPU), and only there
    warning = slow_bf16_warning("bf16-mixed", torch_device())
    assert (f"WARNING {warning}" in train_log) if warning else ("WARNING training.precision" not in train_log)
    assert json.loads((workdir / RUN / "schnetpack/model_info.json").read_text())["calculator_dtype"] == "float32"
    saved = torch.load(workdir / RUN / "model.pt", weights_only=True)
    assert json.loads(saved["settings_json"])["training"]["precision"] == "bf16-mixed"
    assert all(v.dtype in (torch.float32, torch.float64, torch.int64) for v in saved["state_dict"].values())
    assert export_matches_predictions(workdir, tmp_path) < 1e-5


def test_rule_predict_on_the_shipped_examples(study):
    workdir, _ = study
    table = pd.read_csv(workdir / "results/tiny/predict/baseline/seed0/predictions.csv").set_index("molecule")
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table.drop(columns=["element_groups"]).to_string(float_format="%.1f"))
    examples = sorted(p.stem for p in (REPO / "examples/molecules").glob("*.xyz"))
    assert set(examples) <= set(table.index) and len(table) == len(examples) + N_STUDY_MOLECULES
    by_size = pd.read_csv(workdir / RUN / "metrics_by_size.csv").set_index("group")
    by_element = pd.read_csv(workdir / RUN / "metrics_by_element.csv").set_index("group")
    trained_on = pd.read_parquet(workdir / "results/tiny/subsets/full.parquet")
    train_sizes = set(trained_on["n_atoms"])

    # molecules of the study's own test set: the value in its predictions.parquet, the error of their size bin
    predictions, _ = held_out_molecules(workdir, N_STUDY_MOLECULES)
    study_rows = table.loc[[f"gdb{g}" for g in predictions["gdb_id"]]]
    assert np.abs(study_rows["U0_pred_eV"].to_numpy() - predictions["U0_pred_eV"].to_numpy()).max() < 1e-5
    np.testing.assert_allclose(study_rows["size_mae_meV"], by_size.loc[study_rows["n_atoms"], "mae_meV"])

    for name, row in table.iterrows():
        if row["n_atoms"] in by_size.index:  # the size bin's MAE and interval
            size = by_size.loc[row["n_atoms"]]
            assert (row["size_mae_meV"], row["size_mae_ci_low_meV"], row["size_mae_ci_high_meV"]) == pytest.approx(
                (size["mae_meV"], size["mae_ci_low_meV"], size["mae_ci_high_meV"]))
            assert row["size_mae_ci_low_meV"] <= row["size_mae_meV"] <= row["size_mae_ci_high_meV"]
        else:
            assert np.isnan(row["size_mae_meV"]) and f"no test molecule has {row['n_atoms']} atoms" in row["note"]
        groups = [e for e in ("H", "C", "N", "O", "F") if e in row["formula"].replace("Cl", "")]
        assert row["element_mae_meV"] == pytest.approx(by_element.loc[groups, "mae_meV"].max())
        assert row["in_training_domain"] == (row["n_atoms"] in train_sizes and "S" not in row["formula"]), name
    assert not table.loc["thiophene", "in_training_domain"]
    assert "S in no training molecule: the prediction is meaningless" in table.loc["thiophene", "note"]
    assert table.loc["decane", "n_atoms"] == 32 and not table.loc["decane", "in_training_domain"]
    assert "size 32 is not among the training sizes" in table.loc["decane", "note"]
    assert table.loc["fluorobenzene", "element_group"] == by_element.loc[["H", "C", "F"], "mae_meV"].idxmax()


def test_a_bad_molecule_file_keeps_the_last_good_predictions(study, tmp_path):
    """A predict run on an unreadable file stops before the job, naming the file; the last predictions.csv stays."""
    workdir = tmp_path / "study"
    shutil.copytree(study[0], workdir, symlinks=True)
    good = workdir / "results/tiny/predict/baseline/seed0/predictions.csv"
    before = good.read_bytes()
    (workdir / "mine/broken.xyz").write_text("3\nan atom short\nC 0 0 0\nO 1.2 0 0\n")
    overlay = {**TINY, "predict": {"molecules": ["examples/molecules", "mine"], "experiment": "baseline", "seed": 0}}
    result = run_snakemake(workdir, overlay, "--cores", "2", "predict", check=False)
    assert result.returncode != 0
    assert "cannot read mine/broken.xyz" in result.stderr, result.stderr[-3000:]
    assert good.read_bytes() == before


def test_every_run_logs_its_curves_for_tensorboard(study):
    workdir, _ = study
    events = EventAccumulator(str(workdir / "results/tiny/experiments"))  # as `tensorboard --logdir results/tiny/experiments`
    events.Reload()
    run = EventAccumulator(str(workdir / RUN / "tensorboard"))
    run.Reload()
    assert {"val_loss", "val_mae_meV", "train/loss_mean", "train/mse_eV2", "train/lr"} <= set(run.Tags()["scalars"])
    val_log = pd.read_csv(workdir / RUN / "val_log.csv")
    np.testing.assert_allclose([e.value for e in run.Scalars("val_mae_meV")], val_log["val_mae_meV"], rtol=1e-6)
    assert "_hparams_/session_start_info" in run.PluginTagToContent("hparams")  # the settings in HParams


def test_a_training_in_a_fork_of_the_resident_trainer_equals_one_in_its_own_process(study, tmp_path):
    """The study's training ran in a fork of the resident trainer (config resident_trainer, the default on a
    machine without GPUs); the same training in a process of its own, with every package imported afresh,
    gives the same predictions, curves and weights, bit for bit."""
    workdir, _ = study
    assert "a fork of the resident trainer" in (workdir / RUN / "train.log").read_text()
    own = tmp_path / "own_process"
    run_snakemake(own, {**TINY, "resident_trainer": False}, "--cores", "2", f"{RUN}/predictions.parquet")
    assert "imports of torch, Lightning, SchNetPack" in (own / RUN / "train.log").read_text()
    for name in ("predictions.parquet", "train_log.csv", "val_log.csv"):
        assert (own / RUN / name).read_bytes() == (workdir / RUN / name).read_bytes(), name
    # model.pt is a zip archive named after its temporary file: compare what it holds
    forked, separate = (torch.load(d / RUN / "model.pt", weights_only=True)["state_dict"] for d in (workdir, own))
    assert forked.keys() == separate.keys()
    assert all(torch.equal(forked[k], separate[k]) for k in forked)


def test_damaged_files_are_named_and_made_again_by_the_next_run(study, tmp_path):
    """predictions.parquet cut short: named and removed; the next run makes it again, here from a damaged
    checkpoint, which is not resumed: the run trains from scratch to the same predictions, with TensorBoard off."""
    workdir = tmp_path / "study"
    shutil.copytree(study[0], workdir, symlinks=True)
    target = f"{RUN}/metrics_by_size.csv"
    predictions = workdir / RUN / "predictions.parquet"
    original = pd.read_parquet(predictions)
    predictions.write_bytes(predictions.read_bytes()[:100])
    failed = run_snakemake(workdir, TINY, "--cores", "2", target, check=False)
    assert failed.returncode != 0
    message = f"{RUN}/predictions.parquet is damaged and cannot be read"
    assert message in failed.stderr and "it was removed: run snakemake again" in failed.stderr
    metrics_log = (workdir / RUN / "metrics.log").read_text()
    assert message in metrics_log and "Traceback" not in metrics_log
    assert not predictions.exists()

    checkpoint = workdir / RUN / "checkpoints/last.ckpt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:1000])
    run_snakemake(workdir, {**TINY, "tensorboard": False}, "--cores", "2", target)
    train_log = (workdir / RUN / "train.log").read_text()
    assert f"{RUN}/checkpoints/last.ckpt is damaged and cannot be read" in train_log
    assert "training from scratch instead of resuming" in train_log
    pd.testing.assert_frame_equal(pd.read_parquet(predictions), original, rtol=1e-6)
    assert not (workdir / RUN / "tensorboard").exists()  # config tensorboard: false
