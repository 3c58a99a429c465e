"""What the figures share: seed means with seed-aware intervals, fixed colours, units."""

import pytest

from tests.unit.synthetic_study import synthetic_by_size
from workflow_scripts.evaluation.intervals import stratum_interval
from workflow_scripts import targets
from workflow_scripts.figures import style


def test_seed_mean_carries_the_seed_spread():
    metrics = synthetic_by_size()
    frame = style.seed_mean(metrics, "baseline", "mae_meV")
    rows = metrics[(metrics["experiment"] == "baseline") & (metrics["group"] == 18)].sort_values("seed")
    assert frame.loc[18, "value"] == pytest.approx(rows["mae_meV"].mean())
    expected = stratum_interval(rows["mae_meV"].to_numpy(), rows["mae_ci_low_meV"].to_numpy(),
                                rows["mae_ci_high_meV"].to_numpy())
    # an error is never negative: a lower bound below 0 is drawn at 0
    assert (frame.loc[18, "low"], frame.loc[18, "high"]) == pytest.approx((max(0.0, expected["low"]), expected["high"]))
    # wider than the mean of the per-seed bounds (what the figures drew before), by the seed spread
    assert frame.loc[18, "low"] < rows["mae_ci_low_meV"].mean()
    assert frame.loc[18, "n_seeds"] == 2 and frame.loc[18, "seed_values"] == tuple(rows["mae_meV"])


def test_seed_mean_skips_empty_bins():
    metrics = synthetic_by_size()
    metrics.loc[metrics["group"] == 3, "count"] = 0
    assert 3 not in style.seed_mean(metrics, "baseline", "mae_meV").index


def test_experiment_colours_are_fixed_by_order_and_grey_for_the_reference():
    colors = style.experiment_colors(["b", style.REFERENCE, "a", "b"])
    assert colors == {"b": "tab:blue", "a": "tab:orange", style.REFERENCE: style.REFERENCE_STYLE["color"]}
    # a figure's own colours win over the fallback
    assert style.colors_for([("a", "A"), ("b", "B")], {"b": "black"}) == {
        "a": "tab:blue", "b": "black", style.REFERENCE: "0.3"}


def test_metric_labels_and_units():
    assert style.metric_label("mae_meV") == "test MAE (meV)" and style.metric_unit("mse_eV2") == "eV²"
    assert style.metric_label("other") == "test other" and style.metric_unit("other") == ""
    # another target names its symbol and its units; the gap, an energy, keeps U0's columns and meV
    mu, gap = targets.get("mu"), targets.get("gap")
    assert style.metric_label("mae_D", mu) == "test MAE of μ (D)" and style.metric_unit("mse_D2", mu) == "D²"
    assert style.metric_label("mse_D2", mu) == "test MSE of μ (D²)"
    assert style.metric_label("mae_meV", mu) == "test mae_meV"  # not the study's column: no unit claimed
    assert style.metric_label("mae_meV", gap) == "test MAE of gap (meV)" and style.metric_unit("rmse_meV", gap) == "meV"
