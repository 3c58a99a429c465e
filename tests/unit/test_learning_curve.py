"""The learning-curve table: each arm's test MAE (seed mean, seed-aware CI) at its number of training molecules."""

import json

import pytest

from tests.unit.synthetic_study import (LEARNING_CURVE_ARMS, LEARNING_CURVE_N_TRAIN, LEARNING_CURVE_SUBSETS,
                                        learning_curve_metrics, learning_curve_runs, synthetic_by_size,
                                        synthetic_overall)
from workflow_scripts.evaluation.intervals import seed_summary
from workflow_scripts.evaluation.learning_curve import COLUMNS, learning_curve, training_sizes

ARMS, SUBSETS, N_TRAIN = LEARNING_CURVE_ARMS, LEARNING_CURVE_SUBSETS, LEARNING_CURVE_N_TRAIN


@pytest.fixture(scope="module")
def curve():
    return learning_curve(learning_curve_metrics(synthetic_overall()), learning_curve_metrics(synthetic_by_size()),
                          learning_curve_runs(), ARMS, SUBSETS)


def test_one_row_per_arm_for_the_whole_test_set_and_each_frequent_size(curve):
    assert list(curve.columns) == COLUMNS
    by_size = synthetic_by_size()
    frequent = sorted(by_size.loc[by_size["frequent"], "group"].unique())
    for name in N_TRAIN:
        rows = curve[curve["experiment"] == name]
        assert rows["group"].tolist() == ["all", *frequent]  # the whole test set first, then the sizes
        assert set(rows["subset"]) == {SUBSETS[name]} and set(rows["n_train"]) == {N_TRAIN[name]}
    assert "not_run" not in set(curve["experiment"])  # no results: left out, not an error
    # the curve's series first, by size; then the caps; then their controls
    whole = curve[curve["group"] == "all"]
    assert whole["experiment"].tolist() == ["fraction_50", "baseline", "cap_2000", "control_2000"]
    assert whole.set_index("experiment")["training_share"].to_dict() == {
        "fraction_50": 0.5, "baseline": 1.0, "cap_2000": 800 / 2800, "control_2000": 800 / 2800}


def test_mae_is_the_seed_mean_with_the_seed_aware_interval(curve):
    overall = learning_curve_metrics(synthetic_overall())
    row = curve[(curve["experiment"] == "baseline") & (curve["group"] == "all")].iloc[0]
    runs = overall[(overall["experiment"] == "baseline") & (overall["group"] == "all")]
    expected = seed_summary(runs, "mae_meV").iloc[0]
    assert row["seeds"] == 2 and row["mae_meV"] == pytest.approx(runs["mae_meV"].mean())
    assert (row["mae_ci_low_meV"], row["mae_ci_high_meV"]) == pytest.approx((expected["low"], expected["high"]))
    assert row["seed_variance_known"] and row["mae_each_seed_meV"] == ", ".join(f"{v:.1f}" for v in runs["mae_meV"])
    # one seed: its test-set interval alone, flagged
    control = curve[(curve["experiment"] == "control_2000") & (curve["group"] == "all")].iloc[0]
    assert control["seeds"] == 1 and not control["seed_variance_known"]
    cap_seed0 = overall.query("experiment == 'cap_2000' and seed == 0 and group == 'all'")["mae_meV"].item()
    assert control["mae_meV"] == pytest.approx(1.1 * cap_seed0)


def test_training_sizes_come_from_each_runs_timing(tmp_path):
    paths = []
    for i, n in enumerate((2800, 700)):
        paths.append(tmp_path / f"t{i}.json")
        paths[-1].write_text(json.dumps({"n_train": n, "steps": 10}))
    table = training_sizes(paths, [("baseline", 0), ("learning_curve-fraction_25", 0)])
    assert table.values.tolist() == [["baseline", 0, 2800], ["learning_curve-fraction_25", 0, 700]]
    with pytest.raises(ValueError, match="2 timing files but 1 runs"):
        training_sizes(paths, [("baseline", 0)])
