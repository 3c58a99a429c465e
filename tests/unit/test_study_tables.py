"""Study tables: per-run files gathered with the runs the rule names; Table 2 checked by hand."""

import json

import numpy as np
import pandas as pd
import pytest

from tests.unit.synthetic_study import CI_COLUMNS
from workflow_scripts.evaluation.study_tables import (
    add_timing, format_hms, format_pm, gather, table2, table2_values, training_runs,
)


def _write_runs(tmp_path):
    """Two runs' metrics, timing and validation logs in folders whose names say nothing of their run."""
    paths = {"metrics": [], "timing": [], "val_log": []}
    for i, (mae, seconds) in enumerate([(30.0, 100.0), (40.0, 200.0)]):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        pd.DataFrame({"group": ["all"], "mae_meV": [mae]}).to_csv(folder / "m.csv", index=False)
        (folder / "t.json").write_text(json.dumps({"train_seconds": seconds, "eval_seconds": 1.0, "steps": 10}))
        pd.DataFrame({"epoch": [0, 1, 2, 3], "step": [9, 19, 29, 39],
                      "val_mae_meV": [100.0, 50.0, 40.0, 39.0]}).to_csv(folder / "v.csv", index=False)
        for key, name in (("metrics", "m.csv"), ("timing", "t.json"), ("val_log", "v.csv")):
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
    table = training_runs(paths["timing"], paths["val_log"], runs, {"a": "baseline"}, final_fraction=0.25,
                          max_improvement=0.05).set_index("experiment")
    assert table.loc["a", "study_part"] == "baseline" and table.loc["b", "seed"] == 1
    # best before the last quarter 40, best overall 39: a 2.5 % drop, converged
    assert table.loc["a", "final_improvement"] == pytest.approx(0.025) and table.loc["a", "converged"]


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


def test_table2_formatted():
    table = table2(_tiny_overall(), [("default", "Default"), ("custom", "Custom")])
    default = table.iloc[0]
    assert default["model"] == "Default" and default["seeds"] == 2
    assert default["test MSE (eV²)"] == "0.0700 ± 0.0141"
    assert default["test MAE (meV)"] == "32.0 ± 2.8"
    assert default["worst frequent size (atoms)"] == "19, 20"
    assert default["train time (h:mm:ss)"] == "1:30:00"
    assert default["eval time (h:mm:ss)"] == "0:01:30"
    assert table.iloc[1]["test MSE (eV²)"] == "–" and table.iloc[1]["seeds"] == 0


def test_formatters():
    assert format_hms(3 * 3600 + 61.4) == "3:01:01" and format_hms(float("nan")) == "–"
    assert format_pm(1234.0, 12.0) == "1234 ± 12"
    assert format_pm(0.0643, float("nan")) == "0.0643"
