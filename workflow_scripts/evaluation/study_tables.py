"""Study-wide tables: per-run metrics files gathered into one long table each, the training runs, and Table 2.

Each per-run file comes with its run, (experiment, seed), in the same order as the rule's inputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

Run = tuple[str, int]


def _with_runs(paths, runs) -> list[tuple[Run, str]]:
    """Pair each file with its run; the rule passes the runs in its inputs' order."""
    paths, runs = list(paths), [(str(e), int(s)) for e, s in runs]
    if len(paths) != len(runs):
        raise ValueError(f"{len(paths)} files but {len(runs)} runs: the rule must pass one run per input file")
    return list(zip(runs, paths))


def gather(paths, runs, parts: dict[str, str]) -> pd.DataFrame:
    """Concatenate per-run CSVs, adding ``experiment``, ``study_part`` and ``seed`` first."""
    frames = []
    for (experiment, seed), path in _with_runs(paths, runs):
        frame = pd.read_csv(path)
        frame.insert(0, "seed", seed)
        frame.insert(0, "study_part", parts.get(experiment, "reference"))
        frame.insert(0, "experiment", experiment)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def add_timing(overall: pd.DataFrame, timing_paths, runs) -> pd.DataFrame:
    """Join train and eval wall times (seconds) from each run's timing file (``runs``: theirs, in order)."""
    rows = {}
    for key, path in _with_runs(timing_paths, runs):
        rows.setdefault(key, {}).update(json.loads(Path(path).read_text()))
    timing = pd.DataFrame(
        [{"experiment": e, "seed": s, "train_seconds": t.get("train_seconds"), "eval_seconds": t.get("eval_seconds")}
         for (e, s), t in rows.items()]
    )
    if timing.empty:
        return overall.assign(train_seconds=float("nan"), eval_seconds=float("nan"))
    return overall.merge(timing, on=["experiment", "seed"], how="left")


def convergence(val_log: pd.DataFrame, final_fraction: float, max_improvement: float) -> dict:
    """Did a run settle? The relative drop of its best validation MAE during its last ``final_fraction`` of steps.

    ``improvement`` = (best before that part - best overall) / best before; ``converged`` when it is below
    ``max_improvement``. A run with no validation before its final part cannot be judged (NaN, not converged).
    """
    val = val_log.sort_values("step")
    if val.empty:
        return {"best_val_mae_meV": float("nan"), "final_improvement": float("nan"), "converged": False}
    split = (1 - final_fraction) * val["step"].max()
    before = val.loc[val["step"] <= split, "val_mae_meV"]
    best = float(val["val_mae_meV"].min())
    if before.empty:
        return {"best_val_mae_meV": best, "final_improvement": float("nan"), "converged": False}
    improvement = (float(before.min()) - best) / float(before.min())
    return {"best_val_mae_meV": best, "final_improvement": improvement, "converged": bool(improvement < max_improvement)}


def training_runs(timing_paths, val_log_paths, runs, parts: dict[str, str], final_fraction: float,
                  max_improvement: float) -> pd.DataFrame:
    """One row per training run: its step budget, time, best validation MAE and whether it converged.

    ``runs`` are the runs of both file lists, in their order.
    """
    val_logs = dict(_with_runs(val_log_paths, runs))
    rows = []
    for (experiment, seed), path in _with_runs(timing_paths, runs):
        timing = json.loads(Path(path).read_text())
        row = {"experiment": experiment, "study_part": parts.get(experiment, ""), "seed": seed,
               "budget_rule": timing.get("budget_rule"), "steps": timing.get("steps"),
               "step_budget": timing.get("step_budget"), "epochs_run": timing.get("epochs_run"),
               "n_train": timing.get("n_train"), "train_seconds": timing.get("train_seconds"),
               "reused_from": timing.get("reused_from", "")}
        if (experiment, seed) in val_logs:
            row.update(convergence(pd.read_csv(val_logs[(experiment, seed)]), final_fraction, max_improvement))
        rows.append(row)
    return pd.DataFrame(rows)


def format_pm(mean: float, std: float, digits: int = 3) -> str:
    """'mean ± std' with ``digits`` significant digits on the mean and the std at the same decimals."""
    if mean is None or not np.isfinite(mean):
        return "–"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(mean)))) if mean != 0 else digits
    text = f"{mean:.{decimals}f}"
    return f"{text} ± {std:.{decimals}f}" if std is not None and np.isfinite(std) else text


def format_hms(seconds: float) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "–"
    total = int(round(seconds))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def table2_values(metrics_overall: pd.DataFrame, experiments) -> pd.DataFrame:
    """Table 2 as numbers: per (experiment, label), mean and sample std (ddof 1) over seeds. Missing: n_seeds 0."""
    rows = []
    for name, label in experiments:
        runs = metrics_overall[metrics_overall["experiment"] == name]

        def group(name_):
            return runs[runs["group"] == name_].set_index("seed")

        total, macro, worst = group("all"), group("macro_frequent_sizes"), group("worst_frequent_size")
        worst_sizes = sorted({int(s) for s in worst.get("size", pd.Series(dtype=float)).dropna()})
        row = {"experiment": name, "model": label, "n_seeds": int(runs["seed"].nunique()),
               "worst_sizes": ", ".join(map(str, worst_sizes))}
        for key, frame, column in (("mse_eV2", total, "mse_eV2"), ("mae_meV", total, "mae_meV"),
                                   ("macro_mae_meV", macro, "mae_meV"), ("worst_mae_meV", worst, "mae_meV"),
                                   ("train_seconds", total, "train_seconds"), ("eval_seconds", total, "eval_seconds")):
            values = frame[column].dropna() if column in frame else pd.Series(dtype=float)
            row[f"{key}_mean"] = values.mean() if len(values) else np.nan
            row[f"{key}_std"] = values.std(ddof=1) if len(values) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def table2(metrics_overall: pd.DataFrame, experiments) -> pd.DataFrame:
    """Table 2 formatted for the report: 'mean ± std over seeds', times as h:mm:ss (mean over seeds)."""
    values = table2_values(metrics_overall, experiments)
    return pd.DataFrame({
        "model": values["model"],
        "seeds": values["n_seeds"],
        "test MSE (eV²)": [format_pm(m, s) for m, s in zip(values["mse_eV2_mean"], values["mse_eV2_std"])],
        "test MAE (meV)": [format_pm(m, s) for m, s in zip(values["mae_meV_mean"], values["mae_meV_std"])],
        "macro MAE, frequent sizes (meV)": [format_pm(m, s) for m, s in
                                            zip(values["macro_mae_meV_mean"], values["macro_mae_meV_std"])],
        "worst frequent size (atoms)": values["worst_sizes"].replace("", "–"),
        "MAE at worst size (meV)": [format_pm(m, s) for m, s in
                                    zip(values["worst_mae_meV_mean"], values["worst_mae_meV_std"])],
        "train time (h:mm:ss)": [format_hms(v) for v in values["train_seconds_mean"]],
        "eval time (h:mm:ss)": [format_hms(v) for v in values["eval_seconds_mean"]],
    })
