"""Figure 1 and Appendix Figure 5 render with the titles they are given."""

import pandas as pd

from tests.unit.synthetic_study import PLOTS, assert_png, drawn
from workflow_scripts.figures import dataset
from workflow_scripts.figures.dataset import plot_element_size_heatmap, plot_size_histogram


def histogram():
    return pd.DataFrame({"n_atoms": [3, 4, 5, 6], "molecules": [1, 40, 50, 9], "frequent": [False, True, True, True]})


def test_size_histogram(tmp_path, monkeypatch):
    plot_size_histogram(histogram(), PLOTS, tmp_path / "h.png", 0.05, "QM9 molecule sizes (100 molecules)")
    assert_png(tmp_path / "h.png")
    figures = drawn(monkeypatch, dataset)
    plot_size_histogram(histogram(), PLOTS, tmp_path / "i.png", 0.05, "sizes")
    ax = figures[0].axes[0]
    assert ax.get_title() == "sizes"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["frequent sizes (> 5 %)", "rare sizes"]


def test_element_size_heatmap(tmp_path, monkeypatch):
    counts = pd.DataFrame({"element": ["H", "H", "F", "F"], "n_atoms": [3, 4, 3, 4],
                           "fraction_of_element": [0.25, 0.75, 0.0, 1.0]})
    frequency = pd.DataFrame({"element": ["H", "F"], "molecules": [4, 1]})
    plot_element_size_heatmap(counts, frequency, PLOTS, tmp_path / "m.png", "heatmap")
    assert_png(tmp_path / "m.png")
    figures = drawn(monkeypatch, dataset)
    plot_element_size_heatmap(counts, frequency, PLOTS, tmp_path / "n.png", "per element")
    ax = figures[0].axes[0]
    assert ax.get_title() == "per element"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["H (n=4)", "F (n=1)"]
    assert ax.images[0].get_array()[1, 1] == 100.0  # percent of the element's molecules
