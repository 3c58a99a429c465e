"""The overview: whole-test-set error of every experiment, against the linear reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from workflow_scripts.evaluation.units import DEFAULT_TARGET
from workflow_scripts.files.atomic import save_figure
from workflow_scripts.figures.style import (ERROR_BAR_NOTE, OFF_SCALE, PALETTE, REFERENCE, REFERENCE_STYLE, Experiments,
                                            close, colors_for, drawn, empty_panel, figure, log_axis, metric_label,
                                            metric_unit, note_handle, outside_legend, save_values, seed_markers,
                                            seed_mean, yerr)
from workflow_scripts.targets import Target


def plot_overall_comparison(metrics_overall: pd.DataFrame, experiments: Experiments, plots: dict, path, title: str,
                            metric: str | None = None, reference: str | None = REFERENCE, colors: dict | None = None,
                            log_x: bool = False, groups: dict | None = None, values_path=None,
                            target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Horizontal bars of the whole-test-set error per experiment (best on top), 95 % CI, reference as a line.

    ``groups`` (experiment -> study part) colours the bars by part, with a legend entry per part. Writes the drawn
    values to ``values_path`` (CSV: style.VALUE_COLUMNS, x the experiment, y its error; intervals uncut) and
    returns them.
    """
    metric = metric or target.metric("mae")  # the target's MAE column unless told
    group_colors = {}
    if groups:
        group_colors = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(dict.fromkeys(groups.values()))}
        colors = {name: group_colors[group] for name, group in groups.items()}
    colors = colors_for(experiments, colors)
    overall = metrics_overall[metrics_overall["group"] == "all"]
    entries, missing = [], []
    for name, label in experiments:
        if name == reference:
            continue
        frame = seed_mean(overall, name, metric)
        (entries.append((name, label, frame.iloc[0], int(frame["n_seeds"].iloc[0]))) if len(frame)
         else missing.append(label))
    entries.sort(key=lambda e: e[2]["value"])
    bars = [drawn(label, [name], [row["value"]], name, low=row["low"], high=row["high"], count=row["count"])
            for name, label, row, _ in entries]
    height = max(2.2, 0.32 * len(entries) + 1.6) / plots["height_in"]
    fig, ax = figure(plots, height_scale=height)
    y = np.arange(len(entries))[::-1]  # best (smallest error) at the top
    if entries:
        values = pd.DataFrame([e[2] for e in entries])
        # one run far off (a wide interval) must not squash every other bar: the axis stops at 1.6x the
        # largest value, and an interval beyond it is written out
        right = 1.6 * max(values["value"].max(), 1e-12) if not log_x else None
        clipped = values.assign(high=values["high"].clip(upper=right) if right else values["high"])
        ax.barh(y, values["value"], xerr=yerr(clipped), height=0.65, capsize=2, zorder=2,
                color=[colors[e[0]] for e in entries], error_kw={"elinewidth": 0.8})
        seed_markers(ax, y, values, "black", horizontal=True)
        for yi, (_, row), (_, cut) in zip(y, values.iterrows(), clipped.iterrows()):
            end = cut["high"] if np.isfinite(cut["high"]) else row["value"]
            beyond = f" (CI to {row['high']:.3g})" if right and row["high"] > right else ""
            ax.text(end, yi, f"  {row['value']:.3g}{beyond}", va="center", fontsize=plots["font_size"] - 2)
        if right:
            ax.set_xlim(0, right)
        ax.set_yticks(y, [f"{e[1]}" + (f" ({e[3]} seeds)" if e[3] > 1 else "") for e in entries])
    else:
        ax.set_yticks([])
        empty_panel(ax, "no results")
    handles = []
    if reference is not None:
        ref = seed_mean(overall, reference, metric)
        if len(ref):
            value = ref["value"].iloc[0]
            label = f"linear reference ({value:.3g} {metric_unit(metric, target)})"
            tops = [e[2]["high"] if np.isfinite(e[2]["high"]) else e[2]["value"] for e in entries]
            bars.append(drawn("linear reference", [reference], [value], reference, count=ref["count"].iloc[0]))
            if tops and not log_x and (value > OFF_SCALE * max(tops) or value > ax.get_xlim()[1]):
                handles.append(note_handle(label + ", off scale"))  # a line would squash the bars
            else:
                handles.append(ax.axvline(value, label=label, zorder=3, **REFERENCE_STYLE))
    shown = {groups[e[0]] for e in entries if groups and e[0] in groups}
    handles += [Patch(color=c, label=g) for g, c in group_colors.items() if g in shown]
    if entries:
        handles.append(note_handle(ERROR_BAR_NOTE))
    if missing:
        handles.append(note_handle("no results: " + ", ".join(missing)))
    if log_x and entries:
        log_axis(ax, "x")
    ax.margins(x=0.12)  # room for the value labels
    ax.set_xlabel(metric_label(metric, target) + ", whole test set")
    ax.set_title(title)
    ax.grid(axis="x", color="0.88", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    outside_legend(fig, handles, plots, max_columns=2)
    save_figure(fig, path)
    close(fig)
    return save_values(bars, values_path)
