"""Appendix Figures 3 and 4: a run's learning curves, on a linear and on a log scale."""

from __future__ import annotations

import pandas as pd

from workflow_scripts.evaluation.units import DEFAULT_TARGET, label, squared_tag, val_mae
from workflow_scripts.files.atomic import save_figure
from workflow_scripts.figures.style import (close, drawn, empty_panel, figure, note_handle, outside_legend,
                                            save_values)
from workflow_scripts.targets import Target


def train_curves(target: Target = DEFAULT_TARGET) -> tuple[tuple[str, str], ...]:
    """(column of the training log, legend entry) of each curve of the training panel, smallest first: the
    squared errors in the stored unit squared (``sqerr_bottom5_mean_eV2``, ``mse_eV2``, ``sqerr_top5_mean_eV2``)."""
    tag = squared_tag(target)
    return ((f"sqerr_bottom5_mean_{tag}", "mean of the 5 smallest"), (target.mse_column, "batch mean"),
            (f"sqerr_top5_mean_{tag}", "mean of the 5 largest"))


def weighted_curve(target: Target = DEFAULT_TARGET) -> tuple[str, str]:
    return "loss_mean", f"weighted loss, batch mean (v · {target.squared_unit})"


def val_curve(target: Target = DEFAULT_TARGET) -> tuple[str, str]:
    return val_mae(target), "validation MAE (end of epoch)"


# U0's, as the tests read them
TRAIN_CURVES, WEIGHTED_CURVE, VAL_CURVE = train_curves(), weighted_curve(), val_curve()


def plot_learning_curves(train_log: pd.DataFrame, val_log: pd.DataFrame, plots: dict, path, title: str, log_y: bool,
                         weighted: bool = False, values_path=None, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Per-step training error (raw, not smoothed) on top; validation MAE per epoch, at the epoch's last step, below.

    The top panel shows the plain per-molecule squared error of each batch (mean, and the means of the 5 largest
    and 5 smallest), the same quantity whatever the loss weighting, so curves of weighted and unweighted runs
    compare; a ``weighted`` run adds the batch mean of the loss it optimizes (v · squared error), dashed.
    Writes the drawn values to ``values_path`` (CSV: style.VALUE_COLUMNS, x the step; panel "training" or
    "validation") and returns them.
    """
    (bottom, _), (batch, _), (top, _) = train_curves(target)
    (_, weighted_label), (val_column, val_label) = weighted_curve(target), val_curve(target)
    curves = []
    fig, (ax, ax_val) = figure(plots, height_scale=1.4, nrows=2, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    if train_log is not None and len(train_log):
        log = train_log.sort_values("step")
        step = log["step"].to_numpy()
        ax.fill_between(step, log[bottom], log[top], color="tab:blue",
                        alpha=0.15, lw=0, label="band: 5 smallest to 5 largest")
        ax.plot(step, log[top], color="tab:red", lw=0.7, label="mean of the 5 largest")
        ax.plot(step, log[batch], color="tab:blue", lw=1.1, label="batch mean")
        ax.plot(step, log[bottom], color="tab:green", lw=0.7, label="mean of the 5 smallest")
        if weighted:
            ax.plot(step, log["loss_mean"], color="black", lw=0.6, ls="--", alpha=0.6, label=weighted_label)
        curves += [drawn(name, step, log[column], panel="training")
                   for column, name in train_curves(target) + ((weighted_curve(target),) if weighted else ())]
    else:
        empty_panel(ax, "no training log")
    if val_log is not None and len(val_log):
        val = val_log.sort_values("step")
        ax_val.plot(val["step"], val[val_column], "-o", ms=3, lw=1.1, color="tab:purple", label=val_label)
        curves.append(drawn(val_label, val["step"], val[val_column], panel="validation"))
    else:
        empty_panel(ax_val, "no validation log")
    has_train, has_val = train_log is not None and len(train_log) > 0, val_log is not None and len(val_log) > 0
    for axis, has_data in ((ax, has_train), (ax_val, has_val)):
        if log_y and has_data:
            axis.set_yscale("log", nonpositive="mask")
        axis.grid(color="0.9", lw=0.6)
    ax.set_ylabel(label(target, "training squared error\nper molecule", squared=True))
    ax_val.set_ylabel(label(target, "validation\nMAE"))
    ax_val.set_xlabel("training step (batch)")
    ax.set_title(title)
    handles = ax.get_legend_handles_labels()[0] + ax_val.get_legend_handles_labels()[0]
    handles.append(note_handle("raw per-step values, no smoothing"))
    outside_legend(fig, handles, plots)
    save_figure(fig, path)
    close(fig)
    return save_values(curves, values_path)
