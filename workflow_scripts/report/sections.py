"""The study's report: which figures, tables and verdicts go in which section."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from workflow_scripts.evaluation.intervals import seed_summary
from workflow_scripts.report.html import build_report, verdict_badge
from workflow_scripts.evaluation.verdicts import DECISION_RULE

BUDGET_RULES = {
    "equal_steps": "equal steps: every experiment trains for as many optimizer steps as its epochs over the whole "
                   "training set take at its batch size, so smaller subsets are seen more often, not trained less",
    "epochs": "fixed epochs (the thesis's rule): every experiment makes its epochs over its own subset, so smaller "
              "subsets get fewer optimizer steps",
}


def _stratum_view(table: pd.DataFrame, experiments) -> pd.DataFrame:
    """Per experiment and stratum: test count, training count, seeds, MAE with its seed-aware 95 % CI, MSE."""
    rows = table[table["experiment"].isin(experiments)]
    if rows.empty:
        return pd.DataFrame()
    view = seed_summary(rows, "mae_meV")
    extra = rows.groupby(["experiment", "group"], sort=False).agg(train_count=("train_count", "max"),
                                                                   mse_eV2=("mse_eV2", "mean"))
    view = view.merge(extra.reset_index(), on=["experiment", "group"], how="left")
    return pd.DataFrame({
        "experiment": view["experiment"], "group": view["group"], "count": view["count"],
        "train_count": view["train_count"], "seeds": view["n_seeds"], "mae_meV": view["value"],
        "mae_ci_low_meV": view["low"], "mae_ci_high_meV": view["high"],
        "mae_each_seed_meV": [", ".join(f"{v:.1f}" for v in values) for values in view["seed_values"]],
        "mse_eV2": view["mse_eV2"],
    })


def _overall_view(overall: pd.DataFrame, experiments) -> pd.DataFrame:
    """Per experiment: seeds, whole-test-set MAE with its seed-aware 95 % CI and each seed's, MSE, train time."""
    rows = overall[(overall["group"] == "all") & overall["experiment"].isin(experiments)]
    if rows.empty:
        return pd.DataFrame()
    view = seed_summary(rows, "mae_meV", by=("experiment",))
    extra = rows.groupby("experiment", sort=False).agg(mse_eV2=("mse_eV2", "mean"),
                                                       train_seconds=("train_seconds", "mean"))
    view = view.merge(extra.reset_index(), on="experiment", how="left")
    return pd.DataFrame({
        "experiment": view["experiment"], "seeds": view["n_seeds"], "mae_meV": view["value"],
        "mae_ci_low_meV": view["low"], "mae_ci_high_meV": view["high"],
        "mae_each_seed_meV": [", ".join(f"{v:.1f}" for v in values) for values in view["seed_values"]],
        "mse_eV2": view["mse_eV2"], "train_seconds": view["train_seconds"],
    })


def _verdict_text(verdicts: pd.DataFrame) -> str:
    items = []
    for row in verdicts[~verdicts["control"].fillna(False).astype(bool)].itertuples():
        items.append(
            f"<li><b>{html.escape(row.hypothesis)}</b> ({html.escape(str(row.comparison))}): "
            f"{verdict_badge(row.verdict)} {html.escape(str(row.statement))}<br>"
            f"<span>{html.escape(str(row.explanation))}</span></li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


def _placebo_text(verdicts: pd.DataFrame) -> str:
    controls = verdicts[verdicts["control"].fillna(False).astype(bool)]
    if controls.empty:
        return "<p>No placebo experiment in this study, so the intervals are not checked against a control.</p>"
    lines = []
    for row in controls.itertuples():
        outcome = "no effect, as it should" if row.placebo_passes else "<b>an effect: the placebo FAILS</b>"
        lines.append(f"<li>{html.escape(row.hypothesis)} statistic, {html.escape(str(row.comparison))}: "
                     f"{row.value:+.3g} (95 % CI {row.ci_low:+.3g} to {row.ci_high:+.3g}): {outcome}</li>")
    verdict = ("The placebo passes: the verdicts' intervals are wide enough for seed-to-seed variation."
               if controls["placebo_passes"].astype(bool).all() else
               "The placebo fails: an experiment that differs from the baseline only by its seeds shows an effect, "
               "so the intervals are too narrow and no verdict above should be trusted; add seeds.")
    return (f"<p><b>Placebo check.</b> The experiment <i>placebo</i> has the baseline's settings and other seeds; "
            f"judged by the H3 and H4 statistics it must show no effect.</p><ul>{''.join(lines)}</ul><p>{verdict}</p>")


def _convergence_text(runs: pd.DataFrame, convergence: dict, compared: list[str]) -> str:
    judged = runs[runs["experiment"].isin(compared)]
    late = judged[~judged["converged"].astype(bool)]
    rule = (f"a run counts as converged when its best validation MAE fell by less than "
            f"{100 * convergence['max_improvement']:g} % during its last {100 * convergence['final_fraction']:g} % of steps")
    if late.empty:
        return f"<p><b>Convergence.</b> Every run the verdicts compare converged ({rule}).</p>"
    names = ", ".join(f"{r.experiment} seed {r.seed} ({100 * r.final_improvement:.0f} %)"
                      if pd.notna(r.final_improvement) else f"{r.experiment} seed {r.seed} (too few epochs to judge)"
                      for r in late.itertuples())
    return (f"<p><b>Convergence: not every run settled</b> ({rule}): {html.escape(names)}. Their verdicts compare "
            "models that were still improving; train longer (a larger <code>epochs</code>) before relying on them.</p>")


def build(results: Path, out_path, scale: str, scale_settings: dict, experiments: dict, final: list,
          budget_rule: str, min_seeds: int, convergence: dict) -> None:
    results = Path(results)
    fig = results / "figures"
    tables = results / "tables"
    by_size = pd.read_csv(tables / "metrics_by_size.csv")
    by_element = pd.read_csv(tables / "metrics_by_element.csv")
    overall = pd.read_csv(tables / "metrics_overall.csv")
    verdicts = pd.read_csv(tables / "hypothesis_verdicts.csv")
    runs = pd.read_csv(tables / "training_runs.csv")
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
                f"(molecules never trained or early-stopped on). "
                f"Baseline test MAE {base_rows['mae_meV'].mean():.1f} meV over {len(base_rows)} seed(s) "
                f"({', '.join(f'{v:.1f}' for v in base_rows.sort_values('seed')['mae_meV'])}); "
                f"the linear reference (U0 fitted on element counts) {ref_mae.mean():.1f} meV.</p>"
                f"<p><b>Training budget:</b> {html.escape(BUDGET_RULES[budget_rule])}.</p>"
                f"<p><b>Decision rule:</b> {html.escape(DECISION_RULE.format(min_seeds=min_seeds))}</p>"
                + _verdict_text(verdicts)
                + _convergence_text(runs, convergence, sorted(set(runs["experiment"]) & set(
                    of("baseline", "balancing", "targeted", "placebo"))))
                + _placebo_text(verdicts)
            ),
            "tables": [
                ("Hypothesis verdicts (seed-aware 95 % CI; bound: what the claim must stay below)",
                 verdicts[["hypothesis", "comparison", "control", "statistic", "value", "ci_low", "ci_high", "bound",
                           "seeds", "verdict", "secondary_statistic", "secondary_value", "secondary_ci_low",
                           "secondary_ci_high"]]),
                ("Training runs: step budget, time and convergence",
                 runs[["experiment", "seed", "budget_rule", "n_train", "steps", "epochs_run", "train_seconds",
                       "best_val_mae_meV", "final_improvement", "converged", "reused_from"]]),
            ],
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
            "text": "<p>Seeds averaged; error bars are seed-aware 95 % intervals (seed-to-seed variation and test-set "
                    "sampling), open markers each seed's value; grey: the linear reference.</p>",
            "figures": [
                (fig / "fig03_baseline_error_by_size.png", "Figure 3: baseline test MAE per molecule size."),
                (fig / "fig04_baseline_error_by_element.png", "Figure 4: baseline test MAE per element group."),
            ],
            "tables": [
                ("Baseline metrics per size bin (mean over seeds, seed-aware 95 % CI)",
                 _stratum_view(by_size, [baseline])),
                ("Baseline metrics per element group (mean over seeds, seed-aware 95 % CI)",
                 _stratum_view(by_element, [baseline])),
            ],
        },
        {
            "title": "Size-balanced subsets (H3)",
            "figures": [
                (fig / "fig05_subset_histogram.png", "Figure 5: the most strongly capped training subset."),
                (fig / "fig06_balanced_error_by_size.png", "Figure 6: error per size for each cap T."),
            ],
            "tables": [("Overall test error", _overall_view(overall, [baseline, *of("balancing", "placebo")]))],
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
            "tables": [("Overall test error", _overall_view(overall, [baseline, *of("targeted")]))],
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
