"""Per-stratum metrics and bootstrap intervals, checked against hand computations."""

import numpy as np
import pandas as pd
import pytest

from workflow_scripts import targets
from workflow_scripts.evaluation import stratum_metrics
from workflow_scripts.evaluation.stratum_metrics import (
    METRIC_COLUMNS,
    metric_columns,
    metrics,
    metrics_by_element,
    metrics_by_size,
    metrics_overall,
    resample_counts,
)

LEADING = ["group", "count", "mae_meV", "rmse_meV", "mse_eV2", "mae_ci_low_meV", "mae_ci_high_meV"]


def predictions(errors, n_atoms, counts=None, target=targets.get("U0")):
    """A predictions frame with the given errors (the target's stored unit: eV for U0) under the target's columns;
    element counts default to CH-only molecules."""
    n = len(errors)
    frame = pd.DataFrame({"gdb_id": np.arange(1, n + 1), "n_atoms": n_atoms})
    counts = counts or {}
    for symbol in ("H", "C", "N", "O", "F"):
        frame[f"n_{symbol}"] = counts.get(symbol, [1 if symbol in "HC" else 0] * n)
    frame[target.true_column] = -1000.0 - np.arange(n)
    frame[target.pred_column] = frame[target.true_column] + np.asarray(errors)
    return frame


def test_metrics_by_hand():
    errors = np.array([0.01, -0.02, 0.03, -0.04])  # eV
    row = metrics(errors, seed=0, n_resamples=200)
    assert list(row) == list(METRIC_COLUMNS)
    assert row["count"] == 4
    assert row["mae_meV"] == pytest.approx((10 + 20 + 30 + 40) / 4)
    mse = (0.01**2 + 0.02**2 + 0.03**2 + 0.04**2) / 4
    assert row["mse_eV2"] == pytest.approx(mse)
    assert row["rmse_meV"] == pytest.approx(np.sqrt(mse) * 1000)
    for name, unit in (("mae", "meV"), ("rmse", "meV"), ("mse", "eV2")):
        point = row[f"{name}_{unit}"]
        assert row[f"{name}_ci_low_{unit}"] <= point <= row[f"{name}_ci_high_{unit}"]


def test_interval_brackets_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = metrics(rng.normal(0, 0.05, 40), seed=0, n_resamples=300)
    large = metrics(rng.normal(0, 0.05, 4000), seed=0, n_resamples=300)
    for row in (small, large):
        assert row["mae_ci_low_meV"] < row["mae_meV"] < row["mae_ci_high_meV"]
        assert row["rmse_ci_low_meV"] < row["rmse_meV"] < row["rmse_ci_high_meV"]
    widths = [row["mae_ci_high_meV"] - row["mae_ci_low_meV"] for row in (small, large)]
    assert widths[1] < widths[0] / 5


def test_seeded_bootstrap_is_deterministic():
    errors = np.random.default_rng(2).normal(0, 0.05, 100)
    assert metrics(errors, seed=7, n_resamples=100) == metrics(errors, seed=7, n_resamples=100)
    assert metrics(errors, seed=7, n_resamples=100) != metrics(errors, seed=8, n_resamples=100)
    assert metrics(errors, np.random.default_rng(7), 100) == metrics(errors, 7, 100)


def test_single_molecule_interval_is_the_point_and_empty_group_raises():
    row = metrics(np.array([-0.03]), seed=0, n_resamples=50)
    assert row["mae_meV"] == row["mae_ci_low_meV"] == row["mae_ci_high_meV"] == pytest.approx(30)
    assert row["rmse_ci_low_meV"] == row["rmse_ci_high_meV"] == row["rmse_meV"]
    assert row["mse_ci_low_eV2"] == row["mse_ci_high_eV2"] == row["mse_eV2"]
    with pytest.raises(ValueError):
        metrics(np.array([]), seed=0, n_resamples=50)


def test_resample_counts_chunks(monkeypatch):
    monkeypatch.setattr(stratum_metrics, "_CHUNK_ENTRIES", 25)  # 2 rows of 10 per chunk
    chunks = list(resample_counts(10, 5, np.random.default_rng(0)))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert all((c.sum(axis=1) == 10).all() for c in chunks)


def test_metrics_by_size():
    frame = predictions([0.01, -0.03, 0.02, 0.04, -0.05], n_atoms=[9, 5, 9, 12, 5])
    table = metrics_by_size(frame, frequent_sizes={9, 12, 20}, n_resamples=50, seed=0)
    assert list(table.columns[: len(LEADING)]) == LEADING
    assert list(table.columns) == ["group", *METRIC_COLUMNS, "frequent"]
    assert table["group"].tolist() == [5, 9, 12]
    assert table["count"].tolist() == [2, 2, 1]
    assert table["frequent"].tolist() == [False, True, True]
    assert table["mae_meV"].tolist() == pytest.approx([40, 15, 40])
    assert table.loc[table.group == 5, "mse_eV2"].item() == pytest.approx((0.03**2 + 0.05**2) / 2)


def test_metrics_by_element_groups_overlap():
    counts = {
        "H": [4, 3, 2, 0],
        "C": [1, 1, 0, 1],
        "N": [0, 1, 1, 0],  # molecules 2 and 3 have N; molecule 2 has O too
        "O": [0, 1, 0, 2],
        "F": [0, 0, 0, 0],
    }
    frame = predictions([0.01, 0.02, -0.04, 0.08], n_atoms=[5, 6, 3, 3], counts=counts)
    table = metrics_by_element(frame, n_resamples=50, seed=0).set_index("group")
    assert list(table.reset_index().columns) == ["group", *METRIC_COLUMNS]
    assert table.index.tolist() == ["H", "C", "N", "O"]  # no F in the test set: no row
    assert table["count"].to_dict() == {"H": 3, "C": 3, "N": 2, "O": 2}
    assert table.loc["N", "mae_meV"] == pytest.approx((20 + 40) / 2)
    assert table.loc["O", "mae_meV"] == pytest.approx((20 + 80) / 2)
    assert table.loc["H", "mae_meV"] == pytest.approx((10 + 20 + 40) / 3)


def test_metrics_overall_macro_and_worst():
    rng = np.random.default_rng(3)
    sizes = np.repeat([8, 9, 10, 11], [30, 60, 20, 5])
    errors = rng.normal(0, 0.01, len(sizes)) * np.where(sizes == 10, 4, 1)
    frame = predictions(errors, n_atoms=sizes)
    frequent = {8, 9, 10, 30}  # 30 is not in the test set; 11 is not frequent
    overall = metrics_overall(frame, frequent, n_resamples=200, seed=5).set_index("group")
    by_size = metrics_by_size(frame, frequent, n_resamples=200, seed=5).set_index("group")
    assert list(overall.reset_index().columns) == ["group", *METRIC_COLUMNS, "size"]
    assert overall.index.tolist() == ["all", "macro_frequent_sizes", "worst_frequent_size"]

    assert overall.loc["all", "count"] == len(sizes)
    assert overall.loc["all", "mae_meV"] == pytest.approx(np.mean(np.abs(errors)) * 1000)

    macro = overall.loc["macro_frequent_sizes"]
    in_bins = by_size.loc[[8, 9, 10]]
    assert macro["count"] == 110
    assert macro["mae_meV"] == pytest.approx(in_bins["mae_meV"].mean())
    assert macro["rmse_meV"] == pytest.approx(in_bins["rmse_meV"].mean())
    assert macro["mse_eV2"] == pytest.approx(in_bins["mse_eV2"].mean())
    assert macro["mae_ci_low_meV"] < macro["mae_meV"] < macro["mae_ci_high_meV"]

    worst = overall.loc["worst_frequent_size"]
    assert worst["size"] == 10
    assert worst[list(METRIC_COLUMNS)].tolist() == pytest.approx(by_size.loc[10, list(METRIC_COLUMNS)].tolist())
    assert overall["size"].isna().tolist() == [True, True, False]


def test_metrics_overall_without_frequent_sizes_in_test_set():
    frame = predictions([0.01, 0.02], n_atoms=[5, 6])
    overall = metrics_overall(frame, {20}, n_resamples=20, seed=0)
    assert overall["group"].tolist() == ["all"]


def test_tables_are_deterministic():
    frame = predictions(np.random.default_rng(4).normal(0, 0.02, 60), n_atoms=np.repeat([7, 8, 9], 20))
    for build in (
        lambda: metrics_by_size(frame, {8}, n_resamples=50, seed=1),
        lambda: metrics_by_element(frame, n_resamples=50, seed=1),
        lambda: metrics_overall(frame, {8, 9}, n_resamples=50, seed=1),
    ):
        pd.testing.assert_frame_equal(build(), build())


def test_columns_and_units_follow_the_target():
    """The dipole moment (stored and shown in D) gets D columns and no factor; the gap (an energy) keeps U0's
    metric names and meV, read from its own prediction columns."""
    errors, sizes = np.array([0.01, -0.02, 0.03, -0.04]), [9, 9, 10, 10]
    mu, gap = targets.get("mu"), targets.get("gap")
    assert metric_columns(mu) == ("count", "mae_D", "rmse_D", "mse_D2", "mae_ci_low_D", "mae_ci_high_D",
                                  "rmse_ci_low_D", "rmse_ci_high_D", "mse_ci_low_D2", "mse_ci_high_D2")
    assert metric_columns(gap) == METRIC_COLUMNS
    frame = predictions(errors, sizes, target=mu)
    assert {"mu_true_D", "mu_pred_D"} <= set(frame.columns) and "U0_true_eV" not in frame
    for table in (metrics_by_size(frame, {9}, 50, target=mu), metrics_by_element(frame, 50, target=mu),
                  metrics_overall(frame, {9, 10}, 50, target=mu)):
        assert list(metric_columns(mu)) == [c for c in table.columns if c in metric_columns(mu)]
        assert not any("meV" in c or "eV2" in c for c in table.columns)
    overall = metrics_overall(frame, {9, 10}, 50, target=mu).set_index("group")
    assert overall.loc["all", "mae_D"] == pytest.approx(0.025)  # D as stored: no factor
    assert overall.loc["all", "mse_D2"] == pytest.approx(np.mean(errors**2))
    # the same errors in eV as the gap: U0's numbers, meV, from gap_true_eV / gap_pred_eV
    as_gap = metrics_overall(predictions(errors, sizes, target=gap), {9, 10}, 50, target=gap)
    as_u0 = metrics_overall(predictions(errors, sizes), {9, 10}, 50)
    pd.testing.assert_frame_equal(as_gap, as_u0)
    assert as_gap.set_index("group").loc["all", "mae_meV"] == pytest.approx(25.0)
