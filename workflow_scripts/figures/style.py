"""What every figure of the study shares: paper-ready matplotlib defaults from the ``plots`` config, the colours,
seed-aware error bars, log axes with plain numbers, and a legend under the plot.

Seeds are aggregated as the mean of per-seed values; the error bar is the seed-aware 95 % interval (seed-to-seed
variation and test-set sampling, :mod:`workflow_scripts.evaluation.intervals`), and each seed's own value is drawn as
a small open marker, so two seeds that disagree show as two markers and a wide bar. Experiments missing from a table
are not an error: figures name them as "no results" so a reader sees the gap.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: rules run on clusters without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib import ticker  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from workflow_scripts.evaluation.intervals import seed_summary  # noqa: E402
from workflow_scripts.evaluation.units import DEFAULT_TARGET, label  # noqa: E402
from workflow_scripts.files.atomic import write_csv  # noqa: E402
from workflow_scripts.properties import LINEAR_REFERENCE  # noqa: E402
from workflow_scripts.targets import Target  # noqa: E402

REFERENCE = LINEAR_REFERENCE  # the linear reference run, drawn in grey beside the networks
REFERENCE_STYLE = {"color": "0.3", "ls": "--", "lw": 1.2}
OFF_SCALE = 3.0  # a linear-axis reference further than this factor above the data is written, not drawn
# tab10 without its grey: grey is kept for the linear reference and for counts.
PALETTE = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
           "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "navy", "darkgoldenrod", "teal")
MEASURES = {"mae": "MAE", "rmse": "RMSE", "mse": "MSE"}  # a metric column's prefix, as labels name it
ERROR_BAR_NOTE = "error bars: 95 % CI over seeds and test molecules; open markers: each seed"

Experiments = Sequence[tuple[str, str]]

# The values a figure draws, written beside it (<figure>.csv): one row per point, bar or curve sample. ``series``:
# its legend entry; ``experiment``: the run it comes from; ``low``/``high``: its interval; ``count``: test molecules
# behind it; ``cut``: which end of its interval the axis cuts off (``high``, ``low``, ``both``), else empty.
VALUE_COLUMNS = ["panel", "series", "experiment", "x", "y", "low", "high", "count", "cut"]


def drawn(series: str, x, y, experiment: str = "", panel: str = "", low=np.nan, high=np.nan, count=np.nan,
          cut="") -> pd.DataFrame:
    """Drawn values in the VALUE_COLUMNS layout."""
    return pd.DataFrame({"panel": panel, "series": series, "experiment": experiment, "x": list(x),
                         "y": np.asarray(y, dtype=float), "low": low, "high": high, "count": count, "cut": cut},
                        columns=VALUE_COLUMNS)


def drawn_seed_mean(frame: pd.DataFrame, series: str, experiment: str, x=None, panel: str = "") -> pd.DataFrame:
    """A ``seed_mean`` frame as drawn: x its groups (unless given), y the seed mean, its interval and count."""
    return drawn(series, frame.index if x is None else x, frame["value"], experiment, panel,
                 frame["low"].to_numpy(), frame["high"].to_numpy(), frame["count"].to_numpy())


def save_values(parts: Sequence[pd.DataFrame], path=None) -> pd.DataFrame:
    """The drawn values of a figure in one table, written as CSV to ``path`` when given."""
    parts = [part for part in parts if len(part)]
    values = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=VALUE_COLUMNS)
    if path is not None:
        write_csv(values, path)
    return values


def figure(plots: dict, width_scale: float = 1.0, height_scale: float = 1.0, **kwargs):
    plt.rcParams.update(
        {
            "font.size": plots["font_size"],
            "axes.titlesize": plots["font_size"] + 1,
            "axes.labelsize": plots["font_size"],
            "legend.fontsize": plots["font_size"] - 1,
            "savefig.dpi": plots["dpi"],
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    return plt.subplots(
        figsize=(plots["width_in"] * width_scale, plots["height_in"] * height_scale), constrained_layout=True, **kwargs
    )


def close(fig) -> None:
    plt.close(fig)


def experiment_colors(names: Iterable[str]) -> dict[str, str]:
    """A fixed colour per experiment; pass the study's full experiment list so colours agree across figures."""
    names = [n for n in dict.fromkeys(names) if n != REFERENCE]
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    colors[REFERENCE] = REFERENCE_STYLE["color"]
    return colors


def colors_for(experiments: Experiments, colors: dict | None) -> dict[str, str]:
    fallback = experiment_colors(name for name, _ in experiments)
    return {**fallback, **(colors or {})}


def metric_unit(metric: str, target: Target = DEFAULT_TARGET) -> str:
    """The unit of one of the target's metric columns ('meV' for ``mae_meV``, 'eV²' for ``mse_eV2``); '' for
    any other column."""
    if metric == target.mse_column:
        return target.squared_unit
    return target.display_unit if metric in (target.metric("mae"), target.metric("rmse")) else ""


def metric_label(metric: str, target: Target = DEFAULT_TARGET) -> str:
    """An axis label of a metric column: 'test MAE (meV)' for U0, 'test MAE of μ (D)' for the dipole moment
    (units.label); 'test <column>' for a column that is not one of the target's metrics."""
    if not metric_unit(metric, target):
        return f"test {metric}"
    return label(target, f"test {MEASURES[metric.split('_', 1)[0]]}", squared=metric == target.mse_column)


def seed_mean(table: pd.DataFrame, experiment: str, metric: str) -> pd.DataFrame:
    """Per group (index): seed mean ``value``, seed-aware ``low``/``high``, ``count``, ``n_seeds``, ``seed_values``."""
    rows = table[table["experiment"] == experiment]
    if "count" in rows:
        rows = rows[rows["count"] > 0]  # an empty bin has no error to show
    if "seed" not in rows:
        rows = rows.assign(seed=0)
    summary = seed_summary(rows, metric, by=("group",))
    summary["low"] = summary["low"].clip(lower=0)  # an error is never negative; a wide interval stops at 0
    return summary.set_index("group")


def seed_markers(axis, x, frame: pd.DataFrame, color, horizontal: bool = False) -> None:
    """Each seed's own value as a small open marker (only where an experiment has several seeds)."""
    for xi, values in zip(x, frame["seed_values"]):
        if len(values) > 1:
            points = (values, [xi] * len(values)) if horizontal else ([xi] * len(values), values)
            axis.plot(*points, ls="none", marker="o", ms=3, mfc="white", mec=color, mew=0.8, zorder=4)


def yerr(frame: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bars from CI bounds; a missing or inverted bound draws no bar."""
    below = (frame["value"] - frame["low"]).clip(lower=0).fillna(0)
    above = (frame["high"] - frame["value"]).clip(lower=0).fillna(0)
    return np.vstack([below.to_numpy(), above.to_numpy()])


def seed_note(frame: pd.DataFrame) -> str:
    seeds = int(frame["n_seeds"].max()) if len(frame) else 0
    return f" ({seeds} seeds)" if seeds > 1 else ""


def log_axis(axis, which: str = "y") -> None:
    """Log scale with plain-number labels at 1-2-5 steps (readable without 10^x arithmetic)."""
    target = axis.yaxis if which == "y" else axis.xaxis
    (axis.set_yscale if which == "y" else axis.set_xscale)("log")
    target.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(ticker.NullFormatter())


def note_handle(text: str) -> Line2D:
    """A legend entry without a symbol; wrapped so that a long note does not widen the figure."""
    return Line2D([], [], ls="none", marker="none", label=textwrap.fill(text, 42))


def outside_legend(fig, handles, plots: dict, max_columns: int = 3) -> None:
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(max_columns, len(handles)),
                   frameon=False, fontsize=plots["font_size"] - 1)


def size_ticks(axis, sizes, plots: dict) -> None:
    sizes = sorted(int(s) for s in sizes)
    if not sizes:
        return
    step = 1 if sizes[-1] - sizes[0] <= 30 else 2
    axis.set_xticks(range(sizes[0], sizes[-1] + 1, step))
    axis.tick_params(axis="x", labelsize=plots["font_size"] - 2)
    axis.set_xlim(sizes[0] - 0.7, sizes[-1] + 0.7)


def empty_panel(axis, text: str) -> None:
    axis.text(0.5, 0.5, text, transform=axis.transAxes, ha="center", va="center", color="0.4")
