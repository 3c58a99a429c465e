"""Study-wide tables: per-run metrics files gathered into one long table each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

_RUN = re.compile(r"experiments/(?P<experiment>[^/]+)/seed(?P<seed>\d+)/")


def run_of(path) -> tuple[str, int]:
    match = _RUN.search(str(path))
    if not match:
        raise ValueError(f"{path} is not inside results/experiments/<experiment>/seed<seed>/")
    return match["experiment"], int(match["seed"])


def gather(paths, parts: dict[str, str]) -> pd.DataFrame:
    """Concatenate per-run CSVs, adding ``experiment``, ``study_part`` and ``seed`` first."""
    frames = []
    for path in paths:
        experiment, seed = run_of(path)
        frame = pd.read_csv(path)
        frame.insert(0, "seed", seed)
        frame.insert(0, "study_part", parts.get(experiment, "reference"))
        frame.insert(0, "experiment", experiment)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def add_timing(overall: pd.DataFrame, timing_paths) -> pd.DataFrame:
    """Join train and eval wall times (seconds) from each run's timing files."""
    rows = {}
    for path in timing_paths:
        key = run_of(path)
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


def training_runs(timing_paths, val_log_paths, parts: dict[str, str], final_fraction: float,
                  max_improvement: float) -> pd.DataFrame:
    """One row per training run: its step budget, time, best validation MAE and whether it converged."""
    val_logs = {run_of(path): path for path in val_log_paths}
    rows = []
    for path in timing_paths:
        experiment, seed = run_of(path)
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
