"""Figures 3, 6-10 render from synthetic tables, survive missing data and name the rare sizes from the config."""

import textwrap

import numpy as np
import pandas as pd
import pytest

from tests.unit.synthetic_study import (EXPERIMENTS, PLOTS, assert_drawn_values_match, assert_png, drawn,
                                        legend_texts, synthetic_by_size)
from workflow_scripts import targets
from workflow_scripts.evaluation.intervals import seed_summary
from workflow_scripts.figures import error_by_size
from workflow_scripts.figures.style import VALUE_COLUMNS
from workflow_scripts.figures.error_by_size import plot_error_by_size, rare_size_label


@pytest.mark.parametrize("metric,log_y", [("mae_meV", True), ("mse_eV2", False)])
def test_error_by_size(tmp_path, metric, log_y):
    out = tmp_path / "fig3.png"
    plot_error_by_size(synthetic_by_size(), EXPERIMENTS, PLOTS, out, "Figure 3", 0.01, metric=metric, log_y=log_y)
    assert_png(out)


def test_error_by_size_survives_missing_data(tmp_path):
    metrics = synthetic_by_size()
    metrics.loc[metrics["group"] == 3, "count"] = 0  # an empty test bin is skipped, not plotted
    out = tmp_path / "fig.png"
    plot_error_by_size(metrics, EXPERIMENTS + [("absent", "not run")], PLOTS, out, "missing", 0.01, reference="nope")
    assert_png(out)
    empty = metrics.iloc[:0]
    plot_error_by_size(empty, [("absent", "not run")], PLOTS, tmp_path / "empty.png", "nothing", 0.01)
    assert_png(tmp_path / "empty.png")


def test_rare_size_label_follows_the_frequent_bin_fraction():
    assert rare_size_label(0.01) == "rare size (≤ 1 % of QM9)"
    assert rare_size_label(0.025) == "rare size (≤ 2.5 % of QM9)"


def test_legend_names_every_experiment_the_gaps_and_the_rare_sizes(tmp_path, monkeypatch):
    figures = drawn(monkeypatch, error_by_size)
    plot_error_by_size(synthetic_by_size(), EXPERIMENTS + [("absent", "not run")], PLOTS, tmp_path / "f.png",
                       "Figure 6", 0.02)
    [fig] = figures
    legend = legend_texts(fig)
    assert fig.axes[0].get_title() == "Figure 6"
    assert "Default (full data) (2 seeds)" in legend and "not run: no results" in legend
    assert "linear reference" in legend and "rare size (≤ 2 % of QM9)" in legend


def test_the_values_written_beside_the_figure_are_the_metrics_drawn(tmp_path):
    """Each point's y is its experiment's seed mean at that size, of the metric drawn; the counts are the test
    set's; a figure drawing another column would fail here."""
    metrics = synthetic_by_size()
    values_path = tmp_path / "fig3.csv"
    plot_error_by_size(metrics, EXPERIMENTS, PLOTS, tmp_path / "fig3.png", "Figure 3", 0.01, values_path=values_path)
    values = pd.read_csv(values_path)
    assert list(values.columns) == VALUE_COLUMNS
    tested_sizes = int((metrics.groupby("group")["count"].max() > 0).sum())  # an empty bin is not drawn
    assert assert_drawn_values_match(values, metrics, "mae_meV", [label for _, label in EXPERIMENTS]) == 3 * tested_sizes
    assert assert_drawn_values_match(values, metrics, "mae_meV", ["linear reference"]) == tested_sizes
    counts = values[values["panel"] == "test molecules"].set_index("x")["y"]
    expected = metrics.groupby("group")["count"].max()
    assert counts.to_dict() == expected[expected > 0].to_dict()
    # the intervals are the seed-aware intervals of the metric drawn (evaluation/intervals.py), from its CI columns
    expected = seed_summary(metrics[metrics["experiment"] == "baseline"], "mae_meV", by=("group",)).set_index("group")
    baseline = values[values["experiment"] == "baseline"].set_index("x")
    np.testing.assert_allclose(baseline["low"], expected["low"].clip(lower=0).loc[baseline.index])
    np.testing.assert_allclose(baseline["high"], expected["high"].loc[baseline.index])
    with pytest.raises(AssertionError):  # the check itself tells the columns apart
        assert_drawn_values_match(values, metrics, "rmse_meV", [label for _, label in EXPERIMENTS])


def test_the_axis_shows_the_data_and_marks_the_intervals_of_tiny_bins_it_cuts(tmp_path, monkeypatch):
    """A bin of 3 test molecules with an interval from 1 to 100,000 meV does not set the y-range: every point is
    inside it, the bins of at least MIN_TEST_MOLECULES_FOR_RANGE molecules keep their whole intervals, and the cut
    ones are written (cut) and marked with open triangles, named in the legend."""
    metrics = synthetic_by_size()
    tiny = (metrics["group"] == 5) & (metrics["experiment"] == "baseline")
    metrics.loc[tiny, ["count", "mae_ci_low_meV", "mae_ci_high_meV"]] = [3, 1.0, 1e5]
    figures = drawn(monkeypatch, error_by_size)
    values = plot_error_by_size(metrics, EXPERIMENTS, PLOTS, tmp_path / "f.png", "Figure 6", 0.01)
    [fig] = figures
    bottom, top = fig.axes[0].get_ylim()
    points = values[values["panel"] == ""]
    assert len(points) and set(values["panel"]) == {"", "test molecules"}
    assert points["y"].between(bottom, top).all()
    solid = points[(points["count"] >= error_by_size.MIN_TEST_MOLECULES_FOR_RANGE) & points["low"].notna()]
    solid_low = solid["low"].astype(float)
    assert (solid_low[solid_low > 0] >= bottom).all() and (solid["high"].astype(float) <= top).all()
    assert top < 1e4 and bottom > 1.0  # the tiny bin's whiskers would have spanned five decades
    cut = points.set_index(["experiment", "x"])["cut"].fillna("")
    assert cut[("baseline", 5)] == "both" and cut.drop(("baseline", 5)).isin(["", "high", "low", "both"]).all()
    cut_rows = points[points["cut"].fillna("") != ""]
    # cut: a tiny bin's interval, or a lower bound at 0, which a log axis cannot show
    assert ((cut_rows["count"] < error_by_size.MIN_TEST_MOLECULES_FOR_RANGE) | (cut_rows["low"] <= 0)).all()
    triangles = [line for line in fig.axes[0].lines if line.get_marker() in ("^", "v")]
    assert {line.get_marker() for line in triangles} == {"^", "v"}
    assert textwrap.fill(error_by_size.CUT_NOTE, 42) in legend_texts(fig)


@pytest.mark.parametrize("name,label", [("mu", "test MAE of μ (D)"), ("gap", "test MAE of gap (meV)")])
def test_the_error_axis_names_the_target_and_its_unit(tmp_path, monkeypatch, name, label):
    """A study of another property draws its own MAE column and says which property, in which unit."""
    target = targets.get(name)
    figures = drawn(monkeypatch, error_by_size)
    metrics = synthetic_by_size(target=target)
    values = plot_error_by_size(metrics, EXPERIMENTS, PLOTS, tmp_path / "f.png", "Figure 3", 0.01, target=target)
    [fig] = figures
    assert fig.axes[0].get_ylabel() == label
    assert assert_drawn_values_match(values, metrics, target.metric("mae"), [label for _, label in EXPERIMENTS])
    if name == "mu":
        texts = [fig.axes[0].get_ylabel(), fig.axes[0].get_title(), *legend_texts(fig)]
        assert not any("meV" in text or "U0" in text for text in texts)
