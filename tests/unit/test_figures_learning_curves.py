"""Appendix Figures 3 and 4 render from synthetic logs, on both scales, with the title they are given."""

import numpy as np
import pandas as pd
import pytest

from tests.unit.synthetic_study import PLOTS, assert_png, drawn, legend_texts, synthetic_logs
from workflow_scripts import targets
from workflow_scripts.figures import learning_curves
from workflow_scripts.figures.learning_curves import plot_learning_curves
from workflow_scripts.figures.style import VALUE_COLUMNS


@pytest.mark.parametrize("log_y", [True, False])
def test_learning_curves(tmp_path, log_y):
    train, val = synthetic_logs()
    out = tmp_path / "curves.png"
    plot_learning_curves(train, val, PLOTS, out, "Appendix Figure 3", log_y=log_y)
    assert_png(out)
    plot_learning_curves(train, val, PLOTS, tmp_path / "weighted.png", "weighted", log_y=log_y, weighted=True)
    assert_png(tmp_path / "weighted.png")
    plot_learning_curves(train.iloc[:0], val.iloc[:0], PLOTS, tmp_path / "e.png", "empty", log_y=log_y)
    assert_png(tmp_path / "e.png")


def test_title_scale_and_weighted_loss(tmp_path, monkeypatch):
    figures = drawn(monkeypatch, learning_curves)
    train, val = synthetic_logs()
    plot_learning_curves(train, val, PLOTS, tmp_path / "a.png", "Learning curves: x, seed 0 (log scale)", log_y=True,
                         weighted=True)
    plot_learning_curves(train, val, PLOTS, tmp_path / "b.png", "plain", log_y=False)
    weighted, plain = figures
    assert weighted.axes[0].get_title() == "Learning curves: x, seed 0 (log scale)"
    assert weighted.axes[0].get_yscale() == "log" and plain.axes[0].get_yscale() == "linear"
    assert "weighted loss, batch mean (v · eV²)" in legend_texts(weighted)
    assert "weighted loss, batch mean (v · eV²)" not in legend_texts(plain)


def test_the_values_written_beside_the_figure_are_the_logs_drawn(tmp_path):
    """Each curve's points are its log column at each step: the plain squared error (not the weighted loss,
    unless asked) and the validation MAE."""
    train, val = synthetic_logs()
    path = tmp_path / "curves.csv"
    plot_learning_curves(train, val, PLOTS, tmp_path / "c.png", "curves", log_y=True, weighted=True, values_path=path)
    values = pd.read_csv(path)
    assert list(values.columns) == VALUE_COLUMNS
    for column, label in (*learning_curves.TRAIN_CURVES, learning_curves.WEIGHTED_CURVE):
        curve = values[(values["panel"] == "training") & (values["series"] == label)]
        np.testing.assert_allclose(curve["y"], train.sort_values("step")[column])
        np.testing.assert_array_equal(curve["x"], train.sort_values("step")["step"])
    validation = values[values["panel"] == "validation"]
    np.testing.assert_allclose(validation["y"], val.sort_values("step")["val_mae_meV"])
    assert set(values["series"]) == {label for _, label in (*learning_curves.TRAIN_CURVES,
                                                             learning_curves.WEIGHTED_CURVE, learning_curves.VAL_CURVE)}


def test_a_dipole_moment_run_is_drawn_in_debye(tmp_path, monkeypatch):
    """The curves of a run of another property: its log columns (mse_D2, val_mae_D) and its units."""
    mu = targets.get("mu")
    figures = drawn(monkeypatch, learning_curves)
    train, val = synthetic_logs(target=mu)
    values = plot_learning_curves(train, val, PLOTS, tmp_path / "a.png", "curves", log_y=True, weighted=True,
                                  target=mu)
    [fig] = figures
    assert fig.axes[0].get_ylabel() == "training squared error\nper molecule of μ (D²)"
    assert fig.axes[1].get_ylabel() == "validation\nMAE of μ (D)"
    assert "weighted loss, batch mean (v · D²)" in legend_texts(fig)
    validation = values[values["panel"] == "validation"]
    assert validation["y"].tolist() == val.sort_values("step")["val_mae_D"].tolist()
