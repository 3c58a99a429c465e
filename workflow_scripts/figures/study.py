"""Figures and Table 2 of the study (Figures 3-10, Appendix Figures 2-4).

Every plot function writes one PNG through ``atomic.save_figure``. Experiments missing from a
table are not an error: they are named in the legend as "no results" so a reader sees the gap.
Seeds are aggregated as the mean of per-seed values; the error bar is the seed-aware 95 % interval
(seed-to-seed variation and test-set sampling, :mod:`.intervals`), and each seed's own value is
drawn as a small open marker, so two seeds that disagree show as two markers and a wide bar.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import ticker
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from workflow_scripts.files.atomic import save_figure
from workflow_scripts.evaluation.intervals import seed_summary
from workflow_scripts.figures.style import close, figure
from workflow_scripts.training.weights import loss_weights

REFERENCE = "linear_reference"
REFERENCE_STYLE = {"color": "0.3", "ls": "--", "lw": 1.2}
RARE_SHADE = "0.9"
OFF_SCALE = 3.0  # a linear-axis reference line further than this factor above the data is written, not drawn
# tab10 without its grey: grey is kept for the linear reference and for counts.
PALETTE = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
           "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "navy", "darkgoldenrod", "teal")
ELEMENTS = ("H", "C", "N", "O", "F")
_METRICS = {"mae_meV": ("MAE", "meV"), "rmse_meV": ("RMSE", "meV"), "mse_eV2": ("MSE", "eV²")}

Experiments = Sequence[tuple[str, str]]
ERROR_BAR_NOTE = "error bars: 95 % CI over seeds and test molecules; open markers: each seed"


# --- helpers -------------------------------------------------------------------------------------------------------

def experiment_colors(names: Iterable[str]) -> dict[str, str]:
    """A fixed colour per experiment; pass the study's full experiment list so colours agree across figures."""
    names = [n for n in dict.fromkeys(names) if n != REFERENCE]
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    colors[REFERENCE] = REFERENCE_STYLE["color"]
    return colors


def _colors_for(experiments: Experiments, colors: dict | None) -> dict[str, str]:
    fallback = experiment_colors(name for name, _ in experiments)
    return {**fallback, **(colors or {})}


def _ci_columns(metric: str) -> tuple[str, str]:
    prefix, unit = metric.split("_", 1)
    return f"{prefix}_ci_low_{unit}", f"{prefix}_ci_high_{unit}"


def _metric_label(metric: str) -> str:
    name, unit = _METRICS.get(metric, (metric, ""))
    return f"test {name} ({unit})" if unit else f"test {name}"


def _seed_mean(table: pd.DataFrame, experiment: str, metric: str) -> pd.DataFrame:
    """Per group (index): seed mean ``value``, seed-aware ``low``/``high``, ``count``, ``n_seeds``, ``seed_values``."""
    rows = table[table["experiment"] == experiment]
    if "count" in rows:
        rows = rows[rows["count"] > 0]  # an empty bin has no error to show
    if "seed" not in rows:
        rows = rows.assign(seed=0)
    summary = seed_summary(rows, metric, by=("group",))
    summary["low"] = summary["low"].clip(lower=0)  # an error is never negative; a wide interval stops at 0
    return summary.set_index("group")


def _seed_markers(axis, x, frame: pd.DataFrame, color, horizontal: bool = False) -> None:
    """Each seed's own value as a small open marker (only where an experiment has several seeds)."""
    for xi, values in zip(x, frame["seed_values"]):
        if len(values) > 1:
            points = (values, [xi] * len(values)) if horizontal else ([xi] * len(values), values)
            axis.plot(*points, ls="none", marker="o", ms=3, mfc="white", mec=color, mew=0.8, zorder=4)


def _yerr(frame: pd.DataFrame) -> np.ndarray:
    """Asymmetric error bars from CI bounds; a missing or inverted bound draws no bar."""
    below = (frame["value"] - frame["low"]).clip(lower=0).fillna(0)
    above = (frame["high"] - frame["value"]).clip(lower=0).fillna(0)
    return np.vstack([below.to_numpy(), above.to_numpy()])


def _seed_note(frame: pd.DataFrame) -> str:
    seeds = int(frame["n_seeds"].max()) if len(frame) else 0
    return f" ({seeds} seeds)" if seeds > 1 else ""


def _log_axis(axis, which: str = "y") -> None:
    """Log scale with plain-number labels at 1-2-5 steps (readable without 10^x arithmetic)."""
    target = axis.yaxis if which == "y" else axis.xaxis
    (axis.set_yscale if which == "y" else axis.set_xscale)("log")
    target.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(ticker.NullFormatter())


def _note_handle(text: str) -> Line2D:
    """A legend entry without a symbol; wrapped so that a long note does not widen the figure."""
    return Line2D([], [], ls="none", marker="none", label=textwrap.fill(text, 42))


def _outside_legend(fig, handles, plots: dict, max_columns: int = 3) -> None:
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncol=min(max_columns, len(handles)),
                   frameon=False, fontsize=plots["font_size"] - 1)


def _size_ticks(axis, sizes, plots: dict) -> None:
    sizes = sorted(int(s) for s in sizes)
    if not sizes:
        return
    step = 1 if sizes[-1] - sizes[0] <= 30 else 2
    axis.set_xticks(range(sizes[0], sizes[-1] + 1, step))
    axis.tick_params(axis="x", labelsize=plots["font_size"] - 2)
    axis.set_xlim(sizes[0] - 0.7, sizes[-1] + 0.7)


def _empty_panel(axis, text: str) -> None:
    axis.text(0.5, 0.5, text, transform=axis.transAxes, ha="center", va="center", color="0.4")


def _fmt_pm(mean: float, std: float, digits: int = 3) -> str:
    """'mean ± std' with ``digits`` significant digits on the mean and the std at the same decimals."""
    if mean is None or not np.isfinite(mean):
        return "–"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(mean)))) if mean != 0 else digits
    text = f"{mean:.{decimals}f}"
    return f"{text} ± {std:.{decimals}f}" if std is not None and np.isfinite(std) else text


def _fmt_hms(seconds: float) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "–"
    total = int(round(seconds))
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def _fmt_percent(fraction: float) -> str:
    percent = 100 * fraction
    return f"{percent:.0f} %" if percent >= 10 else f"{percent:.1f} %"


# --- Figures 3, 6, 7, 8, 9, 10: error per molecule size --------------------------------------------------------------

def plot_error_by_size(metrics: pd.DataFrame, experiments: Experiments, plots: dict, path, title: str,
                       metric: str = "mae_meV", log_y: bool = True, reference: str | None = REFERENCE,
                       colors: dict | None = None, frequent_label: str = "rare size (≤ 1 % of QM9)") -> None:
    """Error per size (top) over the test count per size (bottom); rare sizes shaded grey in both panels."""
    colors = _colors_for(experiments, colors)
    fig, (ax, ax_count) = figure(plots, height_scale=1.4, nrows=2, sharex=True,
                                 gridspec_kw={"height_ratios": [3, 1]})
    shown = [(name, label, _seed_mean(metrics, name, metric)) for name, label in experiments if name != reference]
    present = [item for item in shown if len(item[2])]
    handles = []
    step = min(0.12, 0.6 / max(len(present), 1))  # dodge so overlapping error bars stay readable
    for i, (name, label, frame) in enumerate(present):
        offset = (i - (len(present) - 1) / 2) * step
        x = frame.index.to_numpy(dtype=float) + offset
        handle = ax.errorbar(x, frame["value"], yerr=_yerr(frame), fmt="-o", ms=3.5, lw=1.3, elinewidth=0.8,
                             capsize=1.5, color=colors[name], label=label + _seed_note(frame))
        _seed_markers(ax, x, frame, colors[name])
        handles.append(handle)
    handles += [_note_handle(f"{label}: no results") for _, label, frame in shown if not len(frame)]
    if reference is not None:
        ref = _seed_mean(metrics, reference, metric)
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
            handles.append(Patch(color=RARE_SHADE, label=frequent_label))
    if len(sizes):
        counts = sizes.groupby("group")["count"].max()  # same test set for all experiments
        ax_count.bar(counts.index, counts.to_numpy(), width=0.7, color="0.55", zorder=2)
        _log_axis(ax_count)
        ax_count.yaxis.set_major_locator(ticker.LogLocator(base=10, numticks=10))  # decades only: the panel is short
        _size_ticks(ax_count, counts.index, plots)
    else:
        _empty_panel(ax, "no results")
    if present:
        handles.append(_note_handle(ERROR_BAR_NOTE))
    if log_y and present:
        _log_axis(ax)
    ax.set_ylabel(_metric_label(metric))
    ax.set_title(title)
    ax.grid(axis="y", color="0.85", lw=0.6)
    ax_count.set_ylabel("test\nmolecules")
    ax_count.set_xlabel("molecule size (number of atoms)")
    _outside_legend(fig, handles, plots)
    save_figure(fig, path)
    close(fig)


# --- Figure 4: error per element -----------------------------------------------------------------------------------

def plot_error_by_element(metrics_by_element: pd.DataFrame, experiments: Experiments, plots: dict, path, title: str,
                          train_fraction: dict[str, float], metric: str = "mae_meV", log_y: bool = False,
                          reference: str | None = REFERENCE, colors: dict | None = None) -> None:
    """Grouped bars per element (ordered from most to least frequent in training) with 95 % CI error bars."""
    colors = _colors_for(experiments, colors)
    shown = [(name, label, _seed_mean(metrics_by_element, name, metric))
             for name, label in experiments if name != reference]
    present = [item for item in shown if len(item[2])]
    found = set().union(*(frame.index for _, _, frame in present)) if present else set()
    order = sorted(found, key=lambda e: (-train_fraction.get(e, -1), ELEMENTS.index(e) if e in ELEMENTS else 99, e))

    fig, ax = figure(plots)
    x = np.arange(len(order))
    width = 0.8 / max(len(present), 1)
    handles = []
    for i, (name, label, frame) in enumerate(present):
        frame = frame.reindex(order)
        xs = x + (i - (len(present) - 1) / 2) * width
        handles.append(ax.bar(xs, frame["value"], width=width * 0.92, yerr=_yerr(frame), capsize=2,
                              color=colors[name], error_kw={"elinewidth": 0.8}, label=label + _seed_note(frame),
                              zorder=2))
        _seed_markers(ax, xs, frame.dropna(subset=["value"]), "black")
    handles += [_note_handle(f"{label}: no results") for _, label, frame in shown if not len(frame)]
    if reference is not None and order:
        ref = _seed_mean(metrics_by_element, reference, metric).reindex(order)
        tops = [frame["high"].fillna(frame["value"]).max() for _, _, frame in present]
        if ref["value"].notna().any() and not log_y and ref["value"].max() > OFF_SCALE * max(tops):
            # drawing it would squash the bars the figure is about: give its values instead
            values = ", ".join(f"{e} {v:.3g}" for e, v in ref["value"].dropna().items())
            handles.append(_note_handle(f"linear reference (off scale): {values} {_METRICS.get(metric, ('', ''))[1]}"))
        elif ref["value"].notna().any():
            handles.append(ax.hlines(ref["value"], x - 0.45, x + 0.45, label="linear reference", zorder=3,
                                     colors=REFERENCE_STYLE["color"], linestyles="--", lw=REFERENCE_STYLE["lw"]))
    counts = pd.concat([frame["count"] for _, _, frame in present], axis=1).max(axis=1) if present else pd.Series()
    labels = []
    for element in order:
        lines = [element]
        if element in train_fraction:
            lines.append(f"{_fmt_percent(train_fraction[element])} of train")
        if element in counts and np.isfinite(counts[element]):
            lines.append(f"n test = {int(counts[element]):,}")
        labels.append("\n".join(lines))
    ax.set_xticks(x, labels)
    ax.tick_params(axis="x", labelsize=plots["font_size"] - 1, length=0)
    if not present:
        _empty_panel(ax, "no results")
    elif log_y:
        _log_axis(ax)
    if present:
        handles.append(_note_handle(ERROR_BAR_NOTE))
    ax.set_xlabel("molecules containing the element")
    ax.set_ylabel(_metric_label(metric))
    ax.set_title(title)
    ax.grid(axis="y", color="0.85", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    _outside_legend(fig, handles, plots)
    save_figure(fig, path)
    close(fig)


# --- Appendix Figure 2: loss weight factors ------------------------------------------------------------------------

def plot_weight_factors(plots: dict, path, rates: Sequence[float] = (0, 2, 5, 10), sizes: Iterable[int] = range(3, 30),
                        train_sizes=None, alphas: Sequence[float] = (0.5, 1.0),
                        title: str = "Loss weight factor v against molecule size") -> None:
    """v(s) for each rate, one panel per scheme; a third panel (inverse frequency) when ``train_sizes`` is given."""
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
        _log_axis(axis)
        axis.set_title(label, fontsize=plots["font_size"] - 1)
        axis.set_xlabel("molecule size s (atoms)")
        axis.grid(color="0.88", lw=0.6)
        axis.legend(frameon=False, fontsize=plots["font_size"] - 2, loc="best")
        _size_ticks(axis, sizes, plots)
        axis.set_xticks(axis.get_xticks()[::4 if len(sizes) > 14 else 1])
    np.atleast_1d(axes)[0].set_ylabel("weight factor v (log scale)")
    fig.suptitle(title, fontsize=plots["font_size"] + 1)
    save_figure(fig, path)
    close(fig)


# --- Appendix Figures 3 and 4: learning curves ---------------------------------------------------------------------

def plot_learning_curves(train_log: pd.DataFrame, val_log: pd.DataFrame, plots: dict, path, title: str, log_y: bool,
                         weighted: bool = False) -> None:
    """Per-step training error (raw, not smoothed) on top; validation MAE per epoch, at the epoch's last step, below.

    The top panel shows the plain per-molecule squared error of each batch (mean, and the means of the 5 largest
    and 5 smallest), the same quantity whatever the loss weighting, so curves of weighted and unweighted runs
    compare; a ``weighted`` run adds the batch mean of the loss it optimizes (v · squared error), dashed.
    """
    fig, (ax, ax_val) = figure(plots, height_scale=1.4, nrows=2, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    scale = "log" if log_y else "linear"
    if train_log is not None and len(train_log):
        log = train_log.sort_values("step")
        step = log["step"].to_numpy()
        ax.fill_between(step, log["sqerr_bottom5_mean_eV2"], log["sqerr_top5_mean_eV2"], color="tab:blue",
                        alpha=0.15, lw=0, label="band: 5 smallest to 5 largest")
        ax.plot(step, log["sqerr_top5_mean_eV2"], color="tab:red", lw=0.7, label="mean of the 5 largest")
        ax.plot(step, log["mse_eV2"], color="tab:blue", lw=1.1, label="batch mean")
        ax.plot(step, log["sqerr_bottom5_mean_eV2"], color="tab:green", lw=0.7, label="mean of the 5 smallest")
        if weighted:
            ax.plot(step, log["loss_mean"], color="black", lw=0.6, ls="--", alpha=0.6,
                    label="weighted loss, batch mean (v · eV²)")
    else:
        _empty_panel(ax, "no training log")
    if val_log is not None and len(val_log):
        val = val_log.sort_values("step")
        ax_val.plot(val["step"], val["val_mae_meV"], "-o", ms=3, lw=1.1, color="tab:purple",
                    label="validation MAE (end of epoch)")
    else:
        _empty_panel(ax_val, "no validation log")
    has_train, has_val = train_log is not None and len(train_log) > 0, val_log is not None and len(val_log) > 0
    for axis, has_data in ((ax, has_train), (ax_val, has_val)):
        if scale == "log" and has_data:
            axis.set_yscale("log", nonpositive="mask")
        axis.grid(color="0.9", lw=0.6)
    ax.set_ylabel("training squared error\nper molecule (eV²)")
    ax_val.set_ylabel("validation\nMAE (meV)")
    ax_val.set_xlabel("training step (batch)")
    ax.set_title(f"{title} ({scale} scale)")
    handles = ax.get_legend_handles_labels()[0] + ax_val.get_legend_handles_labels()[0]
    handles.append(_note_handle("raw per-step values, no smoothing"))
    _outside_legend(fig, handles, plots)
    save_figure(fig, path)
    close(fig)


# --- Figure 5: subset size histogram -------------------------------------------------------------------------------

def plot_subset_histogram(subset_counts: pd.DataFrame, pool_counts: pd.DataFrame, cap: int | None, plots: dict, path,
                          title: str, log_y: bool = False, subset_label: str = "training subset") -> None:
    """The subset's molecules per size drawn over the full training pool's; the cap T as a horizontal line."""
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
    _size_ticks(ax, both["n_atoms"], plots)
    ax.set_xlabel("molecule size (number of atoms)")
    ax.set_ylabel("molecules")
    ax.set_title(title)
    ax.legend(frameon=False, loc="upper left")
    save_figure(fig, path)
    close(fig)


# --- Table 2 -------------------------------------------------------------------------------------------------------

def table2_values(metrics_overall: pd.DataFrame, experiments: Experiments) -> pd.DataFrame:
    """Table 2 as numbers: per experiment, mean and sample std (ddof 1) over seeds. Missing experiments: n_seeds 0."""
    rows = []
    for name, label in experiments:
        runs = metrics_overall[metrics_overall["experiment"] == name]

        def group(name_):
            return runs[runs["group"] == name_].set_index("seed")

        total, macro, worst = group("all"), group("macro_frequent_sizes"), group("worst_frequent_size")
        worst_sizes = sorted({int(s) for s in worst.get("size", pd.Series(dtype=float)).dropna()})
        row = {"experiment": name, "model": label, "n_seeds": int(runs["seed"].nunique()),
               "worst_sizes": ", ".join(map(str, worst_sizes))}
        for key, frame, column in (("mse_eV2", total, "mse_eV2"), ("mae_meV", total, "mae_meV"),
                                   ("macro_mae_meV", macro, "mae_meV"), ("worst_mae_meV", worst, "mae_meV"),
                                   ("train_seconds", total, "train_seconds"), ("eval_seconds", total, "eval_seconds")):
            values = frame[column].dropna() if column in frame else pd.Series(dtype=float)
            row[f"{key}_mean"] = values.mean() if len(values) else np.nan
            row[f"{key}_std"] = values.std(ddof=1) if len(values) > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def table2(metrics_overall: pd.DataFrame, experiments: Experiments) -> pd.DataFrame:
    """Table 2 formatted for the report: 'mean ± std over seeds', times as h:mm:ss (mean over seeds)."""
    values = table2_values(metrics_overall, experiments)
    return pd.DataFrame({
        "model": values["model"],
        "seeds": values["n_seeds"],
        "test MSE (eV²)": [_fmt_pm(m, s) for m, s in zip(values["mse_eV2_mean"], values["mse_eV2_std"])],
        "test MAE (meV)": [_fmt_pm(m, s) for m, s in zip(values["mae_meV_mean"], values["mae_meV_std"])],
        "macro MAE, frequent sizes (meV)": [_fmt_pm(m, s) for m, s in
                                            zip(values["macro_mae_meV_mean"], values["macro_mae_meV_std"])],
        "worst frequent size (atoms)": values["worst_sizes"].replace("", "–"),
        "MAE at worst size (meV)": [_fmt_pm(m, s) for m, s in
                                    zip(values["worst_mae_meV_mean"], values["worst_mae_meV_std"])],
        "train time (h:mm:ss)": [_fmt_hms(v) for v in values["train_seconds_mean"]],
        "eval time (h:mm:ss)": [_fmt_hms(v) for v in values["eval_seconds_mean"]],
    })


# --- summary: overall MAE of every experiment ----------------------------------------------------------------------

def plot_overall_comparison(metrics_overall: pd.DataFrame, experiments: Experiments, plots: dict, path, title: str,
                            metric: str = "mae_meV", reference: str | None = REFERENCE, colors: dict | None = None,
                            log_x: bool = False, groups: dict | None = None) -> None:
    """Horizontal bars of the whole-test-set error per experiment (best on top), 95 % CI, reference as a line.

    ``groups`` (experiment -> study part) colours the bars by part, with a legend entry per part.
    """
    group_colors = {}
    if groups:
        group_colors = {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(dict.fromkeys(groups.values()))}
        colors = {name: group_colors[group] for name, group in groups.items()}
    colors = _colors_for(experiments, colors)
    overall = metrics_overall[metrics_overall["group"] == "all"]
    entries, missing = [], []
    for name, label in experiments:
        if name == reference:
            continue
        frame = _seed_mean(overall, name, metric)
        (entries.append((name, label, frame.iloc[0], int(frame["n_seeds"].iloc[0]))) if len(frame)
         else missing.append(label))
    entries.sort(key=lambda e: e[2]["value"])
    height = max(2.2, 0.32 * len(entries) + 1.6) / plots["height_in"]
    fig, ax = figure(plots, height_scale=height)
    y = np.arange(len(entries))[::-1]  # best (smallest error) at the top
    if entries:
        values = pd.DataFrame([e[2] for e in entries])
        # one run far off (a wide interval) must not squash every other bar: the axis stops at 1.6x the
        # largest value, and an interval beyond it is written out
        right = 1.6 * max(values["value"].max(), 1e-12) if not log_x else None
        clipped = values.assign(high=values["high"].clip(upper=right) if right else values["high"])
        ax.barh(y, values["value"], xerr=_yerr(clipped), height=0.65, capsize=2, zorder=2,
                color=[colors[e[0]] for e in entries], error_kw={"elinewidth": 0.8})
        _seed_markers(ax, y, values, "black", horizontal=True)
        for yi, (_, row), (_, cut) in zip(y, values.iterrows(), clipped.iterrows()):
            end = cut["high"] if np.isfinite(cut["high"]) else row["value"]
            beyond = f" (CI to {row['high']:.3g})" if right and row["high"] > right else ""
            ax.text(end, yi, f"  {row['value']:.3g}{beyond}", va="center", fontsize=plots["font_size"] - 2)
        if right:
            ax.set_xlim(0, right)
        ax.set_yticks(y, [f"{e[1]}" + (f" ({e[3]} seeds)" if e[3] > 1 else "") for e in entries])
    else:
        ax.set_yticks([])
        _empty_panel(ax, "no results")
    handles = []
    if reference is not None:
        ref = _seed_mean(overall, reference, metric)
        if len(ref):
            value = ref["value"].iloc[0]
            label = f"linear reference ({value:.3g} {_METRICS.get(metric, ('', ''))[1]})"
            tops = [e[2]["high"] if np.isfinite(e[2]["high"]) else e[2]["value"] for e in entries]
            if tops and not log_x and (value > OFF_SCALE * max(tops) or value > ax.get_xlim()[1]):
                handles.append(_note_handle(label + ", off scale"))  # a line would squash the bars
            else:
                handles.append(ax.axvline(value, label=label, zorder=3, **REFERENCE_STYLE))
    shown = {groups[e[0]] for e in entries if groups and e[0] in groups}
    handles += [Patch(color=c, label=g) for g, c in group_colors.items() if g in shown]
    if entries:
        handles.append(_note_handle(ERROR_BAR_NOTE))
    if missing:
        handles.append(_note_handle("no results: " + ", ".join(missing)))
    if log_x and entries:
        _log_axis(ax, "x")
    ax.margins(x=0.12)  # room for the value labels
    ax.set_xlabel(_metric_label(metric) + ", whole test set")
    ax.set_title(title)
    ax.grid(axis="x", color="0.88", lw=0.6, zorder=0)
    ax.set_axisbelow(True)
    _outside_legend(fig, handles, plots, max_columns=2)
    save_figure(fig, path)
    close(fig)
