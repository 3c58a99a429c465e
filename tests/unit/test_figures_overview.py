"""The overview renders every experiment's whole-test-set error, best on top, coloured by study part."""

from tests.unit.synthetic_study import EXPERIMENTS, PLOTS, assert_png, drawn, legend_texts, synthetic_overall
from workflow_scripts.figures import overview
from workflow_scripts.figures.overview import plot_overall_comparison


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
