"""Figures 3, 6, 7, 8, 9 and 10: the test error per molecule size, over the test molecules per size."""

from __future__ import annotations

import pandas as pd
from matplotlib import ticker
from matplotlib.patches import Patch

from workflow_scripts.files.atomic import save_figure
from workflow_scripts.figures.catalogue import share
from workflow_scripts.figures.style import (ERROR_BAR_NOTE, REFERENCE, REFERENCE_STYLE, Experiments, close, colors_for,
                                            empty_panel, figure, log_axis, metric_label, note_handle, outside_legend,
                                            seed_markers, seed_mean, seed_note, size_ticks, yerr)

RARE_SHADE = "0.9"


def rare_size_label(frequent_bin_fraction: float) -> str:
    """The legend entry of the shaded sizes: those holding at most ``frequent_bin_fraction`` of QM9."""
    return f"rare size (≤ {share(frequent_bin_fraction)} of QM9)"


def plot_error_by_size(metrics: pd.DataFrame, experiments: Experiments, plots: dict, path, title: str,
                       frequent_bin_fraction: float, metric: str = "mae_meV", log_y: bool = True,
                       reference: str | None = REFERENCE, colors: dict | None = None) -> None:
    """Error per size (top) over the test count per size (bottom); rare sizes shaded grey in both panels."""
    colors = colors_for(experiments, colors)
    fig, (ax, ax_count) = figure(plots, height_scale=1.4, nrows=2, sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1]})
    shown = [(name, label, seed_mean(metrics, name, metric)) for name, label in experiments if name != reference]
    present = [item for item in shown if len(item[2])]
    handles = []
    step = min(0.12, 0.6 / max(len(present), 1))  # dodge so overlapping error bars stay readable
    for i, (name, label, frame) in enumerate(present):
        offset = (i - (len(present) - 1) / 2) * step
        x = frame.index.to_numpy(dtype=float) + offset
        handle = ax.errorbar(x, frame["value"], yerr=yerr(frame), fmt="-o", ms=3.5, lw=1.3, elinewidth=0.8,
                             capsize=1.5, color=colors[name], label=label + seed_note(frame))
        seed_markers(ax, x, frame, colors[name])
        handles.append(handle)
    handles += [note_handle(f"{label}: no results") for _, label, frame in shown if not len(frame)]
    if reference is not None:
        ref = seed_mean(metrics, reference, metric)
        if len(ref):
            handles.append(ax.plot(ref.index, ref["value"], label="linear reference", **REFERENCE_STYLE)[0])

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
        log_axis(ax_count)
        ax_count.yaxis.set_major_locator(ticker.LogLocator(base=10, numticks=10))  # decades only: the panel is short
        size_ticks(ax_count, counts.index, plots)
    else:
        empty_panel(ax, "no results")
    if present:
        handles.append(note_handle(ERROR_BAR_NOTE))
    if log_y and present:
        log_axis(ax)
    ax.set_ylabel(metric_label(metric))
    ax.set_title(title)
    ax.grid(axis="y", color="0.85", lw=0.6)
    ax_count.set_ylabel("test\nmolecules")
    ax_count.set_xlabel("molecule size (number of atoms)")
    outside_legend(fig, handles, plots)
    save_figure(fig, path)
    close(fig)
