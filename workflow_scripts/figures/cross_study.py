"""The cross-study figure: the baseline's error by molecule size and by element group, one line per QM9 property
and network, relative to each study's linear reference so that properties of different units share an axis."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workflow_scripts.figures.style import (PALETTE, close, empty_panel, figure, log_axis,
                                            note_handle, outside_legend, size_ticks)
from workflow_scripts.files.atomic import save_figure
from workflow_scripts.properties import ELEMENTS

LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D")
# Bins with fewer test molecules than this are drawn as points without their (very wide) interval.
MIN_COUNT_FOR_INTERVAL = 10
TITLE = "Error by molecule size and element, per property and network"


def plot_cross_study(table: pd.DataFrame, plots: dict, path, title: str = TITLE) -> None:
    """Left: relative MAE by size bin (a line per study); right: by element group (grouped points)."""
    fig, (by_size, by_element) = figure(plots, width_scale=1.6, height_scale=1.15, ncols=2,
                                        gridspec_kw={"width_ratios": [2.2, 1]})
    studies = list(dict.fromkeys(zip(table["target"], table["representation"])))
    targets = list(dict.fromkeys(table["target"]))
    representations = list(dict.fromkeys(table["representation"]))
    handles = []
    for i, (target, representation) in enumerate(studies):
        rows = table[(table["target"] == target) & (table["representation"] == representation)]
        color = PALETTE[targets.index(target) % len(PALETTE)]
        style = LINESTYLES[representations.index(representation) % len(LINESTYLES)]
        marker = MARKERS[representations.index(representation) % len(MARKERS)]
        label = f"{target}, {representation} (linear reference {rows['linear_reference_mae'].iloc[0]:.4g} " \
                f"{rows['unit'].iloc[0]})"
        sizes = rows[rows["stratum"] == "size"].assign(size=lambda f: f["group"].astype(int)).sort_values("size")
        sizes = sizes[sizes["count"] > 0]
        line, = by_size.plot(sizes["size"], sizes["relative_mae"], ls=style, marker=marker, ms=3, color=color,
                             label=label, zorder=3)
        wide = sizes["count"] >= MIN_COUNT_FOR_INTERVAL
        by_size.fill_between(sizes["size"][wide], sizes["relative_low"][wide], sizes["relative_high"][wide],
                             color=color, alpha=0.15, lw=0)
        handles.append(line)
        elements = rows[rows["stratum"] == "element"].set_index("group").reindex(
            [e for e in ELEMENTS if e in set(rows["group"])])
        x = np.arange(len(elements)) + (i - (len(studies) - 1) / 2) * 0.8 / max(len(studies), 1)
        below = (elements["relative_mae"] - elements["relative_low"]).clip(lower=0).fillna(0)
        above = (elements["relative_high"] - elements["relative_mae"]).clip(lower=0).fillna(0)
        by_element.errorbar(x, elements["relative_mae"], yerr=np.vstack([below, above]), ls="none", marker=marker,
                            ms=4, color=color, capsize=2, elinewidth=0.8)
        by_element.set_xticks(np.arange(len(elements)), [f"with {e}" for e in elements.index])
    if not studies:
        empty_panel(by_size, "no study has results")
    for axis in (by_size, by_element):
        log_axis(axis)
        axis.set_ylabel("test MAE / linear reference's MAE")
        axis.grid(axis="y", color="0.9", lw=0.6, zorder=0)
    if len(table):
        size_ticks(by_size, table.loc[table["stratum"] == "size", "group"].astype(int).unique(), plots)
    by_size.set_xlabel("molecule size (atoms)")
    by_element.set_xlabel("element group")
    by_size.set_title("by molecule size")
    by_element.set_title("by element group")
    fig.suptitle(title)
    handles.append(note_handle(f"bands and bars: 95 % CI over seeds and test molecules (size bins of at least "
                               f"{MIN_COUNT_FOR_INTERVAL} test molecules)"))
    outside_legend(fig, handles, plots, max_columns=2)
    save_figure(fig, path)
    close(fig)
