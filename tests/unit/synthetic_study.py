"""Synthetic study tables for the figure tests: metrics shaped like the study's, logs, subset counts.

Every table is U0's unless a ``target`` (workflow_scripts/targets.py) is given: then its columns carry that target's
names (``mae_D``, ``mse_D2``) and its errors are U0's scaled to the target's display unit (a thousandth of the meV
values: about 0.02 to 0.2 D for the dipole moment)."""

from __future__ import annotations

import struct

import numpy as np
import pandas as pd

from workflow_scripts.config.experiments import CAPPED, LEARNING_CURVE, SIZE_CONTROL
from workflow_scripts.evaluation.learning_curve import mae_columns
from workflow_scripts.evaluation.stratum_metrics import metric_columns
from workflow_scripts.evaluation.units import DEFAULT_TARGET, squared_tag, val_mae
from workflow_scripts.figures.style import REFERENCE
from workflow_scripts.targets import Target

PLOTS = {"dpi": 60, "font_size": 10, "width_in": 6.4, "height_in": 4.0}  # low dpi keeps the tests fast
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Roughly QM9's molecules per size (3..29 atoms).
QM9_SIZES = dict(zip(range(3, 30), [3, 4, 5, 9, 17, 39, 80, 181, 404, 999, 2091, 4237, 7003, 11023, 16118, 19779,
                                    19932, 16710, 12826, 8669, 5470, 2892, 1459, 555, 200, 42, 17]))
TRAIN_FRACTION = {"H": 1.0, "C": 0.995, "O": 0.85, "N": 0.62, "F": 0.015}
EXPERIMENTS = [("baseline", "Default (full data)"), ("cap_2000", "cap T = 2000"), ("cap_4000", "cap T = 4000")]

CI_COLUMNS = list(metric_columns()[4:])  # U0's interval columns


def _scale(target: Target) -> float:
    """The factor from the synthetic meV values to the target's display unit."""
    return 1.0 if target.display_unit == "meV" else 1e-3


def _row(experiment, seed, group, count, mae, target: Target = DEFAULT_TARGET, **extra):
    """One metrics row with CIs that shrink with the count, like a bootstrap would (positive, skewed up); ``mae``
    in meV, written in the target's unit."""
    spread = np.exp(1.2 / np.sqrt(max(count, 1)))
    mae = mae * _scale(target)
    rmse, mse = mae * 1.4, (mae * 1.4 / target.factor) ** 2
    study_part = "reference" if experiment == REFERENCE else "study"
    _, *points, mae_low, mae_high, rmse_low, rmse_high, mse_low, mse_high = metric_columns(target)
    return {"experiment": experiment, "study_part": study_part, "seed": seed, "group": group, "count": count,
            **dict(zip(points, (mae, rmse, mse))),
            mae_low: mae / spread, mae_high: mae * spread, rmse_low: rmse / spread, rmse_high: rmse * spread,
            mse_low: mse / spread**2, mse_high: mse * spread**2, **extra}


def _runs(seeds=(0, 1)):
    """(experiment, seed, quality factor) of the synthetic study; the reference has one seed."""
    runs = [(REFERENCE, 0, None)]
    for factor, (name, _) in zip((1.0, 1.15, 1.05), EXPERIMENTS):
        runs += [(name, seed, factor) for seed in seeds]
    return runs


def synthetic_by_size(seeds=(0, 1), test_fraction=0.1, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
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
            rows.append(_row(experiment, seed, size, count, mae, target, frequent=share > 0.01,
                             train_count=int(molecules * 0.8)))
    return pd.DataFrame(rows)


def synthetic_by_element(seeds=(0, 1), target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    counts = {"H": 13083, "C": 13080, "O": 11100, "N": 8100, "F": 260}
    base = {"H": 30.0, "C": 30.0, "O": 32.0, "N": 34.0, "F": 58.0}
    rows = []
    for experiment, seed, factor in _runs(seeds):
        for element, count in counts.items():
            mae = 380.0 if factor is None else factor * base[element] * (1 + 0.03 * seed)
            rows.append(_row(experiment, seed, element, count, mae, target, train_count=count * 8))
    return pd.DataFrame(rows)


def synthetic_overall(seeds=(0, 1), target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    rows = []
    for experiment, seed, factor in _runs(seeds):
        factor = 12 if factor is None else factor
        timing = {"train_seconds": 6000 + 300 * seed, "eval_seconds": 40 + seed}
        rows += [_row(experiment, seed, "all", 13083, 31 * factor + seed, target, size=np.nan, **timing),
                 _row(experiment, seed, "macro_frequent_sizes", 13000, 38 * factor, target, size=np.nan, **timing),
                 _row(experiment, seed, "worst_frequent_size", 140, 60 * factor, target, size=13 + seed, **timing)]
    return pd.DataFrame(rows)


def synthetic_logs(steps=600, steps_per_epoch=30, target: Target = DEFAULT_TARGET):
    """Training and validation logs; the squared errors and the validation MAE under the target's names."""
    rng = np.random.default_rng(1)
    squared = squared_tag(target)
    step = np.arange(steps)
    mean = 2.0 * np.exp(-step / 120) + 0.02 + 0.01 * rng.random(steps)
    train = pd.DataFrame({"step": step, "epoch": step // steps_per_epoch, "loss_mean": 2 * mean,
                          "loss_top5_mean": 2 * mean * (8 + 4 * rng.random(steps)),
                          "loss_bottom5_mean": 2 * mean * 1e-3 * (1 + rng.random(steps)),
                          target.mse_column: mean, f"sqerr_top5_mean_{squared}": mean * (8 + 4 * rng.random(steps)),
                          f"sqerr_bottom5_mean_{squared}": mean * 1e-3 * (1 + rng.random(steps)), "lr": 1e-3})
    epochs = np.arange(steps // steps_per_epoch)
    val = pd.DataFrame({"epoch": epochs, "step": (epochs + 1) * steps_per_epoch - 1,
                        f"val_{target.mse_column}": 1.5 * np.exp(-epochs / 4) + 0.03,
                        val_mae(target): (900 * np.exp(-epochs / 6) + 40) * _scale(target)})
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


def drawn(monkeypatch, module) -> list:
    """The figures ``module`` draws from now on, kept open instead of saved (to inspect titles and legends)."""
    figures = []
    monkeypatch.setattr(module, "save_figure", lambda fig, path: figures.append(fig))
    monkeypatch.setattr(module, "close", lambda fig: None)
    return figures


def legend_texts(fig) -> list[str]:
    return [t.get_text() for legend in fig.legends + [a.get_legend() for a in fig.axes if a.get_legend()]
            for t in legend.get_texts()]


# The learning curve's arms in the synthetic study: cap_4000 stands in for a fraction of the training set, and a
# control of cap_2000 (one seed, errors 10 % larger) is added.
LEARNING_CURVE_ARMS = [("baseline", LEARNING_CURVE), ("fraction_50", LEARNING_CURVE), ("cap_2000", CAPPED),
                       ("control_2000", SIZE_CONTROL), ("not_run", SIZE_CONTROL)]
LEARNING_CURVE_SUBSETS = {"baseline": "full", "fraction_50": "fraction_50", "cap_2000": "T2000",
                          "control_2000": "T2000_random", "not_run": "T6000_random"}
LEARNING_CURVE_N_TRAIN = {"baseline": 2800, "fraction_50": 1400, "cap_2000": 800, "control_2000": 800}


def learning_curve_metrics(table: pd.DataFrame, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """A synthetic metrics table (synthetic_overall, synthetic_by_size) under the learning curve's names."""
    table = table.replace({"experiment": {"cap_4000": "fraction_50"}})
    control = table[(table["experiment"] == "cap_2000") & (table["seed"] == 0)].copy()
    for column in mae_columns(target)[:3]:
        control[column] *= 1.1
    return pd.concat([table, control.assign(experiment="control_2000")], ignore_index=True)


def learning_curve_runs() -> pd.DataFrame:
    """n_train of each run, as results/tiny/tables/training_runs.csv has it."""
    return pd.DataFrame([{"experiment": e, "seed": s, "n_train": n}
                         for e, n in LEARNING_CURVE_N_TRAIN.items() for s in (0, 1)])


def seed_means(metrics: pd.DataFrame, column: str) -> pd.Series:
    """(experiment, group) -> the mean over seeds of ``column``: what a figure's drawn value must equal."""
    rows = metrics[metrics["count"] > 0] if "count" in metrics else metrics
    return rows.groupby(["experiment", "group"])[column].mean()


def assert_drawn_values_match(values: pd.DataFrame, metrics: pd.DataFrame, column: str, series=None) -> int:
    """Each drawn point (``experiment``, ``x``, ``y``) equals the seed mean of ``column`` of its experiment and
    group in ``metrics`` (``series``: only those rows); returns how many points were compared."""
    expected = seed_means(metrics, column)
    rows = values[values["experiment"].fillna("").astype(str) != ""]
    rows = rows[rows["series"].isin(series)] if series is not None else rows
    assert len(rows), "no drawn values to compare"
    for _, row in rows.iterrows():
        group = row["x"]
        key = (row["experiment"], type(expected.index.get_level_values(1)[0])(group))
        assert np.isclose(row["y"], expected[key], rtol=1e-9), (key, row["y"], expected[key], column)
    return len(rows)
