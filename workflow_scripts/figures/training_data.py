"""What the remedies train on: Figure 5 (a size-balanced subset) and Appendix Figure 2 (the loss weight factors)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import ticker

from workflow_scripts.files.atomic import save_figure
from workflow_scripts.figures.style import close, drawn, figure, log_axis, save_values, size_ticks
from workflow_scripts.training.weights import loss_weights


def plot_subset_histogram(subset_counts: pd.DataFrame, pool_counts: pd.DataFrame, cap: int | None, plots: dict, path,
                          title: str, log_y: bool = False, subset_label: str = "training subset",
                          values_path=None) -> pd.DataFrame:
    """The subset's molecules per size drawn over the full training pool's; the cap T as a horizontal line.
    Writes the drawn values to ``values_path`` (CSV: style.VALUE_COLUMNS, x the size, y molecules) and returns them."""
    both = pd.merge(pool_counts[["n_atoms", "molecules"]].rename(columns={"molecules": "pool"}),
                    subset_counts[["n_atoms", "molecules"]].rename(columns={"molecules": "subset"}),
                    on="n_atoms", how="outer").fillna(0).sort_values("n_atoms")
    fig, ax = figure(plots)
    ax.bar(both["n_atoms"], both["pool"], width=0.85, color="0.82", zorder=1,
           label=f"full training pool (n = {int(both['pool'].sum()):,})")
    ax.bar(both["n_atoms"], both["subset"], width=0.55, color="tab:blue", zorder=2,
           label=f"{subset_label} (n = {int(both['subset'].sum()):,})")
    if cap is not None:
        ax.axhline(cap, color="tab:red", ls="--", lw=1.2, zorder=3, label=f"cap T = {cap:,} molecules per size")
    if log_y:
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    else:
        ax.yaxis.set_major_formatter(ticker.StrMethodFormatter("{x:,.0f}"))
    size_ticks(ax, both["n_atoms"], plots)
    ax.set_xlabel("molecule size (number of atoms)")
    ax.set_ylabel("molecules")
    ax.set_title(title)
    ax.legend(frameon=False, loc="upper left")
    save_figure(fig, path)
    close(fig)
    bars = [drawn("full training pool", both["n_atoms"], both["pool"], count=both["pool"].to_numpy()),
            drawn(subset_label, both["n_atoms"], both["subset"], count=both["subset"].to_numpy())]
    return save_values(bars + ([drawn("cap T", [""], [cap])] if cap is not None else []), values_path)


def plot_weight_factors(plots: dict, path, title: str, rates: Sequence[float], sizes: Iterable[int] = range(3, 30),
                        train_sizes=None, alphas: Sequence[float] = (0.5, 1.0), values_path=None) -> pd.DataFrame:
    """v(s) for each rate, one panel per scheme; a third panel (inverse frequency) when ``train_sizes`` is given.
    Writes the drawn values to ``values_path`` (CSV: style.VALUE_COLUMNS, panel the scheme, x the size, y v) and
    returns them."""
    curves = []
    sizes = np.asarray(list(sizes))
    panels = [("size", "size based\nv = (s − 7)^r / 10^(r+1) + 1"),
              ("size_frequency", "size and frequency based (as printed)\nv = max(1, log(s^r / 10^(r+1) − r/4.5))")]
    if train_sizes is not None:
        panels.append(("inverse_frequency", "inverse frequency\nv = (f̄ / f(s))^α, mean 1 over training"))
    fig, axes = figure(plots, width_scale=0.62 * len(panels), height_scale=1.05, ncols=len(panels))
    cmap = matplotlib.colormaps["viridis"]
    markers = "osD^v<>p"
    for axis, (scheme, label) in zip(np.atleast_1d(axes), panels):
        values = alphas if scheme == "inverse_frequency" else rates
        symbol = "α" if scheme == "inverse_frequency" else "r"
        for i, value in enumerate(values):
            weights = loss_weights(scheme, sizes, train_sizes=train_sizes, rate=value, alpha=value)
            color = cmap(0.9 * i / max(len(values) - 1, 1))
            # shrinking markers keep coinciding curves (e.g. all v = 1) visible one under the other
            uniform = f" (uniform, v = {weights[0]:.3g})" if np.allclose(weights, weights[0]) else ""
            axis.plot(sizes, weights, "-", marker=markers[i % len(markers)], ms=5 - 3 * i / max(len(values), 1),
                      lw=1.3, color=color, label=f"{symbol} = {value:g}{uniform}")
            curves.append(drawn(f"{symbol} = {value:g}", sizes, weights, panel=scheme))
        log_axis(axis)
        axis.set_title(label, fontsize=plots["font_size"] - 1)
        axis.set_xlabel("molecule size s (atoms)")
        axis.grid(color="0.88", lw=0.6)
        axis.legend(frameon=False, fontsize=plots["font_size"] - 2, loc="best")
        size_ticks(axis, sizes, plots)
        axis.set_xticks(axis.get_xticks()[::4 if len(sizes) > 14 else 1])
    np.atleast_1d(axes)[0].set_ylabel("weight factor v (log scale)")
    fig.suptitle(title, fontsize=plots["font_size"] + 1)
    save_figure(fig, path)
    close(fig)
    return save_values(curves, values_path)
