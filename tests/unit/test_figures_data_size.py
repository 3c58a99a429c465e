"""The learning curve figure: drawn from the learning-curve table, and the values it writes are the table's."""

import pandas as pd
import pytest

from tests.unit.synthetic_study import (LEARNING_CURVE_ARMS, LEARNING_CURVE_SUBSETS, PLOTS, assert_png, drawn,
                                        learning_curve_metrics, learning_curve_runs, legend_texts, synthetic_by_size,
                                        synthetic_overall)
from workflow_scripts import targets
from workflow_scripts.evaluation.learning_curve import learning_curve
from workflow_scripts.figures import data_size
from workflow_scripts.figures.data_size import plot_learning_curve, shown_sizes


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    """The table as rule learning_curve writes it, and as rule figure_data_size reads it back."""
    path = tmp_path_factory.mktemp("tables") / "learning_curve.csv"
    learning_curve(learning_curve_metrics(synthetic_overall()), learning_curve_metrics(synthetic_by_size()),
                   learning_curve_runs(), LEARNING_CURVE_ARMS, LEARNING_CURVE_SUBSETS).to_csv(path, index=False)
    return path


def test_the_values_written_are_the_tables(tmp_path, table_file):
    table = pd.read_csv(table_file)
    out, values_path = tmp_path / "curve.png", tmp_path / "curve.csv"
    returned = plot_learning_curve(table, PLOTS, out, values_path, "Learning curve")
    assert_png(out)
    values = pd.read_csv(values_path)
    pd.testing.assert_frame_equal(values, returned.astype({"group": object}), check_dtype=False)
    sizes = shown_sizes(table)
    assert 2 <= len(sizes) <= 4 and sizes == sorted(sizes)
    assert set(values["panel"]) == {"whole test set", *(f"size {s}" for s in sizes)}
    merged = values.astype({"group": str}).merge(table.astype({"group": str}), on=["experiment", "group"],
                                                 suffixes=("", "_table"))
    assert len(merged) == len(values) == 4 * (1 + len(sizes))  # 4 experiments with results
    for column in ("n_train", "mae_meV", "mae_ci_low_meV", "mae_ci_high_meV", "seeds", "series", "subset"):
        assert merged[column].tolist() == merged[f"{column}_table"].tolist(), column


def test_caps_and_controls_are_points_beside_the_curve(tmp_path, monkeypatch, table_file):
    figures = drawn(monkeypatch, data_size)
    plot_learning_curve(pd.read_csv(table_file), PLOTS, tmp_path / "c.png", tmp_path / "c.csv", "Learning curve")
    [fig] = figures
    top = fig.axes[0]
    assert top.get_xscale() == "log" and top.get_yscale() == "log"
    legend = legend_texts(fig)
    assert {"learning curve", "capped per size", "random, as many as a cap"} <= set(legend)
    assert any(text.endswith(" atoms") for text in legend)
    # each cap and control named where it is drawn, the curve's points by their share of the training set
    assert {t.get_text() for t in top.texts} == {"T2000", "50 %", "100 %"}  # a control sits beside its cap, unlabelled


def test_an_empty_table_draws_an_empty_figure(tmp_path, table_file):
    empty = pd.read_csv(table_file).iloc[0:0]
    values = plot_learning_curve(empty, PLOTS, tmp_path / "e.png", tmp_path / "e.csv", "Learning curve")
    assert_png(tmp_path / "e.png")
    assert values.empty and pd.read_csv(tmp_path / "e.csv").empty


def test_a_dipole_moment_study_is_drawn_in_debye(tmp_path, monkeypatch):
    mu = targets.get("mu")
    table = learning_curve(learning_curve_metrics(synthetic_overall(target=mu), mu),
                           learning_curve_metrics(synthetic_by_size(target=mu), mu), learning_curve_runs(),
                           LEARNING_CURVE_ARMS, LEARNING_CURVE_SUBSETS, target=mu)
    assert {"mae_D", "mae_ci_low_D", "mae_ci_high_D", "mae_each_seed_D"} <= set(table.columns)
    assert not any("meV" in c for c in table.columns)
    figures = drawn(monkeypatch, data_size)
    values = plot_learning_curve(table, PLOTS, tmp_path / "c.png", tmp_path / "c.csv", "Learning curve", target=mu)
    [fig] = figures
    assert fig.axes[0].get_ylabel() == "test MAE of μ (D)\nwhole test set"
    assert "mae_D" in values and not any("meV" in c for c in values.columns)
