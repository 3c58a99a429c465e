"""Figures of the dataset analysis: size histogram and element-size heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from workflow_scripts.files.atomic import save_figure
from workflow_scripts.figures.catalogue import share
from workflow_scripts.figures.style import close, figure


def plot_size_histogram(histogram: pd.DataFrame, plots: dict, path, frequent_bin_fraction: float, title: str) -> None:
    fig, ax = figure(plots)
    colors = np.where(histogram["frequent"], "tab:blue", "tab:gray")
    ax.bar(histogram["n_atoms"], histogram["molecules"], color=colors, width=0.85)
    total = int(histogram["molecules"].sum())
    ax.axhline(frequent_bin_fraction * total, color="tab:red", lw=1, ls="--")
    ax.text(
        histogram["n_atoms"].min(), frequent_bin_fraction * total * 1.15,
        f"{share(frequent_bin_fraction)} of molecules", color="tab:red", fontsize=plots["font_size"] - 1,
    )
    ax.set_xlabel("molecule size (number of atoms)")
    ax.set_ylabel("molecules")
    ax.set_title(title)
    ax.set_xticks(histogram["n_atoms"][:: 2 if len(histogram) > 15 else 1])
    ax.legend(
        handles=[Patch(color="tab:blue", label=f"frequent sizes (> {share(frequent_bin_fraction)})"),
                 Patch(color="tab:gray", label="rare sizes")],
        loc="upper left", frameon=False,
    )
    save_figure(fig, path)
    close(fig)


def plot_element_size_heatmap(counts: pd.DataFrame, frequency: pd.DataFrame, plots: dict, path, title: str) -> None:
    table = counts.pivot(index="element", columns="n_atoms", values="fraction_of_element")
    order = [e for e in frequency["element"]]
    table = table.loc[order]
    fig, ax = figure(plots, width_scale=1.25, height_scale=0.8)
    image = ax.imshow(table.to_numpy() * 100, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(table.columns)))
    ax.set_xticklabels(table.columns, fontsize=plots["font_size"] - 2)
    labels = [
        f"{e} (n={int(n):,})" for e, n in zip(frequency["element"], frequency["molecules"])
    ]
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels(labels)
    ax.set_xlabel("molecule size (number of atoms)")
    ax.set_title(title)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("% of the element's molecules")
    ax.spines[:].set_visible(False)
    save_figure(fig, path)
    close(fig)
