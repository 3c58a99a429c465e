"""The learning curve: test MAE against the number of training molecules (results/<study>/tables/learning_curve.csv).

The baseline on random fractions of the training set and on all of it draws the curve: the error a smaller training
set costs without balancing. The capped arms of H3 and their random controls of the same size sit at their own
sizes beside it: a cap's distance from its control is what balancing does, its control's distance from the full
baseline is what less data does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from workflow_scripts.evaluation.intervals import seed_summary
from workflow_scripts.evaluation.units import DEFAULT_TARGET, ci_columns, decimals
from workflow_scripts.targets import Target

OVERALL = "all"  # the group of the whole test set, as in metrics_overall.csv


def mae_columns(target: Target = DEFAULT_TARGET) -> tuple[str, str, str, str]:
    """The table's MAE, its interval and each seed's MAE: ``mae_meV``, ``mae_ci_low_meV``, ``mae_ci_high_meV``,
    ``mae_each_seed_meV`` for U0."""
    mae = target.metric("mae")
    return mae, *ci_columns(mae), target.metric("mae_each_seed")


def columns(target: Target = DEFAULT_TARGET) -> list[str]:
    mae, low, high, each_seed = mae_columns(target)
    return ["experiment", "series", "subset", "n_train", "training_share", "seeds", "group", "count", mae, low, high,
            "seed_variance_known", each_seed]


COLUMNS = columns()  # U0's


def training_sizes(timing_paths, runs) -> pd.DataFrame:
    """``experiment``, ``seed``, ``n_train`` of each run, from its timing.json (``runs``: theirs, in order)."""
    runs = [(str(e), int(s)) for e, s in runs]
    if len(runs) != len(timing_paths):
        raise ValueError(f"{len(timing_paths)} timing files but {len(runs)} runs: the rule must pass one run per file")
    return pd.DataFrame([{"experiment": e, "seed": s, "n_train": json.loads(Path(p).read_text())["n_train"]}
                         for (e, s), p in zip(runs, timing_paths)], columns=["experiment", "seed", "n_train"])


def _frequent_sizes(by_size: pd.DataFrame) -> pd.DataFrame:
    """The rows of the frequent size bins (every size where the table does not say which are frequent)."""
    rows = by_size[by_size["count"] > 0] if "count" in by_size else by_size
    return rows[rows["frequent"].astype(bool)] if "frequent" in rows else rows


def learning_curve(overall: pd.DataFrame, by_size: pd.DataFrame, training_runs: pd.DataFrame,
                   arms: list[tuple[str, str]], subsets: dict[str, str], *,
                   target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """One row per experiment of ``arms`` ((experiment, series), see config/experiments.learning_curve_arms) and
    group: the whole test set (``group`` "all") and each frequent size bin (``group`` its number of atoms).

    ``overall``, ``by_size``: the gathered metrics tables (one row per run and group); ``training_runs``: its
    ``n_train`` per run (results/<study>/tables/training_runs.csv or :func:`training_sizes`); ``subsets``: experiment ->
    subset name. ``mae_meV`` (the target's MAE column, :func:`mae_columns`) is the mean over seeds with its
    seed-aware 95 % interval (intervals.seed_summary); ``training_share``: ``n_train`` over the baseline's (the first
    arm). Experiments without results are left out.
    """
    names = [name for name, _ in arms]
    series = dict(arms)
    whole = overall[(overall["group"] == OVERALL) & overall["experiment"].isin(names)]
    sizes = _frequent_sizes(by_size[by_size["experiment"].isin(names)])
    mae, low, high, each_seed = mae_columns(target)
    summary = pd.concat([seed_summary(whole, mae), seed_summary(sizes, mae)], ignore_index=True)
    if summary.empty:
        return pd.DataFrame(columns=columns(target))
    n_train = training_runs.groupby("experiment")["n_train"].max()  # a subset is the same for every seed
    full = n_train.get(names[0], float("nan"))
    table = pd.DataFrame({
        "experiment": summary["experiment"],
        "series": summary["experiment"].map(series),
        "subset": summary["experiment"].map(subsets),
        "n_train": summary["experiment"].map(n_train).astype("Int64"),
        "training_share": summary["experiment"].map(n_train) / full,
        "seeds": summary["n_seeds"],
        "group": summary["group"],
        "count": summary["count"].astype("Int64"),
        mae: summary["value"],
        low: summary["low"],
        high: summary["high"],
        "seed_variance_known": summary["seed_variance_known"],
        each_seed: seed_values_text(summary["seed_values"], target),
    })
    order = {name: i for i, name in enumerate(dict.fromkeys(s for _, s in arms))}
    key = pd.DataFrame({"series": table["series"].map(order), "n_train": table["n_train"],
                        "arm": table["experiment"].map({n: i for i, n in enumerate(names)}),
                        "whole": table["group"] != OVERALL,
                        "size": pd.to_numeric(table["group"], errors="coerce")})
    return table.loc[key.sort_values(list(key.columns), kind="stable").index].reset_index(drop=True)


def seed_values_text(seed_values, target: Target = DEFAULT_TARGET) -> list[str]:
    """Each row's per-seed values as one cell ('14.2, 15.1'), at the decimals of the target's unit."""
    return [", ".join(f"{v:.{decimals(target.display_unit)}f}" for v in values) for values in seed_values]
