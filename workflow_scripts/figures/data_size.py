"""The learning curve: test MAE against the number of training molecules, with the capped arms and their random
controls at their own sizes (how much of the caps' effect is data size). Drawn from results/<study>/tables/learning_curve.csv
(evaluation/learning_curve.py); the values drawn are written beside the figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.lines import Line2D

from workflow_scripts.config.experiments import CAPPED, LEARNING_CURVE, SIZE_CONTROL
from workflow_scripts.evaluation.learning_curve import OVERALL, mae_columns
from workflow_scripts.evaluation.units import DEFAULT_TARGET
from workflow_scripts.files.atomic import save_figure, write_csv
from workflow_scripts.figures.style import (ERROR_BAR_NOTE, close, empty_panel, figure, log_axis, metric_label,
                                            note_handle, outside_legend, seed_markers)
from workflow_scripts.targets import Target

MARKERS = {LEARNING_CURVE: "o", CAPPED: "s", SIZE_CONTROL: "^"}
# a cap and its control have the same number of molecules: drawn a little apart, left and right
DODGE = {LEARNING_CURVE: 1.0, CAPPED: 0.96, SIZE_CONTROL: 1.04}
SIZES_SHOWN = 4  # frequent size bins drawn in the lower panel, spread from the smallest to the largest


def value_columns(target: Target = DEFAULT_TARGET) -> list[str]:
    """The columns of the values drawn: the learning curve table's, MAE in the target's unit."""
    mae, low, high, _ = mae_columns(target)
    return ["panel", "experiment", "series", "subset", "group", "n_train", mae, low, high, "seeds"]


VALUE_COLUMNS = value_columns()  # U0's


def shown_sizes(table: pd.DataFrame, count: int = SIZES_SHOWN) -> list[int]:
    """A few of the table's size bins, evenly spread over them (smallest and largest included)."""
    sizes = sorted({int(g) for g in table["group"] if str(g) != OVERALL})
    if len(sizes) <= count:
        return sizes
    return [sizes[i] for i in sorted({round(x) for x in np.linspace(0, len(sizes) - 1, count)})]


def _shown_rows(table: pd.DataFrame, sizes: list[int], target: Target) -> pd.DataFrame:
    """The rows of ``table`` the figure draws, with their panel: "whole test set" or "size <n>"."""
    rows = table.assign(group=table["group"].astype(str))
    mae = target.metric("mae")
    rows = rows[rows["group"].isin([OVERALL, *map(str, sizes)]) & rows["n_train"].notna() & rows[mae].notna()]
    return rows.assign(panel=["whole test set" if g == OVERALL else f"size {g}" for g in rows["group"]])


def plotted_values(table: pd.DataFrame, sizes: list[int], target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """What the figure draws, as drawn (before the dodge of caps and controls), one row per point."""
    return _shown_rows(table, sizes, target)[value_columns(target)].reset_index(drop=True)


def _seed_values(text) -> tuple:
    return tuple(float(v) for v in str(text).split(",")) if isinstance(text, str) and text else ()


def _draw(ax, rows: pd.DataFrame, color, label_points: bool, plots: dict, target: Target) -> None:
    """One colour's series on one panel: the learning curve as a line, caps and controls as points."""
    mae, low, high, each_seed = mae_columns(target)
    for series, marker in MARKERS.items():
        points = rows[rows["series"] == series].sort_values("n_train")
        if points.empty:
            continue
        x = points["n_train"].to_numpy(dtype=float) * DODGE[series]
        y = points[mae].to_numpy(dtype=float)
        below = np.clip(y - points[low].to_numpy(dtype=float), 0, None)
        above = np.clip(points[high].to_numpy(dtype=float) - y, 0, None)
        errors = np.nan_to_num(np.vstack([np.minimum(below, 0.95 * y), above]))  # a log axis stops above 0
        ax.errorbar(x, y, yerr=errors, fmt=marker + ("-" if series == LEARNING_CURVE else ""), ms=4.5, lw=1.3,
                    elinewidth=0.8, capsize=1.5, color=color, mfc=color if series != SIZE_CONTROL else "white",
                    zorder=3)
        seed_markers(ax, x, pd.DataFrame({"seed_values": [_seed_values(v) for v in points[each_seed]]}), color)
        # the curve's points by their share of the training set (above), caps by subset (below); each control
        # sits beside its cap, marked by its symbol alone (labelled too, they overlap the caps' and the curve's)
        if label_points and series != SIZE_CONTROL:
            curve = series == LEARNING_CURVE
            names = [f"{100 * v:.0f} %" for v in points["training_share"]] if curve else points["subset"].astype(str)
            for xi, yi, name in zip(x, y, names):
                ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(4, 4) if curve else (-4, -11),
                            ha="left" if curve else "right", fontsize=plots["font_size"] - 3, color=color)


def plot_learning_curve(table: pd.DataFrame, plots: dict, path, values_path, title: str, *,
                        target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Top: the whole test set; bottom: a few frequent size bins, one colour each. x: training molecules (log),
    y: test MAE (log). Writes the drawn values to ``values_path`` (CSV) and returns them."""
    sizes = shown_sizes(table)
    drawn = _shown_rows(table, sizes, target)
    fig, (ax, ax_sizes) = figure(plots, height_scale=1.7, nrows=2, sharex=True)
    handles = []
    if len(drawn):
        _draw(ax, drawn[drawn["group"] == OVERALL], "black", True, plots, target)
        palette = colormaps["viridis"](np.linspace(0, 0.85, max(len(sizes), 1)))
        for size, color in zip(sizes, palette):
            _draw(ax_sizes, drawn[drawn["group"] == str(size)], color, False, plots, target)
            handles.append(Line2D([], [], color=color, lw=1.3, label=f"{size} atoms"))
        present = [s for s in MARKERS if s in set(drawn["series"])]
        handles = [Line2D([], [], color="0.3", marker=MARKERS[s], ls="-" if s == LEARNING_CURVE else "none",
                          mfc="white" if s == SIZE_CONTROL else "0.3", label=s) for s in present] + handles
        handles.append(note_handle(ERROR_BAR_NOTE))
        for axis in (ax, ax_sizes):
            log_axis(axis)
            axis.grid(color="0.88", lw=0.6)
        log_axis(ax_sizes, "x")
    else:
        empty_panel(ax, "no results")
    ax.set_ylabel(metric_label(target.metric("mae"), target) + "\nwhole test set")
    ax_sizes.set_ylabel(metric_label(target.metric("mae"), target) + "\nper size")
    ax_sizes.set_xlabel("training molecules")
    ax.set_title(title)
    outside_legend(fig, handles, plots)
    save_figure(fig, path)
    close(fig)
    values = plotted_values(table, sizes, target)
    write_csv(values, values_path)
    return values
