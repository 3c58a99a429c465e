"""Study-wide tables: per-run metrics files gathered into one long table each, the training runs, and Table 2.

The training runs table says of each run whether it converged, or failed (diverged or collapsed), and why.

Each per-run file comes with its run, (experiment, seed), in the same order as the rule's inputs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from workflow_scripts.evaluation.units import DEFAULT_TARGET, label, val_mae
from workflow_scripts.figures.catalogue import OVERVIEW
from workflow_scripts.properties import LINEAR_REFERENCE
from workflow_scripts.targets import Target

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


# A run's status. A failure outranks convergence: a run can settle on a useless model (early stopping keeps
# the best epoch of a run that diverged).
FAILED = ("diverged", "collapsed")
STATUSES = ("converged", "not_converged", *FAILED)
# Which verdicts read the runs of each part of the study (rule hypothesis_verdicts); other parts feed figures only.
VERDICTS_OF_PART = {"baseline": "H1-H4", "balancing": "H3", "balancing_control": "H3", "targeted": "H4",
                    "placebo": "the placebo check"}


def judged_until(train_log: pd.DataFrame, min_lr_fraction: float) -> float:
    """The last step whose learning rate was at least ``min_lr_fraction`` of the run's peak.

    Under a decaying schedule the last steps barely move the weights, so a run looks settled there whatever it
    would still have learned; convergence is judged over the steps before this one.
    """
    lr = train_log.loc[np.isfinite(train_log["lr"]), ["step", "lr"]]
    if lr.empty:
        return float("nan")
    return float(lr.loc[lr["lr"] >= min_lr_fraction * lr["lr"].max(), "step"].max())


def convergence(val_log: pd.DataFrame, train_log: pd.DataFrame, final_fraction: float, max_improvement: float,
                min_lr_fraction: float, target: Target = DEFAULT_TARGET) -> dict:
    """Had a run settled while its learning rate still mattered?

    The window: the run's steps up to :func:`judged_until`. ``final_improvement`` = (best validation MAE before the
    window's last ``final_fraction`` - best in the window) / best before; converged when below ``max_improvement``.
    It cannot be judged (NaN, not converged) without a validation both before that last part and in it.
    A run that early stopping ended stopped before its learning rate decayed, so its window runs to its last step,
    and the validations without a new best that ended it fill the last part: it counts as converged, rightly so
    (it had stopped improving at a learning rate that still moved it). Whether it stopped at a useful model is
    what the diverged and collapsed checks say.
    """
    column = val_mae(target)
    val = val_log.sort_values("step")
    best = float(val[column].min()) if not val.empty else float("nan")
    start, end = float(train_log["step"].min()), judged_until(train_log, min_lr_fraction)
    split = start + (1 - final_fraction) * (end - start)
    before = val.loc[val["step"] <= split, column]
    last_part = val.loc[(val["step"] > split) & (val["step"] <= end), column]
    best_column = f"best_{column}"
    if before.empty or last_part.empty:
        return {best_column: best, "judged_until_step": end, "final_improvement": float("nan"), "converged": False}
    best_before = float(before.min())
    improvement = max(0.0, best_before - float(last_part.min())) / best_before
    return {best_column: best, "judged_until_step": end, "final_improvement": improvement,
            "converged": bool(improvement < max_improvement)}


def divergence(val_log: pd.DataFrame, divergence_factor: float, target: Target = DEFAULT_TARGET) -> dict:
    """Did the validation MAE blow up after the best epoch? Diverged when a later one exceeds ``divergence_factor``
    x the best. A spike before the best epoch is left alone: the run recovered from it. A non-finite validation
    MAE counts as infinitely bad.
    """
    mae = val_log.sort_values("step")[val_mae(target)].to_numpy(dtype=float)
    mae = np.where(np.isfinite(mae), mae, np.inf)
    worst_column = target.metric("max_val_mae_after_best")
    if mae.size == 0 or not np.isfinite(mae.min()):
        return {worst_column: float("nan"), "diverged": bool(mae.size)}
    after = mae[int(np.argmin(mae)) + 1:]
    worst = float(after.max()) if after.size else float("nan")
    return {worst_column: worst, "diverged": bool(after.size and worst > divergence_factor * mae.min())}


def collapse(test_mae: float, reference_mae: float, collapse_fraction: float, target: Target = DEFAULT_TARGET) -> dict:
    """Did the run learn next to nothing beyond composition? Its test MAE against the linear reference's.

    Both are on the one held-out test set every run shares. The test set is used here as a diagnostic only: no
    model, epoch or setting is chosen by it, and no verdict's statistic changes; it labels the run in the tables
    and the report. (Validation would do as well, but the linear reference is never evaluated on it.)
    Unknown when either MAE is missing.
    """
    ratio = float(test_mae) / reference_mae if reference_mae else float("nan")
    return {target.metric("test_mae"): float(test_mae), "test_mae_vs_linear_reference": ratio,
            "collapsed": bool(np.isfinite(ratio) and ratio > collapse_fraction)}


def run_status(val_log: pd.DataFrame, train_log: pd.DataFrame, test_mae: float, reference_mae: float,
               convergence_rule: dict, failure: dict, target: Target = DEFAULT_TARGET) -> dict:
    """A run's status (``STATUSES``) with its evidence; ``converged`` is True only for a converged run. The
    evidence's columns carry the target's unit (``best_val_mae_meV``, ``best_val_mae_D``); the failure rule's
    thresholds are ratios, the same for every target."""
    row = {**convergence(val_log, train_log, **convergence_rule, target=target),
           **divergence(val_log, failure["divergence_factor"], target),
           **collapse(test_mae, reference_mae, failure["collapse_fraction"], target)}
    status = ("diverged" if row["diverged"] else "collapsed" if row["collapsed"]
              else "converged" if row["converged"] else "not_converged")
    for flag in ("diverged", "collapsed"):
        del row[flag]
    return {**row, "status": status, "converged": status == "converged"}


def used_by(experiment: str, part: str, figures: dict) -> str:
    """What reads a run beyond the tables: its part's verdicts and the figures that show it (``figures``: name ->
    experiments shown), or "none". The overview shows every experiment, so it is left out."""
    uses = [VERDICTS_OF_PART[part]] if part in VERDICTS_OF_PART else []
    uses += [name for name, shown in figures.items() if name != OVERVIEW and experiment in shown]
    return "; ".join(uses) or "none"


def overall_mae(overall: pd.DataFrame, target: Target = DEFAULT_TARGET) -> dict[Run, float]:
    """Each run's test MAE over the whole test set (the metrics_overall "all" rows), by (experiment, seed)."""
    rows = overall[overall["group"] == "all"]
    return {(str(e), int(s)): float(m)
            for e, s, m in zip(rows["experiment"], rows["seed"], rows[target.metric("mae")])}


def _judged_runs(val_log_paths, train_log_paths, runs, overall: pd.DataFrame, convergence_rule: dict,
                 failure: dict, target: Target) -> dict[Run, dict]:
    """Each run's :func:`run_status` from its curves and ``overall`` (its metrics_overall table and the linear
    reference's), by (experiment, seed), in the order of ``runs``."""
    train_logs = dict(_with_runs(train_log_paths, runs))
    test_mae = overall_mae(overall, target)
    reference = [m for (e, _), m in test_mae.items() if e == LINEAR_REFERENCE]
    reference_mae = float(np.mean(reference)) if reference else float("nan")
    return {run: run_status(pd.read_csv(path), pd.read_csv(train_logs[run]), test_mae.get(run, float("nan")),
                            reference_mae, convergence_rule, failure, target)
            for run, path in _with_runs(val_log_paths, runs)}


def run_statuses(val_log_paths, train_log_paths, runs, overall: pd.DataFrame, convergence_rule: dict,
                 failure: dict, *, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """``experiment``, ``seed``, ``status`` and ``converged`` of the given runs, as :func:`training_runs` judges
    them. Rule hypothesis_verdicts judges the runs it compares this way, from their files alone, so that a change
    to a run it does not compare re-runs nothing there."""
    judged = _judged_runs(val_log_paths, train_log_paths, runs, overall, convergence_rule, failure, target)
    return pd.DataFrame([{"experiment": e, "seed": s, "status": j["status"], "converged": j["converged"]}
                         for (e, s), j in judged.items()], columns=["experiment", "seed", "status", "converged"])


def training_runs(timing_paths, val_log_paths, train_log_paths, runs, parts: dict[str, str], overall: pd.DataFrame,
                  convergence_rule: dict, failure: dict, figures: dict | None = None, *,
                  target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """One row per training run: its step budget, time, status (``STATUSES``) with its evidence, and its uses.

    ``runs`` are the runs of the three file lists, in their order; ``overall``: the gathered metrics_overall
    tables, the linear reference's included; ``figures``: figure name -> the experiments it shows.
    """
    judged = _judged_runs(val_log_paths, train_log_paths, runs, overall, convergence_rule, failure, target)
    rows = []
    for (experiment, seed), path in _with_runs(timing_paths, runs):
        timing = json.loads(Path(path).read_text())
        row = {"experiment": experiment, "study_part": parts.get(experiment, ""), "seed": seed,
               "budget_rule": timing.get("budget_rule"), "steps": timing.get("steps"),
               "step_budget": timing.get("step_budget"), "epochs_run": timing.get("epochs_run"),
               "n_train": timing.get("n_train"), "train_seconds": timing.get("train_seconds"),
               "reused_from": timing.get("reused_from", ""), **judged[(experiment, seed)]}
        row["used_by"] = used_by(experiment, row["study_part"], figures or {})
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


def table2_values(metrics_overall: pd.DataFrame, experiments, *, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Table 2 as numbers: per (experiment, label), mean and sample std (ddof 1) over seeds. Missing: n_seeds 0.
    Columns ``<key>_mean`` and ``<key>_std`` per key: the target's MSE and MAE columns (``mse_eV2``, ``mae_meV``),
    ``macro_mae_meV``, ``worst_mae_meV`` (the target's unit), ``train_seconds``, ``eval_seconds``."""
    mse, mae = target.mse_column, target.metric("mae")
    rows = []
    for name, label in experiments:
        runs = metrics_overall[metrics_overall["experiment"] == name]

        def group(name_):
            return runs[runs["group"] == name_].set_index("seed")

        total, macro, worst = group("all"), group("macro_frequent_sizes"), group("worst_frequent_size")
        worst_sizes = sorted({int(s) for s in worst.get("size", pd.Series(dtype=float)).dropna()})
        row = {"experiment": name, "model": label, "n_seeds": int(runs["seed"].nunique()),
               "worst_sizes": ", ".join(map(str, worst_sizes))}
        for key, frame, column in ((mse, total, mse), (mae, total, mae), (target.metric("macro_mae"), macro, mae),
                                   (target.metric("worst_mae"), worst, mae),
                                   ("train_seconds", total, "train_seconds"), ("eval_seconds", total, "eval_seconds")):
            values = frame[column].dropna() if column in frame else pd.Series(dtype=float)
            row[f"{key}_mean"] = values.mean() if len(values) else np.nan
            row[f"{key}_std"] = values.std(ddof=1) if len(values) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _budgets(training_runs: pd.DataFrame | None, experiments) -> pd.DataFrame:
    """Per final experiment: its budget rule, epochs and optimizer steps (means over seeds), training molecules."""
    rows = []
    for name, _ in experiments:
        runs = training_runs[training_runs["experiment"] == name] if training_runs is not None else pd.DataFrame()
        rows.append({
            "budget rule": ", ".join(sorted(set(runs["budget_rule"].dropna()))) or "–" if len(runs) else "–",
            "epochs": _mean_int(runs, "epochs_run"), "optimizer steps": _mean_int(runs, "steps"),
            "training molecules": _mean_int(runs, "n_train"),
        })
    return pd.DataFrame(rows, columns=["budget rule", "epochs", "optimizer steps", "training molecules"])


def _mean_int(runs: pd.DataFrame, column: str) -> str:
    values = runs[column].dropna() if column in runs else pd.Series(dtype=float)
    return f"{values.mean():.0f}" if len(values) else "–"


def table2_headers(target: Target = DEFAULT_TARGET) -> dict[str, str]:
    """Table 2's headers of the target's errors, by the key of :func:`table2_values` (the thesis's for U0:
    'test MSE (eV²)', 'test MAE (meV)'; 'test MAE of μ (D)' for the dipole moment)."""
    return {target.mse_column: label(target, "test MSE", squared=True), target.metric("mae"): label(target, "test MAE"),
            target.metric("macro_mae"): label(target, "macro MAE", ", frequent sizes"),
            target.metric("worst_mae"): label(target, "MAE", " at worst size")}


def table2(metrics_overall: pd.DataFrame, experiments, training_runs: pd.DataFrame | None = None, *,
           target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Table 2 formatted for the report: 'mean ± std over seeds', times as h:mm:ss (mean over seeds).

    The thesis's columns first (model, overall test MSE, the training's wall time, validation included), then
    what this study adds: seeds, MAEs, the worst frequent size, the test set's prediction time, and from
    ``training_runs`` (the training runs table) each run's budget rule, epochs, steps and training molecules,
    so a runtime difference can be traced to the training's length.
    """
    values = table2_values(metrics_overall, experiments, target=target)
    headers = table2_headers(target)
    mse, mae, macro, worst = headers

    def pm(key):
        return [format_pm(m, s) for m, s in zip(values[f"{key}_mean"], values[f"{key}_std"])]

    table = pd.DataFrame({
        "model": values["model"],
        headers[mse]: pm(mse),
        "train + validation time (h:mm:ss)": [format_hms(v) for v in values["train_seconds_mean"]],
        "seeds": values["n_seeds"],
        headers[mae]: pm(mae),
        headers[macro]: pm(macro),
        "worst frequent size (atoms)": values["worst_sizes"].replace("", "–"),
        headers[worst]: pm(worst),
        "test prediction time (h:mm:ss)": [format_hms(v) for v in values["eval_seconds_mean"]],
    })
    return pd.concat([table, _budgets(training_runs, experiments)], axis=1)
