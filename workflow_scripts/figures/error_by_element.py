"""Figure 4: the test error per element group (molecules containing the element)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workflow_scripts.evaluation.units import DEFAULT_TARGET
from workflow_scripts.files.atomic import save_figure
from workflow_scripts.figures.style import (ERROR_BAR_NOTE, OFF_SCALE, REFERENCE, REFERENCE_STYLE, Experiments, close,
                                            colors_for, drawn, drawn_seed_mean, empty_panel, figure, log_axis,
                                            metric_label, metric_unit, note_handle, outside_legend, save_values,
                                            seed_markers, seed_mean, seed_note, yerr)
from workflow_scripts.properties import ELEMENTS
from workflow_scripts.targets import Target


def percent(fraction: float) -> str:
    percent = 100 * fraction
    return f"{percent:.0f} %" if percent >= 10 else f"{percent:.1f} %"


def train_fractions(metrics_by_element: pd.DataFrame, experiment: str) -> dict[str, float]:
    """Element -> share of the experiment's training molecules that contain it."""
    rows = metrics_by_element[metrics_by_element["experiment"] == experiment]
    # the molecules with carbon stand for the whole training set: almost every QM9 molecule contains carbon
    total = rows.loc[rows["group"] == "C", "train_count"].max()
    rows = rows.drop_duplicates("group")
    return {g: c / max(total, 1) for g, c in zip(rows["group"], rows["train_count"])}


def plot_error_by_element(metrics_by_element: pd.DataFrame, experiments: Experiments, plots: dict, path, title: str,
                          train_fraction: dict[str, float], metric: str | None = None, log_y: bool = False,
                          reference: str | None = REFERENCE, colors: dict | None = None,
                          values_path=None, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Grouped bars per element (ordered from most to least frequent in training) with 95 % CI error bars.
    Writes the drawn values to ``values_path`` (CSV: style.VALUE_COLUMNS, x the element) and returns them."""
    metric = metric or target.metric("mae")  # the target's MAE column unless told
    colors = colors_for(experiments, colors)
    shown = [(name, label, seed_mean(metrics_by_element, name, metric))
             for name, label in experiments if name != reference]
    present = [item for item in shown if len(item[2])]
    found = set().union(*(frame.index for _, _, frame in present)) if present else set()
    order = sorted(found, key=lambda e: (-train_fraction.get(e, -1), ELEMENTS.index(e) if e in ELEMENTS else 99, e))

    fig, ax = figure(plots)
    x = np.arange(len(order))
    width = 0.8 / max(len(present), 1)
    handles, bars = [], []
    for i, (name, label, frame) in enumerate(present):
        bars.append(drawn_seed_mean(frame.reindex([e for e in order if e in frame.index]), label, name))
        frame = frame.reindex(order)
        xs = x + (i - (len(present) - 1) / 2) * width
        handles.append(ax.bar(xs, frame["value"], width=width * 0.92, yerr=yerr(frame), capsize=2,
                              color=colors[name], error_kw={"elinewidth": 0.8}, label=label + seed_note(frame),
                              zorder=2))
        seed_markers(ax, xs, frame.dropna(subset=["value"]), "black")
    handles += [note_handle(f"{label}: no results") for _, label, frame in shown if not len(frame)]
    if reference is not None and order:
        ref = seed_mean(metrics_by_element, reference, metric).reindex(order)
        tops = [frame["high"].fillna(frame["value"]).max() for _, _, frame in present]
        if ref["value"].notna().any() and not log_y and ref["value"].max() > OFF_SCALE * max(tops):
            # drawing it would squash the bars the figure is about: give its values instead
            values = ", ".join(f"{e} {v:.3g}" for e, v in ref["value"].dropna().items())
            handles.append(note_handle(f"linear reference (off scale): {values} {metric_unit(metric, target)}"))
        elif ref["value"].notna().any():
            bars.append(drawn("linear reference", ref.index, ref["value"], reference,
                                count=ref["count"].to_numpy()))
            handles.append(ax.hlines(ref["value"], x - 0.45, x + 0.45, label="linear reference", zorder=3,
                                     colors=REFERENCE_STYLE["color"], linestyles="--", lw=REFERENCE_STYLE["lw"]))
    counts = pd.concat([frame["count"] for _, _, frame in present], axis=1).max(axis=1) if present else pd.Series()
    labels = []
    for element in order:
        lines = [element]
        if element in train_fraction:
            lines.append(f"{percent(train_fraction[element])} of train")
        if element in counts and np.isfinite(counts[element]):
            lines.append(f"n test = {int(counts[element]):,}")
        labels.append("\n".join(lines))
    ax.set_xticks(x, labels)
    ax.tick_params(axis="x", labelsize=plots["font_size"] - 1, length=0)
    if not present:
        empty_panel(ax, "no results")
    elif log_y:
        log_axis(ax)
    if present:
        handles.append(note_handle(ERROR_BAR_NOTE))
    ax.set_xlabel("molecules containing the element")
    ax.set_ylabel(metric_label(metric, target))
    ax.set_title(title)
    ax.grid(axis="y", color="0.85", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    outside_legend(fig, handles, plots)
    save_figure(fig, path)
    close(fig)
    return save_values(bars, values_path)
