"""The study's report: which figures, tables and verdicts go in which section."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from .report import build_report, verdict_badge

METRIC_VIEW = ["group", "count", "train_count", "mae_meV", "mae_ci_low_meV", "mae_ci_high_meV", "rmse_meV", "mse_eV2"]


def _seed_mean(table: pd.DataFrame, experiments, columns) -> pd.DataFrame:
    rows = table[table["experiment"].isin(experiments)]
    keep = [c for c in columns if c in rows.columns]
    return rows.groupby(["experiment", "group"], sort=False)[keep[1:]].mean().reset_index()


def _overall_view(overall: pd.DataFrame, experiments) -> pd.DataFrame:
    rows = overall[(overall["group"] == "all") & overall["experiment"].isin(experiments)]
    view = rows.groupby("experiment", sort=False).agg(
        seeds=("seed", "nunique"), mae_meV=("mae_meV", "mean"), rmse_meV=("rmse_meV", "mean"),
        mse_eV2=("mse_eV2", "mean"), train_seconds=("train_seconds", "mean"),
    )
    return view.reset_index()


def _verdict_text(verdicts: pd.DataFrame) -> str:
    items = []
    for row in verdicts.itertuples():
        items.append(
            f"<li><b>{html.escape(row.hypothesis)}</b> ({html.escape(str(row.comparison))}): "
            f"{verdict_badge(row.verdict)} {html.escape(str(row.statement))}<br>"
            f"<span>{html.escape(str(row.explanation))}</span></li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def build(results: Path, out_path, scale: str, scale_settings: dict, experiments: dict, final: list) -> None:
    results = Path(results)
    fig = results / "figures"
    tables = results / "tables"
    by_size = pd.read_csv(tables / "metrics_by_size.csv")
    by_element = pd.read_csv(tables / "metrics_by_element.csv")
    overall = pd.read_csv(tables / "metrics_overall.csv")
    verdicts = pd.read_csv(tables / "hypothesis_verdicts.csv")
    baseline = next(n for n, e in experiments.items() if e["part"] == "baseline")
    parts = {n: e["part"] for n, e in experiments.items()}

    def of(*wanted):
        return [n for n, p in parts.items() if p in wanted]

    reference = "linear_reference"
    ref_mae = overall.loc[(overall["experiment"] == reference) & (overall["group"] == "all"), "mae_meV"]
    base_rows = overall[(overall["experiment"] == baseline) & (overall["group"] == "all")]
    learning = sorted(fig.glob("figA3_learning_curves_*_linear.png"))

    sections = [
        {
            "title": "Summary",
            "text": (
                f"<p>SchNet (SchNetPack 2) trained on U0 of QM9; {len(experiments)} experiments at scale "
                f"<b>{html.escape(scale)}</b>. All errors are on one held-out test set shared by every experiment "
                f"(molecules never trained or early-stopped on), with bootstrap 95 % confidence intervals. "
                f"Baseline test MAE {base_rows['mae_meV'].mean():.1f} meV over {len(base_rows)} seed(s); "
                f"the linear reference (U0 fitted on element counts) {ref_mae.mean():.1f} meV.</p>"
                + _verdict_text(verdicts)
            ),
            "tables": [("Hypothesis verdicts", verdicts[["hypothesis", "comparison", "statistic", "value", "ci_low",
                                                         "ci_high", "n_seeds", "verdict"]])],
        },
        {
            "title": "Data (thesis §3.2.1)",
            "text": "<p>Element presence (Table 1), molecule sizes (Figure 1) and the size distribution of each "
                    "element's molecules (Appendix Figure 5), over the whole dataset.</p>",
            "tables": [("Table 1: molecules containing each element",
                        pd.read_csv(results / "analysis/element_frequency.csv"))],
            "figures": [
                (results / "analysis/size_histogram.png",
                 "Figure 1: molecules per size; blue bins hold more than 1 % of QM9 (the evaluation strata)."),
                (results / "analysis/element_size_heatmap.png",
                 "Appendix Figure 5: for each element, the share of its molecules at each size."),
            ],
        },
        {
            "title": "Baseline: error by size and element (H1, H2)",
            "text": "<p>Seeds averaged; error bars are 95 % bootstrap intervals; grey: the linear reference.</p>",
            "figures": [
                (fig / "fig03_baseline_error_by_size.png", "Figure 3: baseline test MAE per molecule size."),
                (fig / "fig04_baseline_error_by_element.png", "Figure 4: baseline test MAE per element group."),
            ],
            "tables": [
                ("Baseline metrics per size bin (mean over seeds)", _seed_mean(by_size, [baseline], METRIC_VIEW)),
                ("Baseline metrics per element group", _seed_mean(by_element, [baseline], METRIC_VIEW)),
            ],
        },
        {
            "title": "Size-balanced subsets (H3)",
            "figures": [
                (fig / "fig05_subset_histogram.png", "Figure 5: the most strongly capped training subset."),
                (fig / "fig06_balanced_error_by_size.png", "Figure 6: error per size for each cap T."),
            ],
            "tables": [("Overall test error", _overall_view(overall, [baseline, *of("balancing")]))],
        },
        {
            "title": "Size-weighted losses",
            "figures": [
                (fig / "figA2_weight_factors.png", "Appendix Figure 2: weight factor v against size for several r."),
                (fig / "fig07_size_loss_error_by_size.png", "Figure 7: size-based weights, rate sweep."),
                (fig / "fig08_size_frequency_loss_error_by_size.png",
                 "Figure 8: size-and-frequency weights (formula as printed in the thesis), rate sweep."),
                (fig / "fig08b_inverse_frequency_loss_error_by_size.png", "Inverse-frequency weights."),
            ],
            "tables": [("Overall test error", _overall_view(
                overall, of("loss_size", "loss_size_frequency", "loss_inverse_frequency")))],
        },
        {
            "title": "Targeted training on large molecules (H4)",
            "figures": [(fig / "fig09_targeted_error_by_size.png", "Figure 9: trained on more than 17 atoms only.")],
        },
        {
            "title": "Final comparison: Default against Custom",
            "figures": [(fig / "fig10_final_error_by_size.png", "Figure 10: Default against Custom per size.")]
            + [(p, f"Appendix Figure 3: learning curves ({p.stem.split('curves_')[1].removesuffix('_linear')}), "
                   "linear scale; the log-scale version (Appendix Figure 4) is beside it in results/figures.")
               for p in learning],
            "tables": [("Table 2: total test MSE and runtime", pd.read_csv(tables / "table2_final_comparison.csv"))],
        },
        {
            "title": "Hyperparameter searches and all experiments",
            "figures": [(fig / "overview_overall_mae.png", "Test MAE of every experiment (95 % CI).")],
            "tables": [
                ("Computational hyperparameters", _overall_view(overall, of("hp_compute"))),
                ("Physical hyperparameters", _overall_view(overall, of("hp_physical"))),
                ("Every experiment", _overall_view(overall, list(experiments) + [reference])),
            ],
        },
    ]
    meta = {
        "scale": f"{scale} ({', '.join(f'{k}={v}' for k, v in scale_settings.items())})",
        "experiments": len(experiments),
        "training runs": int(overall.loc[overall["group"] == "all", ["experiment", "seed"]]
                             .drop_duplicates().shape[0]) - 1,
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "final comparison": ", ".join(f"{label}: {name}" for name, label in final),
    }
    build_report(out_path, "QM9 U0 with SchNet: error by molecule size and element", sections, meta)
