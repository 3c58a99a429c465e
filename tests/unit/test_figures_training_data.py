"""Figure 5 (a capped subset over the pool) and Appendix Figure 2 (loss weight factors) render."""

import numpy as np
import pandas as pd

from tests.unit.synthetic_study import PLOTS, QM9_SIZES, assert_png, drawn, png_size, synthetic_subset
from workflow_scripts.figures import training_data
from workflow_scripts.figures.style import VALUE_COLUMNS
from workflow_scripts.figures.training_data import plot_subset_histogram, plot_weight_factors
from workflow_scripts.training.weights import loss_weights


def test_weight_factors(tmp_path):
    out = tmp_path / "appendix2.png"
    plot_weight_factors(PLOTS, out, "Appendix Figure 2", rates=(0, 2, 5, 10))
    assert_png(out)
    train_sizes = np.repeat(list(QM9_SIZES), [max(v // 100, 1) for v in QM9_SIZES.values()])
    plot_weight_factors(PLOTS, tmp_path / "three.png", "three", rates=(0, 2, 5, 10), train_sizes=train_sizes)
    assert png_size(tmp_path / "three.png")[0] > png_size(out)[0]  # the third panel widens the figure


def test_weight_factors_draw_one_curve_per_rate(tmp_path, monkeypatch):
    figures = drawn(monkeypatch, training_data)
    plot_weight_factors(PLOTS, tmp_path / "a.png", "v(s)", rates=(0, 3))
    [fig] = figures
    size_panel = fig.axes[0]
    labels = [t.get_text() for t in size_panel.get_legend().get_texts()]
    assert labels == ["r = 0 (uniform, v = 1.1)", "r = 3"] and fig._suptitle.get_text() == "v(s)"


def test_subset_histogram(tmp_path, monkeypatch):
    subset, pool = synthetic_subset()
    out = tmp_path / "fig5.png"
    plot_subset_histogram(subset, pool, 2000, PLOTS, out, "Figure 5")
    assert_png(out)
    plot_subset_histogram(subset[subset["n_atoms"] > 17], pool, None, PLOTS, tmp_path / "b.png", "no cap")
    assert_png(tmp_path / "b.png")
    figures = drawn(monkeypatch, training_data)
    plot_subset_histogram(subset, pool, 2000, PLOTS, tmp_path / "c.png", "Figure 5", subset_label="T2000")
    labels = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert labels == ["cap T = 2,000 molecules per size", f"full training pool (n = {int(pool['molecules'].sum()):,})",
                      f"T2000 (n = {int(subset['molecules'].sum()):,})"]


def test_the_values_written_beside_the_figures_are_the_counts_and_weights_drawn(tmp_path):
    subset, pool = synthetic_subset()
    path = tmp_path / "fig5.csv"
    plot_subset_histogram(subset, pool, 2000, PLOTS, tmp_path / "fig5.png", "Figure 5", subset_label="T2000",
                          values_path=path)
    values = pd.read_csv(path)
    assert list(values.columns) == VALUE_COLUMNS
    for label, table in (("T2000", subset), ("full training pool", pool)):
        drawn_counts = values[values["series"] == label].set_index("x")["y"]
        expected = table.set_index("n_atoms")["molecules"]
        assert drawn_counts.loc[expected.index].tolist() == expected.tolist()
    assert values.loc[values["series"] == "cap T", "y"].tolist() == [2000]
    path = tmp_path / "appendix2.csv"
    plot_weight_factors(PLOTS, tmp_path / "a.png", "v(s)", rates=(0, 5), values_path=path)
    values = pd.read_csv(path)
    for scheme in ("size", "size_frequency"):
        curve = values[(values["panel"] == scheme) & (values["series"] == "r = 5")]
        np.testing.assert_allclose(curve["y"], loss_weights(scheme, curve["x"].to_numpy(), rate=5))
