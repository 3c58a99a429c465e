"""Figures 3, 6-10 render from synthetic tables, survive missing data and name the rare sizes from the config."""

import pytest

from tests.unit.synthetic_study import EXPERIMENTS, PLOTS, assert_png, drawn, legend_texts, synthetic_by_size
from workflow_scripts.figures import error_by_size
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
