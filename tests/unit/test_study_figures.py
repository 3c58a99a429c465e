"""Study figures render from synthetic tables, survive missing data; Table 2 checked by hand."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd
import pytest

from workflow_scripts.figures import study as sf
from workflow_scripts.evaluation.intervals import stratum_interval

PLOTS = {"dpi": 60, "font_size": 10, "width_in": 6.4, "height_in": 4.0}  # low dpi keeps the tests fast
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Roughly QM9's molecules per size (3..29 atoms).
QM9_SIZES = dict(zip(range(3, 30), [3, 4, 5, 9, 17, 39, 80, 181, 404, 999, 2091, 4237, 7003, 11023, 16118, 19779,
                                    19932, 16710, 12826, 8669, 5470, 2892, 1459, 555, 200, 42, 17]))
TRAIN_FRACTION = {"H": 1.0, "C": 0.995, "O": 0.85, "N": 0.62, "F": 0.015}
EXPERIMENTS = [("baseline", "Default (full data)"), ("cap_2000", "cap T = 2000"), ("cap_4000", "cap T = 4000")]

CI_COLUMNS = ["mae_ci_low_meV", "mae_ci_high_meV", "rmse_ci_low_meV", "rmse_ci_high_meV", "mse_ci_low_eV2",
              "mse_ci_high_eV2"]


def _row(experiment, seed, group, count, mae, **extra):
    """One metrics row with CIs that shrink with the count, like a bootstrap would (positive, skewed up)."""
    spread = np.exp(1.2 / np.sqrt(max(count, 1)))
    rmse, mse = mae * 1.4, (mae * 1.4 / 1000) ** 2
    study_part = "reference" if experiment == sf.REFERENCE else "study"
    return {"experiment": experiment, "study_part": study_part, "seed": seed, "group": group, "count": count,
            "mae_meV": mae, "rmse_meV": rmse, "mse_eV2": mse,
            "mae_ci_low_meV": mae / spread, "mae_ci_high_meV": mae * spread,
            "rmse_ci_low_meV": rmse / spread, "rmse_ci_high_meV": rmse * spread,
            "mse_ci_low_eV2": mse / spread**2, "mse_ci_high_eV2": mse * spread**2, **extra}


def _runs(seeds=(0, 1)):
    """(experiment, seed, quality factor) of the synthetic study; the reference has one seed."""
    runs = [(sf.REFERENCE, 0, None)]
    for factor, (name, _) in zip((1.0, 1.15, 1.05), EXPERIMENTS):
        runs += [(name, seed, factor) for seed in seeds]
    return runs


def synthetic_by_size(seeds=(0, 1), test_fraction=0.1) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    total = sum(QM9_SIZES.values())
    rows = []
    for experiment, seed, factor in _runs(seeds):
        for size, molecules in QM9_SIZES.items():
            count = int(round(molecules * test_fraction))
            share = molecules / total
            if factor is None:
                mae = 350 + 8 * abs(size - 18) + rng.normal(0, 10)
            else:
                # the error falls with the size's share of the data: ~200 meV for rare sizes, ~20 meV for common
                mae = factor * (20 + 180 * (1 - min(share / 0.15, 1)) ** 4) * rng.lognormal(0, 0.05)
            rows.append(_row(experiment, seed, size, count, mae, frequent=share > 0.01,
                             train_count=int(molecules * 0.8)))
    return pd.DataFrame(rows)


def synthetic_by_element(seeds=(0, 1)) -> pd.DataFrame:
    counts = {"H": 13083, "C": 13080, "O": 11100, "N": 8100, "F": 260}
    base = {"H": 30.0, "C": 30.0, "O": 32.0, "N": 34.0, "F": 58.0}
    rows = []
    for experiment, seed, factor in _runs(seeds):
        for element, count in counts.items():
            mae = 380.0 if factor is None else factor * base[element] * (1 + 0.03 * seed)
            rows.append(_row(experiment, seed, element, count, mae, train_count=count * 8))
    return pd.DataFrame(rows)


def synthetic_overall(seeds=(0, 1)) -> pd.DataFrame:
    rows = []
    for experiment, seed, factor in _runs(seeds):
        factor = 12 if factor is None else factor
        timing = {"train_seconds": 6000 + 300 * seed, "eval_seconds": 40 + seed}
        rows += [_row(experiment, seed, "all", 13083, 31 * factor + seed, size=np.nan, **timing),
                 _row(experiment, seed, "macro_frequent_sizes", 13000, 38 * factor, size=np.nan, **timing),
                 _row(experiment, seed, "worst_frequent_size", 140, 60 * factor, size=13 + seed, **timing)]
    return pd.DataFrame(rows)


def synthetic_logs(steps=600, steps_per_epoch=30):
    rng = np.random.default_rng(1)
    step = np.arange(steps)
    mean = 2.0 * np.exp(-step / 120) + 0.02 + 0.01 * rng.random(steps)
    train = pd.DataFrame({"step": step, "epoch": step // steps_per_epoch, "loss_mean": 2 * mean,
                          "loss_top5_mean": 2 * mean * (8 + 4 * rng.random(steps)),
                          "loss_bottom5_mean": 2 * mean * 1e-3 * (1 + rng.random(steps)),
                          "mse_eV2": mean, "sqerr_top5_mean_eV2": mean * (8 + 4 * rng.random(steps)),
                          "sqerr_bottom5_mean_eV2": mean * 1e-3 * (1 + rng.random(steps)), "lr": 1e-3})
    epochs = np.arange(steps // steps_per_epoch)
    val = pd.DataFrame({"epoch": epochs, "step": (epochs + 1) * steps_per_epoch - 1,
                        "val_mse_eV2": 1.5 * np.exp(-epochs / 4) + 0.03, "val_mae_meV": 900 * np.exp(-epochs / 6) + 40})
    return train, val


def synthetic_subset(cap=2000):
    pool = pd.DataFrame({"n_atoms": list(QM9_SIZES), "molecules": [int(v * 0.8) for v in QM9_SIZES.values()]})
    subset = pool.assign(molecules=pool["molecules"].clip(upper=cap))
    return subset, pool


def png_size(path) -> tuple[int, int]:
    data = open(path, "rb").read(32)
    assert data[:8] == PNG_MAGIC
    return struct.unpack(">II", data[16:24])


def assert_png(path, min_px=100):
    width, height = png_size(path)
    assert width > min_px and height > min_px


# --- figures -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric,log_y", [("mae_meV", True), ("mse_eV2", False)])
def test_error_by_size(tmp_path, metric, log_y):
    out = tmp_path / "fig3.png"
    sf.plot_error_by_size(synthetic_by_size(), EXPERIMENTS, PLOTS, out, "Figure 3", metric=metric, log_y=log_y)
    assert_png(out)


def test_error_by_size_survives_missing_data(tmp_path):
    metrics = synthetic_by_size()
    metrics.loc[metrics["group"] == 3, "count"] = 0  # an empty test bin is skipped, not plotted
    out = tmp_path / "fig.png"
    sf.plot_error_by_size(metrics, EXPERIMENTS + [("absent", "not run")], PLOTS, out, "missing", reference="nope")
    assert_png(out)
    empty = metrics.iloc[:0]
    sf.plot_error_by_size(empty, [("absent", "not run")], PLOTS, tmp_path / "empty.png", "nothing")
    assert_png(tmp_path / "empty.png")


def test_seed_mean_carries_the_seed_spread():
    metrics = synthetic_by_size()
    frame = sf._seed_mean(metrics, "baseline", "mae_meV")
    rows = metrics[(metrics["experiment"] == "baseline") & (metrics["group"] == 18)].sort_values("seed")
    assert frame.loc[18, "value"] == pytest.approx(rows["mae_meV"].mean())
    expected = stratum_interval(rows["mae_meV"].to_numpy(), rows["mae_ci_low_meV"].to_numpy(),
                                rows["mae_ci_high_meV"].to_numpy())
    # an error is never negative: a lower bound below 0 is drawn at 0
    assert (frame.loc[18, "low"], frame.loc[18, "high"]) == pytest.approx((max(0.0, expected["low"]), expected["high"]))
    # wider than the mean of the per-seed bounds (what the figures drew before), by the seed spread
    assert frame.loc[18, "low"] < rows["mae_ci_low_meV"].mean()
    assert frame.loc[18, "n_seeds"] == 2 and frame.loc[18, "seed_values"] == tuple(rows["mae_meV"])


def test_error_by_element(tmp_path):
    out = tmp_path / "fig4.png"
    sf.plot_error_by_element(synthetic_by_element(), EXPERIMENTS[:1] + [("absent", "x")], PLOTS, out, "Figure 4",
                             train_fraction=TRAIN_FRACTION)
    assert_png(out)
    sf.plot_error_by_element(synthetic_by_element().iloc[:0], [("absent", "x")], PLOTS, tmp_path / "e.png", "none",
                             train_fraction={})
    assert_png(tmp_path / "e.png")


def test_weight_factors(tmp_path):
    out = tmp_path / "appendix2.png"
    sf.plot_weight_factors(PLOTS, out)
    assert_png(out)
    train_sizes = np.repeat(list(QM9_SIZES), [max(v // 100, 1) for v in QM9_SIZES.values()])
    sf.plot_weight_factors(PLOTS, tmp_path / "three.png", train_sizes=train_sizes)
    assert png_size(tmp_path / "three.png")[0] > png_size(out)[0]  # the third panel widens the figure


@pytest.mark.parametrize("log_y", [True, False])
def test_learning_curves(tmp_path, log_y):
    train, val = synthetic_logs()
    out = tmp_path / "curves.png"
    sf.plot_learning_curves(train, val, PLOTS, out, "Appendix Figure 3", log_y=log_y)
    assert_png(out)
    sf.plot_learning_curves(train, val, PLOTS, tmp_path / "weighted.png", "weighted", log_y=log_y, weighted=True)
    assert_png(tmp_path / "weighted.png")
    sf.plot_learning_curves(train.iloc[:0], val.iloc[:0], PLOTS, tmp_path / "e.png", "empty", log_y=log_y)
    assert_png(tmp_path / "e.png")


def test_subset_histogram(tmp_path):
    subset, pool = synthetic_subset()
    out = tmp_path / "fig5.png"
    sf.plot_subset_histogram(subset, pool, 2000, PLOTS, out, "Figure 5")
    assert_png(out)
    sf.plot_subset_histogram(subset[subset["n_atoms"] > 17], pool, None, PLOTS, tmp_path / "b.png", "no cap")
    assert_png(tmp_path / "b.png")


def test_overall_comparison(tmp_path):
    out = tmp_path / "overall.png"
    sf.plot_overall_comparison(synthetic_overall(), EXPERIMENTS + [("absent", "not run")], PLOTS, out, "Summary")
    assert_png(out)


# --- Table 2 -------------------------------------------------------------------------------------------------------

def _tiny_overall():
    rows = []
    for seed, (mse, mae, macro, worst, size, train, evaluation) in enumerate(
            [(0.06, 30.0, 40.0, 70.0, 19, 3600, 60), (0.08, 34.0, 44.0, 90.0, 20, 7200, 120)]):
        common = {"experiment": "default", "study_part": "final", "seed": seed, "count": 100,
                  "train_seconds": train, "eval_seconds": evaluation, "rmse_meV": 1.0,
                  **{c: np.nan for c in CI_COLUMNS}}
        rows += [{**common, "group": "all", "mse_eV2": mse, "mae_meV": mae, "size": np.nan},
                 {**common, "group": "macro_frequent_sizes", "mse_eV2": 0.1, "mae_meV": macro, "size": np.nan},
                 {**common, "group": "worst_frequent_size", "mse_eV2": 0.2, "mae_meV": worst, "size": size}]
    return pd.DataFrame(rows)


def test_table2_values_by_hand():
    values = sf.table2_values(_tiny_overall(), [("default", "Default"), ("custom", "Custom")]).set_index("experiment")
    default = values.loc["default"]
    assert default["n_seeds"] == 2
    assert default["mse_eV2_mean"] == pytest.approx(0.07)
    assert default["mse_eV2_std"] == pytest.approx(np.sqrt(2) * 0.01)  # sample std of {0.06, 0.08}
    assert default["mae_meV_mean"] == pytest.approx(32.0)
    assert default["macro_mae_meV_mean"] == pytest.approx(42.0)
    assert default["worst_mae_meV_mean"] == pytest.approx(80.0)
    assert default["worst_sizes"] == "19, 20"
    assert default["train_seconds_mean"] == pytest.approx(5400)
    assert values.loc["custom", "n_seeds"] == 0 and np.isnan(values.loc["custom", "mse_eV2_mean"])


def test_table2_formatted():
    table = sf.table2(_tiny_overall(), [("default", "Default"), ("custom", "Custom")])
    default = table.iloc[0]
    assert default["model"] == "Default" and default["seeds"] == 2
    assert default["test MSE (eV²)"] == "0.0700 ± 0.0141"
    assert default["test MAE (meV)"] == "32.0 ± 2.8"
    assert default["worst frequent size (atoms)"] == "19, 20"
    assert default["train time (h:mm:ss)"] == "1:30:00"
    assert default["eval time (h:mm:ss)"] == "0:01:30"
    assert table.iloc[1]["test MSE (eV²)"] == "–" and table.iloc[1]["seeds"] == 0


def test_formatters():
    assert sf._fmt_hms(3 * 3600 + 61.4) == "3:01:01"
    assert sf._fmt_pm(1234.0, 12.0) == "1234 ± 12"
    assert sf._fmt_pm(0.0643, float("nan")) == "0.0643"
    assert sf._fmt_percent(0.015) == "1.5 %" and sf._fmt_percent(0.85) == "85 %"


def test_overall_comparison_colours_bars_by_study_part(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(sf, "save_figure", lambda fig, path: saved.append(fig))
    groups = {"baseline": "baseline", "cap_2000": "balancing", "cap_4000": "balancing"}
    sf.plot_overall_comparison(synthetic_overall(), EXPERIMENTS, PLOTS, tmp_path / "o.png", "Summary", groups=groups)
    [fig] = saved
    ax = fig.axes[0]
    labels = {round(y): t.get_text().split(" (")[0] for y, t in zip(ax.get_yticks(), ax.get_yticklabels())}
    bars = {labels[round(p.get_y() + p.get_height() / 2)]: p.get_facecolor() for p in ax.patches}
    assert bars["cap T = 2000"] == bars["cap T = 4000"] != bars["Default"]
    legend = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    assert "baseline" in legend and "balancing" in legend
