"""Figures 3, 6, 7, 8, 9 and 10: the test error per molecule size, over the test molecules per size."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from workflow_scripts.evaluation.units import DEFAULT_TARGET
from workflow_scripts.files.atomic import save_figure
from workflow_scripts.figures.catalogue import MIN_TEST_MOLECULES_FOR_RANGE, share
from workflow_scripts.figures.style import (ERROR_BAR_NOTE, REFERENCE, REFERENCE_STYLE, Experiments, close, colors_for,
                                            drawn, drawn_seed_mean, empty_panel, figure, log_axis, metric_label,
                                            note_handle, outside_legend, save_values, seed_markers, seed_mean,
                                            seed_note, size_ticks, yerr)
from workflow_scripts.targets import Target

RARE_SHADE = "0.9"
CUT_NOTE = (f"interval cut at the axis edge (size bins with fewer than {MIN_TEST_MOLECULES_FOR_RANGE} test "
            "molecules do not set the range; a log axis has no 0)")


def rare_size_label(frequent_bin_fraction: float) -> str:
    """The legend entry of the shaded sizes: those holding at most ``frequent_bin_fraction`` of QM9."""
    return f"rare size (≤ {share(frequent_bin_fraction)} of QM9)"


def y_range(frames: list[pd.DataFrame], min_count: int = MIN_TEST_MOLECULES_FOR_RANGE, log_y: bool = True):
    """(bottom, top) of the error axis: every point, and the intervals of the bins with at least ``min_count``
    test molecules, with a margin; None without data."""
    values = []
    for frame in frames:
        solid = frame[frame["count"] >= min_count]
        values += [frame["value"], solid["low"], solid["high"]]
    values = pd.concat(values).dropna() if values else pd.Series(dtype=float)
    values = values[values > 0] if log_y else values
    if values.empty:
        return None
    low, high = float(values.min()), float(values.max())
    return (low / 1.25, high * 1.25) if log_y else (max(0.0, low - 0.05 * (high - low)), high + 0.05 * (high - low))


def cut_ends(frame: pd.DataFrame, bottom: float, top: float) -> pd.Series:
    """Per point, which end of its interval lies beyond the axis: 'high', 'low', 'both' or ''."""
    above = frame["high"].to_numpy(dtype=float) > top
    below = frame["low"].to_numpy(dtype=float) < bottom
    return pd.Series(np.select([above & below, above, below], ["both", "high", "low"], ""), index=frame.index)


def plot_error_by_size(metrics: pd.DataFrame, experiments: Experiments, plots: dict, path, title: str,
                       frequent_bin_fraction: float, metric: str | None = None, log_y: bool = True,
                       reference: str | None = REFERENCE, colors: dict | None = None,
                       values_path=None, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Error per size (top) over the test count per size (bottom); rare sizes shaded grey in both panels.

    The error axis shows the data (``y_range``); an interval it cuts is marked with an open triangle at the edge.
    Writes the drawn values to ``values_path`` (CSV: style.VALUE_COLUMNS, intervals uncut) and returns them.
    """
    metric = metric or target.metric("mae")  # the target's MAE column unless told
    colors = colors_for(experiments, colors)
    fig, (ax, ax_count) = figure(plots, height_scale=1.4, nrows=2, sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1]})
    shown = [(name, label, seed_mean(metrics, name, metric)) for name, label in experiments if name != reference]
    present = [item for item in shown if len(item[2])]
    handles, values = [], []
    ref = seed_mean(metrics, reference, metric) if reference is not None else pd.DataFrame()
    # the reference's line is data too (its intervals are not drawn)
    limits = y_range([frame for _, _, frame in present] + ([ref.assign(low=np.nan, high=np.nan)] if len(ref) else []),
                     log_y=log_y)
    step = min(0.12, 0.6 / max(len(present), 1))  # dodge so overlapping error bars stay readable
    for i, (name, label, frame) in enumerate(present):
        offset = (i - (len(present) - 1) / 2) * step
        x = frame.index.to_numpy(dtype=float) + offset
        handle = ax.errorbar(x, frame["value"], yerr=yerr(frame), fmt="-o", ms=3.5, lw=1.3, elinewidth=0.8,
                             capsize=1.5, color=colors[name], label=label + seed_note(frame))
        seed_markers(ax, x, frame, colors[name])
        handles.append(handle)
        cut = cut_ends(frame, *limits) if limits else pd.Series("", index=frame.index)
        for end, marker, edge in (("high", "^", 1), ("low", "v", 0)):
            hit = cut.isin([end, "both"]).to_numpy()
            if hit.any():  # an open triangle on the axis edge where the interval goes on
                ax.plot(x[hit], [limits[edge]] * int(hit.sum()), ls="none", marker=marker, ms=5, mfc="white",
                        mec=colors[name], mew=1.0, clip_on=False, zorder=5)
        values.append(drawn_seed_mean(frame, label, name).assign(cut=cut.to_numpy()))
    handles += [note_handle(f"{label}: no results") for _, label, frame in shown if not len(frame)]
    if len(ref):
        handles.append(ax.plot(ref.index, ref["value"], label="linear reference", **REFERENCE_STYLE)[0])
        values.append(drawn("linear reference", ref.index, ref["value"], reference, count=ref["count"].to_numpy()))

    sizes = metrics[metrics["experiment"].isin([n for n, _ in experiments] + [reference])]
    sizes = sizes[sizes["count"] > 0] if "count" in sizes else sizes
    if "frequent" in sizes and len(sizes):
        frequent = sizes.groupby("group")["frequent"].any()
        for size in frequent.index[~frequent.to_numpy(dtype=bool)]:
            for axis in (ax, ax_count):
                axis.axvspan(size - 0.5, size + 0.5, color=RARE_SHADE, lw=0, zorder=0)
        if (~frequent).any():
            handles.append(Patch(color=RARE_SHADE, label=rare_size_label(frequent_bin_fraction)))
    if len(sizes):
        counts = sizes.groupby("group")["count"].max()  # same test set for all experiments
        ax_count.bar(counts.index, counts.to_numpy(), width=0.7, color="0.55", zorder=2)
        values.append(drawn("test molecules", counts.index, counts.to_numpy(), panel="test molecules",
                            count=counts.to_numpy()))
        log_axis(ax_count)
        ax_count.yaxis.set_major_locator(ticker.LogLocator(base=10, numticks=10))  # decades only: the panel is short
        size_ticks(ax_count, counts.index, plots)
    else:
        empty_panel(ax, "no results")
    if present:
        handles.append(note_handle(ERROR_BAR_NOTE))
    if any(v["cut"].ne("").any() for v in values if "cut" in v):
        handles.append(Line2D([], [], ls="none", marker="v", mfc="white", mec="0.3", label=textwrap.fill(CUT_NOTE, 42)))
    if log_y and present:
        log_axis(ax)
    if limits:
        ax.set_ylim(*limits)
    ax.set_ylabel(metric_label(metric, target))
    ax.set_title(title)
    ax.grid(axis="y", color="0.85", lw=0.6)
    ax_count.set_ylabel("test\nmolecules")
    ax_count.set_xlabel("molecule size (number of atoms)")
    outside_legend(fig, handles, plots)
    save_figure(fig, path)
    close(fig)
    return save_values(values, values_path)
