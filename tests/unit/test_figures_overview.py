"""The overview renders every experiment's whole-test-set error, best on top, coloured by study part."""

import numpy as np
import pandas as pd

from tests.unit.synthetic_study import EXPERIMENTS, PLOTS, assert_png, drawn, legend_texts, synthetic_overall
from workflow_scripts import targets
from workflow_scripts.figures import overview
from workflow_scripts.figures.overview import plot_overall_comparison
from workflow_scripts.figures.style import REFERENCE, VALUE_COLUMNS


def test_overall_comparison(tmp_path):
    out = tmp_path / "overall.png"
    plot_overall_comparison(synthetic_overall(), EXPERIMENTS + [("absent", "not run")], PLOTS, out, "Summary")
    assert_png(out)


def test_overall_comparison_colours_bars_by_study_part(tmp_path, monkeypatch):
    figures = drawn(monkeypatch, overview)
    groups = {"baseline": "baseline", "cap_2000": "balancing", "cap_4000": "balancing"}
    plot_overall_comparison(synthetic_overall(), EXPERIMENTS, PLOTS, tmp_path / "o.png", "Summary", groups=groups)
    [fig] = figures
    ax = fig.axes[0]
    labels = {round(y): t.get_text().split(" (")[0] for y, t in zip(ax.get_yticks(), ax.get_yticklabels())}
    bars = {labels[round(p.get_y() + p.get_height() / 2)]: p.get_facecolor() for p in ax.patches}
    assert bars["cap T = 2000"] == bars["cap T = 4000"] != bars["Default"]
    legend = legend_texts(fig)
    assert "baseline" in legend and "balancing" in legend
    # best on top: the baseline (quality factor 1.0) above cap T = 4000 (1.05) above cap T = 2000 (1.15)
    assert [labels[y] for y in sorted(labels, reverse=True)] == ["Default", "cap T = 4000", "cap T = 2000"]


def test_the_values_written_beside_the_figure_are_the_metrics_drawn(tmp_path):
    """Each bar is its experiment's seed mean of the whole-test-set metric; the reference's line its own."""
    metrics = synthetic_overall()
    path = tmp_path / "overview.csv"
    plot_overall_comparison(metrics, EXPERIMENTS, PLOTS, tmp_path / "o.png", "Summary", values_path=path)
    values = pd.read_csv(path)
    assert list(values.columns) == VALUE_COLUMNS
    whole = metrics[metrics["group"] == "all"]
    means = whole.groupby("experiment")["mae_meV"].mean()
    drawn_values = values.set_index("experiment")["y"]
    assert set(drawn_values.index) == {name for name, _ in EXPERIMENTS} | {REFERENCE}
    np.testing.assert_allclose(drawn_values.sort_index(), means.loc[drawn_values.index].sort_index())
    assert not np.allclose(drawn_values.sort_index(), whole.groupby("experiment")["rmse_meV"].mean()
                           .loc[drawn_values.index].sort_index())


def _no_energy_words(fig) -> bool:
    texts = [t for ax in fig.axes for t in (ax.get_xlabel(), ax.get_ylabel(), ax.get_title())] + legend_texts(fig)
    return not any("meV" in t or "eV²" in t or "U0" in t for t in texts)


def test_a_dipole_moment_study_is_drawn_in_debye(tmp_path, monkeypatch):
    mu = targets.get("mu")
    figures = drawn(monkeypatch, overview)
    values = plot_overall_comparison(synthetic_overall(target=mu), EXPERIMENTS, PLOTS, tmp_path / "o.png", "Summary",
                                     target=mu)
    [fig] = figures
    assert fig.axes[0].get_xlabel() == "test MAE of μ (D), whole test set"
    assert any(t.startswith("linear reference (") and " D)" in t for t in legend_texts(fig))
    assert _no_energy_words(fig) and values["y"].max() < 1  # D, not meV
