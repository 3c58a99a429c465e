"""Figure 4 renders, orders the elements by their share of training, and survives missing data."""

import pandas as pd
import pytest

from tests.unit.synthetic_study import (
    EXPERIMENTS, PLOTS, TRAIN_FRACTION, assert_drawn_values_match, assert_png, drawn, legend_texts, synthetic_by_element,
)
from workflow_scripts import targets
from workflow_scripts.figures import error_by_element
from workflow_scripts.figures.error_by_element import percent, plot_error_by_element, train_fractions
from workflow_scripts.figures.style import VALUE_COLUMNS


def test_error_by_element(tmp_path):
    out = tmp_path / "fig4.png"
    plot_error_by_element(synthetic_by_element(), EXPERIMENTS[:1] + [("absent", "x")], PLOTS, out, "Figure 4",
                          train_fraction=TRAIN_FRACTION)
    assert_png(out)
    plot_error_by_element(synthetic_by_element().iloc[:0], [("absent", "x")], PLOTS, tmp_path / "e.png", "none",
                          train_fraction={})
    assert_png(tmp_path / "e.png")


def test_elements_ordered_by_training_share_with_counts(tmp_path, monkeypatch):
    figures = drawn(monkeypatch, error_by_element)
    plot_error_by_element(synthetic_by_element(), EXPERIMENTS[:1], PLOTS, tmp_path / "f.png", "Figure 4",
                          train_fraction=TRAIN_FRACTION)
    [fig] = figures
    ticks = [t.get_text().split("\n") for t in fig.axes[0].get_xticklabels()]
    assert [t[0] for t in ticks] == ["H", "C", "O", "N", "F"]
    assert ticks[-1][1:] == ["1.5 % of train", "n test = 260"]
    # the linear reference is ~10x the errors: written in the legend, not drawn over the bars
    assert any(text.startswith("linear reference (off scale): H 380") for text in legend_texts(fig))


def test_train_fractions_by_hand():
    metrics = pd.DataFrame({"experiment": ["b", "b", "b", "other"], "group": ["C", "H", "F", "C"],
                            "train_count": [200, 200, 5, 7]})
    assert train_fractions(metrics, "b") == pytest.approx({"C": 1.0, "H": 1.0, "F": 0.025})


def test_percent():
    assert percent(0.015) == "1.5 %" and percent(0.85) == "85 %"


def test_the_values_written_beside_the_figure_are_the_metrics_drawn(tmp_path):
    """Each bar is its experiment's seed mean for that element group of the metric drawn (not another column)."""
    metrics = synthetic_by_element()
    path = tmp_path / "fig4.csv"
    plot_error_by_element(metrics, EXPERIMENTS, PLOTS, tmp_path / "fig4.png", "Figure 4",
                          train_fraction=TRAIN_FRACTION, values_path=path)
    values = pd.read_csv(path)
    assert list(values.columns) == VALUE_COLUMNS
    assert assert_drawn_values_match(values, metrics, "mae_meV", [label for _, label in EXPERIMENTS]) == 3 * 5
    with pytest.raises(AssertionError):
        assert_drawn_values_match(values, metrics, "rmse_meV", [label for _, label in EXPERIMENTS])
    counts = values.query("experiment == 'baseline'").set_index("x")["count"]
    assert counts.to_dict() == metrics.query("experiment == 'baseline'").groupby("group")["count"].max().to_dict()


def test_a_dipole_moment_study_is_drawn_in_debye(tmp_path, monkeypatch):
    mu = targets.get("mu")
    figures = drawn(monkeypatch, error_by_element)
    metrics = synthetic_by_element(target=mu)
    plot_error_by_element(metrics, EXPERIMENTS[:1], PLOTS, tmp_path / "f.png", "Figure 4", TRAIN_FRACTION, target=mu)
    [fig] = figures
    assert fig.axes[0].get_ylabel() == "test MAE of μ (D)"
    # the reference far above the bars is written out, in D
    assert any(t.startswith("linear reference (off scale)") and t.endswith(" D") for t in legend_texts(fig))
    assert not any("meV" in t for t in legend_texts(fig))
