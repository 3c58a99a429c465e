"""Study tables: per-run files gathered with the runs the rule names; Table 2 checked by hand; each run's status."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import REPO
from tests.unit.synthetic_study import CI_COLUMNS, synthetic_logs, synthetic_overall
from tests.unit.tiny_training import FITTED, pool  # noqa: F401 (fixture)
from workflow_scripts import targets
from workflow_scripts.config.experiments import VERDICT_PARTS
from workflow_scripts.evaluation.study_tables import (
    FAILED, VERDICTS_OF_PART, add_timing, convergence, divergence, format_hms, format_pm, gather, judged_until,
    run_status, run_statuses, table2, table2_values, training_runs, used_by,
)

RULE = {"final_fraction": 0.25, "max_improvement": 0.05, "min_lr_fraction": 0.1}
FAILURE = {"divergence_factor": 2.0, "collapse_fraction": 0.75}


def _write_runs(tmp_path):
    """Two runs' metrics, timing, validation and training logs in folders whose names say nothing of their run."""
    paths = {"metrics": [], "timing": [], "val_log": [], "train_log": []}
    for i, (mae, seconds) in enumerate([(30.0, 100.0), (40.0, 200.0)]):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        pd.DataFrame({"group": ["all"], "mae_meV": [mae]}).to_csv(folder / "m.csv", index=False)
        (folder / "t.json").write_text(json.dumps({"train_seconds": seconds, "eval_seconds": 1.0, "steps": 10}))
        pd.DataFrame({"epoch": [0, 1, 2, 3], "step": [9, 19, 29, 39],
                      "val_mae_meV": [100.0, 50.0, 40.0, 39.0]}).to_csv(folder / "v.csv", index=False)
        pd.DataFrame({"step": range(40), "lr": 1e-3}).to_csv(folder / "l.csv", index=False)
        for key, name in (("metrics", "m.csv"), ("timing", "t.json"), ("val_log", "v.csv"), ("train_log", "l.csv")):
            paths[key].append(folder / name)
    return paths


def test_gather_takes_each_files_run_from_the_rule(tmp_path):
    paths = _write_runs(tmp_path)
    table = gather(paths["metrics"], [("custom", 3), ("linear_reference", 0)], {"custom": "final"})
    assert list(table.columns[:3]) == ["experiment", "study_part", "seed"]
    assert table[["experiment", "study_part", "seed", "mae_meV"]].values.tolist() == [
        ["custom", "final", 3, 30.0], ["linear_reference", "reference", 0, 40.0]]
    with pytest.raises(ValueError, match="2 files but 1 runs"):
        gather(paths["metrics"], [("custom", 3)], {})


def test_timing_and_training_runs_follow_the_named_runs(tmp_path):
    paths = _write_runs(tmp_path)
    runs = [("a", 0), ("b", 1)]
    overall = add_timing(gather(paths["metrics"], runs, {}), paths["timing"], runs)
    assert overall.set_index("experiment")["train_seconds"].to_dict() == {"a": 100.0, "b": 200.0}
    # the linear reference's test MAE (its metrics file is the rule's last) is 100 meV
    overall = pd.concat([overall, pd.DataFrame({"experiment": ["linear_reference"], "seed": [0], "group": ["all"],
                                                "mae_meV": [100.0]})], ignore_index=True)
    table = training_runs(paths["timing"], paths["val_log"], paths["train_log"], runs, {"a": "baseline", "b": "hp"},
                          overall, RULE, FAILURE, {"fig03": ["a"], "overview_overall_mae": ["a", "b"]})
    table = table.set_index("experiment")
    assert table.loc["a", "study_part"] == "baseline" and table.loc["b", "seed"] == 1
    # constant learning rate: the whole run is judged; best before the last quarter 40, best overall 39: 2.5 %
    assert table.loc["a", "final_improvement"] == pytest.approx(0.025) and table.loc["a", "converged"]
    assert table.loc["a", "test_mae_vs_linear_reference"] == pytest.approx(0.3)
    assert table.loc["a", "status"] == "converged" and table.loc["a", "used_by"] == "H1-H4; fig03"
    assert table.loc["b", "used_by"] == "none"  # the overview shows every run and is not counted
    # the verdicts judge the runs they compare the same way, from those runs' files alone
    statuses = run_statuses(paths["val_log"], paths["train_log"], runs, overall, RULE, FAILURE)
    assert statuses.set_index("experiment")["status"].to_dict() == table["status"].to_dict()


def _tiny_overall():
    rows = []
    for seed, (mse, mae, macro, worst, size, train, evaluation) in enumerate(
            [(0.06, 30.0, 40.0, 70.0, 19, 3600, 60), (0.08, 34.0, 44.0, 90.0, 20, 7200, 120)]):
        common = {"experiment": "default", "study_part": "final", "seed": seed, "count": 100,
                  "train_seconds": train, "eval_seconds": evaluation, "rmse_meV": 1.0,
                  **{c: np.nan for c in CI_COLUMNS}}
        rows += [{**common, "group": "all", "mse_eV2": mse, "mae_meV": mae, "size": np.nan},
                 {**common, "group": "macro_frequent_sizes", "mse_eV2": 0.1, "mae_meV": macro, "size": np.nan},
                 {**common, "group": "worst_frequent_size", "mse_eV2": 0.2, "mae_meV": worst, "size": size}]
    return pd.DataFrame(rows)


def test_table2_values_by_hand():
    values = table2_values(_tiny_overall(), [("default", "Default"), ("custom", "Custom")]).set_index("experiment")
    default = values.loc["default"]
    assert default["n_seeds"] == 2
    assert default["mse_eV2_mean"] == pytest.approx(0.07)
    assert default["mse_eV2_std"] == pytest.approx(np.sqrt(2) * 0.01)  # sample std of {0.06, 0.08}
    assert default["mae_meV_mean"] == pytest.approx(32.0)
    assert default["macro_mae_meV_mean"] == pytest.approx(42.0)
    assert default["worst_mae_meV_mean"] == pytest.approx(80.0)
    assert default["worst_sizes"] == "19, 20"
    assert default["train_seconds_mean"] == pytest.approx(5400)
    assert values.loc["custom", "n_seeds"] == 0 and np.isnan(values.loc["custom", "mse_eV2_mean"])


def test_table2_formatted_with_the_thesis_columns_first():
    runs = pd.DataFrame({"experiment": ["default", "default"], "seed": [0, 1], "budget_rule": ["epochs"] * 2,
                         "epochs_run": [30, 30], "steps": [300, 301], "n_train": [1000, 1000]})
    table = table2(_tiny_overall(), [("default", "Default"), ("custom", "Custom")], runs)
    # the thesis's Table 2: model, overall MSE, training (with validation) time; then what this study adds
    assert list(table.columns[:3]) == ["model", "test MSE (eV²)", "train + validation time (h:mm:ss)"]
    default = table.iloc[0]
    assert default["model"] == "Default" and default["seeds"] == 2
    assert default["test MSE (eV²)"] == "0.0700 ± 0.0141"
    assert default["test MAE (meV)"] == "32.0 ± 2.8"
    assert default["worst frequent size (atoms)"] == "19, 20"
    assert default["train + validation time (h:mm:ss)"] == "1:30:00"
    assert default["test prediction time (h:mm:ss)"] == "0:01:30"
    assert (default["budget rule"], default["epochs"], default["optimizer steps"]) == ("epochs", "30", "300")
    assert table.iloc[1]["test MSE (eV²)"] == "–" and table.iloc[1]["seeds"] == 0
    assert table.iloc[1]["budget rule"] == "–" and table.iloc[1]["optimizer steps"] == "–"


def test_formatters():
    assert format_hms(3 * 3600 + 61.4) == "3:01:01" and format_hms(float("nan")) == "–"
    assert format_pm(1234.0, 12.0) == "1234 ± 12"
    assert format_pm(0.0643, float("nan")) == "0.0643"


# ---- a run's status: converged, not converged, diverged, collapsed

def _cosine_lr(steps: int, final: float = 0.02) -> pd.DataFrame:
    """A train log's learning rate decaying by a cosine from 1 to ``final`` (the quick scale's, without warm-up)."""
    step = np.arange(steps)
    return pd.DataFrame({"step": step, "lr": final + (1 - final) * 0.5 * (1 + np.cos(np.pi * step / step[-1]))})


def _constant_lr(steps: int) -> pd.DataFrame:
    return pd.DataFrame({"step": np.arange(steps), "lr": 1e-3})


def _learns_with_lr(train_log: pd.DataFrame, rate: float, every: int = 100) -> pd.DataFrame:
    """Validation every ``every`` steps of a model that learns in proportion to its learning rate: MAE 100 + 900
    exp(-rate x the share of the run's summed learning rate spent so far)."""
    spent = (train_log["lr"].cumsum() / train_log["lr"].sum()).to_numpy()
    steps = train_log["step"].to_numpy()[every - 1::every]
    return pd.DataFrame({"step": steps, "val_mae_meV": 100 + 900 * np.exp(-rate * spent[steps])})


def _val(maes, every: int = 10) -> pd.DataFrame:
    """A val log: one validation per epoch of ``every`` steps."""
    return pd.DataFrame({"step": every * np.arange(1, len(maes) + 1) - 1, "val_mae_meV": maes})


def test_a_decayed_learning_rate_does_not_make_a_run_converged():
    train_log = _cosine_lr(2000)
    slow = _learns_with_lr(train_log, rate=2)
    # judged over the whole run (the old rule), the slow learner looks settled: its lr is tiny at the end
    whole_run = convergence(slow, train_log, 0.25, 0.05, min_lr_fraction=0.0)
    assert whole_run["converged"] and whole_run["final_improvement"] < 0.05
    # while the lr was at least 10 % of its peak (up to step 1630), it was still improving by 10 %
    judged = convergence(slow, train_log, **RULE)
    assert judged["judged_until_step"] == 1630 and judged["final_improvement"] == pytest.approx(0.098, abs=1e-3)
    assert run_status(slow, train_log, 150.0, 800.0, RULE, FAILURE)["status"] == "not_converged"
    # a fast learner had settled while its lr still moved it
    fast = run_status(_learns_with_lr(train_log, rate=6), train_log, 110.0, 800.0, RULE, FAILURE)
    assert fast["status"] == "converged" and fast["converged"] and fast["final_improvement"] < 0.05


def test_the_judged_steps_end_at_the_last_with_enough_learning_rate():
    train_log = pd.DataFrame({"step": range(7), "lr": [0.1, 1.0, 0.5, 0.1, 0.0999, np.nan, 0.01]})
    assert judged_until(train_log, 0.1) == 3  # the warm-up's low start does not end it; exactly 10 % counts
    assert judged_until(train_log, 0.0) == 6
    # a constant lr: the whole run, as before the rule looked at the lr
    assert judged_until(_constant_lr(40), 0.1) == 39


def test_improvement_at_the_limit_is_not_converged():
    train_log = _constant_lr(40)  # judged part: steps after 29.25
    assert not convergence(_val([200.0, 150.0, 100.0, 95.0]), train_log, **RULE)["converged"]  # exactly 5 %
    assert convergence(_val([200.0, 150.0, 100.0, 95.5]), train_log, **RULE)["converged"]  # 4.5 %


def test_a_run_without_validation_on_both_sides_cannot_be_judged():
    train_log = _constant_lr(100)
    for val in (_val([80.0], every=100),  # none before the judged part
                _val([100.0, 90.0], every=30)):  # none in it (steps 29 and 59, judged part after 74.25)
        result = convergence(val, train_log, **RULE)
        assert not result["converged"] and np.isnan(result["final_improvement"])
        assert run_status(val, train_log, 100.0, 800.0, RULE, FAILURE)["status"] == "not_converged"
    # under a decay, a validation after the judged steps (up to 80 here) does not count, however much better
    decayed = _cosine_lr(100)
    assert judged_until(decayed, 0.1) == 80
    assert np.isnan(convergence(_val([90.0, 10.0], every=50), decayed, **RULE)["final_improvement"])


def test_divergence_after_the_best_epoch():
    assert divergence(_val([100.0, 50.0, 100.0]), 2.0) == {"max_val_mae_after_best_meV": 100.0, "diverged": False}
    assert divergence(_val([100.0, 50.0, 100.5]), 2.0)["diverged"]
    assert not divergence(_val([100.0, 900.0, 50.0, 60.0]), 2.0)["diverged"]  # recovered from a spike before its best
    assert divergence(_val([100.0, 50.0, np.nan]), 2.0)["diverged"]  # a non-finite validation is the worst
    best_last = divergence(_val([100.0, 50.0]), 2.0)
    assert not best_last["diverged"] and np.isnan(best_last["max_val_mae_after_best_meV"])


def test_an_early_stopped_diverged_run_is_failed_not_converged():
    """loss_inverse_frequency-1 at the quick scale: the best at epoch 2, then thousands of meV until early stopping."""
    val, train_log = _val([1500.0, 721.0, 6654.0, 8000.0, 7900.0, 8100.0]), _constant_lr(60)
    assert convergence(val, train_log, **RULE)["converged"]  # no new best at the end: settled, by that rule alone
    status = run_status(val, train_log, 729.0, 884.0, RULE, FAILURE)
    assert status["status"] == "diverged" and status["status"] in FAILED and not status["converged"]
    assert status["max_val_mae_after_best_meV"] == 8100.0 and status["best_val_mae_meV"] == 721.0


def test_a_collapsed_run_is_failed_however_settled():
    """A learning rate far too high: stuck near 780 meV against the linear reference's 884; curves flat."""
    val, train_log = _val([1000.0, 800.0, 790.0, 785.0, 784.0, 784.0]), _constant_lr(60)
    status = run_status(val, train_log, 780.0, 884.0, RULE, FAILURE)
    assert status["status"] == "collapsed" and not status["converged"]
    assert status["test_mae_vs_linear_reference"] == pytest.approx(780 / 884)
    # a good run stopped early, like it, converged: it stopped improving at a learning rate that still moved it
    good = run_status(_val([400.0, 250.0, 200.0, 190.0, 195.0, 192.0]), train_log, 180.0, 884.0, RULE, FAILURE)
    assert good["status"] == "converged" and good["converged"]


def test_collapse_at_the_limit_and_without_a_reference():
    train_log, val = _constant_lr(40), _val([200.0, 150.0, 100.0, 99.0])
    assert run_status(val, train_log, 600.0, 800.0, RULE, FAILURE)["status"] == "converged"  # exactly 0.75
    assert run_status(val, train_log, 601.0, 800.0, RULE, FAILURE)["status"] == "collapsed"
    unknown = run_status(val, train_log, 601.0, float("nan"), RULE, FAILURE)
    assert unknown["status"] == "converged" and np.isnan(unknown["test_mae_vs_linear_reference"])


def test_each_verdict_part_names_its_verdicts_and_figures_name_their_runs():
    assert set(VERDICTS_OF_PART) == set(VERDICT_PARTS)
    figures = {"fig06_balanced_error_by_size": ["baseline", "cap_2000"], "overview_overall_mae": ["cap_2000", "hp"]}
    assert used_by("cap_2000", "balancing", figures) == "H3; fig06_balanced_error_by_size"
    assert used_by("hp", "hp_compute", figures) == "none"


def _tiny_training_status(pool, tmp_path, lr: float, failure: dict) -> dict:
    """Train the quick recipe (fitted reference, cosine, moving average) on the tiny pool for 10 epochs at ``lr``;
    its curves and its test MAE against the linear reference's, through run_status."""
    from workflow_scripts.training import linear_reference, packed_data
    from workflow_scripts.training.loop import train
    from workflow_scripts.training.model import load_model

    root, split, idx = pool
    table = pd.read_parquet(root / "qm9.parquet").set_index("gdb_id").loc[split["gdb_id"]].reset_index()
    train_rows, test_rows = table.iloc[idx["train"]], table.iloc[idx["test"]]
    reference_mae = 1000 * np.abs(linear_reference.fit(train_rows).predict(test_rows) - test_rows["U0"]).mean()
    settings = {**FITTED, "training": {**FITTED["training"], "epochs": 10, "lr": lr}}
    atomref = linear_reference.atom_energies_by_number(linear_reference.fit(train_rows, intercept=False))
    out = tmp_path / f"lr{lr}"
    train(root / "pool.npz", idx, np.ones(len(split)), settings, seed=0, out_dir=out, progress_bar=False,
          atomref=atomref)
    model, settings = load_model(out / "model.pt")
    store = packed_data.load_store(root / "pool.npz")
    predicted = packed_data.predict(model, store, idx["test"], settings["model"]["data_cutoff"])
    test_mae = 1000 * np.abs(predicted - store.values[idx["test"]]).mean()
    evaluation = yaml.safe_load((REPO / "config.yaml").read_text())["evaluation"]
    return run_status(pd.read_csv(out / "val_log.csv"), pd.read_csv(out / "train_log.csv"), test_mae,
                      reference_mae, evaluation["convergence"], failure)


def test_a_real_training_at_a_learning_rate_far_too_high_fails(pool, tmp_path):
    """The study's thresholds, but for collapse: 90 training molecules and 60 steps leave even a sane run near the
    linear reference (about 1.0 x its test MAE, not the quick scale's 0.2 x), so collapsed here means worse than
    1.5 x it. A learning rate of 1 (100 x the sane one) blows up: validation rises to thousands of meV."""
    failure = {**yaml.safe_load((REPO / "config.yaml").read_text())["evaluation"]["failure"], "collapse_fraction": 1.5}
    sane = _tiny_training_status(pool, tmp_path, 1e-2, failure)
    assert sane["status"] not in FAILED, sane
    assert sane["test_mae_vs_linear_reference"] < 1.5
    wild = _tiny_training_status(pool, tmp_path, 1.0, failure)
    # it does both here: validation about 15 x its best later on, test MAE about 4.5 x the linear reference's
    assert wild["status"] in FAILED and not wild["converged"], wild


def test_table2_and_the_run_statuses_name_the_target():
    """A dipole-moment study's Table 2 says μ and D; the gap's keeps meV and eV² and names the gap; a run's evidence
    is read from and written under the target's columns."""
    mu, gap = targets.get("mu"), targets.get("gap")
    table = table2(synthetic_overall(target=mu), [("baseline", "Default")], target=mu)
    assert {"test MSE of μ (D²)", "test MAE of μ (D)", "macro MAE of μ, frequent sizes (D)",
            "MAE of μ at worst size (D)"} <= set(table.columns)
    assert not any("meV" in c or "eV" in c for c in table.columns)
    assert table.loc[0, "test MAE of μ (D)"].startswith("0.0")  # D, not meV
    headers = set(table2(synthetic_overall(target=gap), [("baseline", "Default")], target=gap).columns)
    assert {"test MSE of gap (eV²)", "test MAE of gap (meV)"} <= headers
    train, val = synthetic_logs(target=mu)
    row = run_status(val, train, 0.02, 0.2, RULE, FAILURE, target=mu)
    assert {"best_val_mae_D", "max_val_mae_after_best_D", "test_mae_D"} <= set(row)
    u0_train, u0_val = synthetic_logs()
    u0 = run_status(u0_val, u0_train, 20.0, 200.0, RULE, FAILURE)  # the same run in meV: the same judgement
    assert row["best_val_mae_D"] == val["val_mae_D"].min() and row["status"] == u0["status"]
    assert row["final_improvement"] == pytest.approx(u0["final_improvement"])
