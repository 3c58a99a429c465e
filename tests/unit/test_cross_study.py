"""The cross-study: each property x network's baseline by size and element, relative to its linear reference."""

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO
from workflow_scripts.config.experiments import cross_studies
from workflow_scripts.evaluation.cross_study import cross_study_table, mae_column, study_rows
from workflow_scripts.figures.cross_study import plot_cross_study
from workflow_scripts.run_cross_study import commands

PLOTS = {"dpi": 80, "font_size": 9, "width_in": 6.4, "height_in": 4.0}


def metrics(groups, maes, unit="meV", count=50):
    maes = np.asarray(maes, dtype=float)
    return pd.DataFrame({"group": groups, "count": count, f"mae_{unit}": maes, f"mae_ci_low_{unit}": maes * 0.9,
                         f"mae_ci_high_{unit}": maes * 1.1})


def reference(mae, unit="meV"):
    return pd.DataFrame({"group": ["all", "macro_frequent_sizes"], f"mae_{unit}": [mae, mae],
                         f"mae_ci_low_{unit}": [mae, mae], f"mae_ci_high_{unit}": [mae, mae]})


def a_study(target, representation, size_maes, element_maes, reference_mae, unit="meV"):
    seeds = [0, 1]
    by_size = [metrics([10, 11, 12], np.asarray(size_maes) * f, unit) for f in (0.95, 1.05)]
    by_element = [metrics(["H", "C", "F"], np.asarray(element_maes) * f, unit) for f in (0.95, 1.05)]
    return study_rows(target, representation, f"tiny-{target}", {"size": by_size, "element": by_element},
                      reference(reference_mae, unit), seeds)


def test_errors_are_seed_means_relative_to_each_studys_linear_reference():
    table = cross_study_table([a_study("U0", "schnet", [100, 200, 300], [150, 150, 600], 1000),
                               a_study("mu", "painn", [0.1, 0.1, 0.2], [0.1, 0.1, 0.3], 0.5, unit="D")])
    size = table[(table["stratum"] == "size") & (table["target"] == "U0")].set_index("group")
    assert size.loc["12", "mae"] == pytest.approx(300) and size.loc["12", "relative_mae"] == pytest.approx(0.3)
    assert (size["mae_low"] < size["mae"]).all() and (size["mae"] < size["mae_high"]).all()
    assert (size["n_seeds"] == 2).all()
    dipole = table[(table["target"] == "mu") & (table["stratum"] == "element")].set_index("group")
    assert dipole.loc["F", "relative_mae"] == pytest.approx(0.6) and set(dipole["unit"]) == {"D"}
    assert list(dict.fromkeys(table["target"])) == ["U0", "mu"]  # the config's order


def test_a_metrics_table_without_one_mae_column_is_named():
    with pytest.raises(ValueError, match="one MAE column"):
        mae_column(pd.DataFrame({"group": ["all"], "rmse_meV": [1.0]}))


def test_the_figure_draws_every_study(tmp_path):
    table = cross_study_table([a_study("U0", "schnet", [100, 200, 300], [150, 150, 600], 1000),
                               a_study("U0", "painn", [50, 100, 150], [80, 80, 300], 1000),
                               a_study("gap", "schnet", [300, 250, 200], [280, 280, 300], 600)])
    path = tmp_path / "cross.png"
    plot_cross_study(table, PLOTS, path)
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_each_study_of_the_config_runs_its_baseline_then_the_rule_gathers_them(base_config, tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("scale: tiny\ncross_study: {targets: [U0, gap], representations: [schnet, painn]}\n")
    runs = commands(["--cores", "1", "--configfile", str(overlay)])
    assert len(runs) == 5 and runs[-1][-1] == "cross_study"
    # the config's own study: its baseline's metrics and the linear reference's (a report of the baseline alone
    # would replace the whole study's); the others: their report
    own = runs[0][runs[0].index("--", runs[0].index("only_experiments=[baseline]")) + 1:]
    assert own[0] == "results/tiny/experiments/baseline/seed0/metrics_by_size.csv"
    assert own[-1] == "results/tiny/experiments/linear_reference/seed0/metrics_overall.csv"
    assert not any(p.endswith("report.html") for p in own)
    # and as `make study` and the last step (rule cross_study) run it: no --config overrides of target or
    # representation (they would be the config's own values)
    assert runs[0][runs[0].index("--config") + 1] == "only_experiments=[baseline]"
    studies = [r[-1] for r in runs[1:-1]]
    assert studies == [f"results/{s}/report/report.html" for s in ("tiny-painn", "tiny-gap", "tiny-gap-painn")]
    assert "target=gap" in runs[2] and "defaults={model: {representation: painn}}" in runs[3]
    assert [s["study"] for s in cross_studies({**base_config, "scale": "tiny"})][0] == "tiny"
