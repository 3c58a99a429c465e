"""The study's self-contained page: its sections' text and tables, with the figures the catalogue places in them.

Which figure goes in which section, with which caption, is the catalogue's (workflow_scripts/figures/catalogue.py);
this module writes the page from the files rule report names and nothing else. The first screen's plain words:
report/cards.py; the thesis beside this run: report/thesis.py; the settings: report/settings.py. The HTML itself:
report/html.py and its templates.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

import pandas as pd

from workflow_scripts.config.experiments import baseline_of, in_parts
from workflow_scripts.evaluation.intervals import seed_summary
from workflow_scripts.evaluation.learning_curve import OVERALL, mae_columns, seed_values_text
from workflow_scripts.evaluation.study_tables import FAILED, table2_headers
from workflow_scripts.evaluation.units import DEFAULT_TARGET, decimals, is_default
from workflow_scripts.evaluation.verdicts import DECISION_RULE
from workflow_scripts.figures import catalogue
from workflow_scripts.figures.catalogue import TABLES
from workflow_scripts import representations, targets
from workflow_scripts.properties import LINEAR_REFERENCE
from workflow_scripts.report import cards, settings, thesis
from workflow_scripts.report.html import build_report, table_data, verdict_badge
from workflow_scripts.targets import Target

# The tables the page reads: rule report's inputs of these names.
TABLE_INPUTS = ("element_frequency", "by_size", "by_element", "overall", "table2", "training_runs", "verdicts",
                "learning_curve")

BUDGET_RULES = {
    "equal_steps": "equal steps: every experiment trains for as many optimizer steps as its epochs over the whole "
                   "training set take at its batch size, so smaller subsets are seen more often, not trained less",
    "epochs": "fixed epochs (the thesis's rule): every experiment makes its epochs over its own subset, so smaller "
              "subsets get fewer optimizer steps",
}


def _mae_view(view: pd.DataFrame, target: Target) -> dict:
    """The columns of a seed summary of the target's MAE, under the target's names (``mae_meV``, ...)."""
    mae, low, high, each_seed = mae_columns(target)
    return {mae: view["value"], low: view["low"], high: view["high"],
            each_seed: seed_values_text(view["seed_values"], target)}


def _stratum_view(table: pd.DataFrame, experiments, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Per experiment and stratum: test count, training count, seeds, MAE with its seed-aware 95 % CI, MSE."""
    rows = table[table["experiment"].isin(experiments)]
    if rows.empty:
        return pd.DataFrame()
    mse = target.mse_column
    view = seed_summary(rows, target.metric("mae"))
    extra = rows.groupby(["experiment", "group"], sort=False).agg(train_count=("train_count", "max"),
                                                                   **{mse: (mse, "mean")})
    view = view.merge(extra.reset_index(), on=["experiment", "group"], how="left")
    return pd.DataFrame({
        "experiment": view["experiment"], "group": view["group"], "count": view["count"],
        "train_count": view["train_count"], "seeds": view["n_seeds"], **_mae_view(view, target), mse: view[mse],
    })


def _overall_view(overall: pd.DataFrame, experiments, target: Target = DEFAULT_TARGET) -> pd.DataFrame:
    """Per experiment: seeds, whole-test-set MAE with its seed-aware 95 % CI and each seed's, MSE, train time."""
    rows = overall[(overall["group"] == "all") & overall["experiment"].isin(experiments)]
    if rows.empty:
        return pd.DataFrame()
    mse = target.mse_column
    view = seed_summary(rows, target.metric("mae"), by=("experiment",))
    extra = rows.groupby("experiment", sort=False).agg(**{mse: (mse, "mean")},
                                                       train_seconds=("train_seconds", "mean"))
    view = view.merge(extra.reset_index(), on="experiment", how="left")
    return pd.DataFrame({
        "experiment": view["experiment"], "seeds": view["n_seeds"], **_mae_view(view, target), mse: view[mse],
        "train_seconds": view["train_seconds"],
    })


def _whole_test_set(curve: pd.DataFrame) -> pd.DataFrame:
    """The learning curve's rows of the whole test set, without the group column."""
    return curve[curve["group"].astype(str) == OVERALL].drop(columns="group")


def _verdict_text(verdicts: pd.DataFrame) -> str:
    items = []
    for row in verdicts[~verdicts["control"].fillna(False).astype(bool)].itertuples():
        unreliable = (f"<br><b>Runs compared that failed or did not converge:</b> {html.escape(row.unreliable_runs)}"
                      if isinstance(row.unreliable_runs, str) and row.unreliable_runs else "")
        if isinstance(getattr(row, "failed_runs", None), str) and row.failed_runs:
            unreliable += f"<br><b>Failed runs among those compared:</b> {html.escape(row.failed_runs)}"
        items.append(
            f"<li><b>{html.escape(row.hypothesis)}</b> ({html.escape(str(row.comparison))}): "
            f"{verdict_badge(row.verdict)} {html.escape(str(row.statement))}<br>"
            f"<span>{html.escape(str(row.explanation))}</span><br>"
            f"<small>Method: {html.escape(str(row.method))}.</small>{unreliable}</li>"
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


def _status_evidence(run, target: Target = DEFAULT_TARGET) -> str:
    """Why a run is not converged, in numbers from its training_runs row (errors in the target's unit)."""
    unit = target.display_unit

    def error(column):  # evidence, not a result: one decimal fewer than the results write (whole meV)
        return f"{getattr(run, target.metric(column)):.{decimals(unit) - 1}f} {unit}"

    if run.status == "diverged":
        worst = getattr(run, target.metric("max_val_mae_after_best"))
        rise = f"rose to {error('max_val_mae_after_best')}" if pd.notna(worst) else "was never finite"
        return f"validation MAE {rise} after its best, {error('best_val_mae')}"
    if run.status == "collapsed":
        return (f"test MAE {error('test_mae')}, {run.test_mae_vs_linear_reference:.2f} &#215; the linear "
                "reference's")
    if pd.notna(run.final_improvement):
        return f"best validation MAE still fell {100 * run.final_improvement:.0f} %"
    return "too few validations to judge"


def _convergence_text(runs: pd.DataFrame, convergence: dict, target: Target = DEFAULT_TARGET) -> str:
    """Every training run that did not converge, failed ones first, each with its evidence and what reads it."""
    rule = (f"converged: its best validation MAE fell by less than {100 * convergence['max_improvement']:g} % during "
            f"the last {100 * convergence['final_fraction']:g} % of the steps whose learning rate was at least "
            f"{100 * convergence['min_lr_fraction']:g} % of its peak; failed: diverged (validation MAE far above its "
            "best after it) or collapsed (test MAE not far below the linear reference's, or above it)")
    flagged = runs[runs["status"] != "converged"]
    if flagged.empty:
        return f"<p><b>Training runs.</b> Every run converged and none failed ({rule}).</p>"
    flagged = flagged.assign(failed=flagged["status"].isin(FAILED))
    flagged = flagged.sort_values("failed", ascending=False, kind="stable")  # failed runs first
    items = []
    for run in flagged.itertuples():
        label = f'<b style="color:#b42318">FAILED: {run.status}</b>' if run.failed else "<b>not converged</b>"
        items.append(f"<li>{label} {html.escape(str(run.experiment))} seed {run.seed} "
                     f"({_status_evidence(run, target)}); "
                     f"used by: {html.escape(str(run.used_by))}</li>")
    n_failed = int(flagged["failed"].sum())
    return (f"<p><b>Training runs: {n_failed} failed, {len(flagged) - n_failed} not converged</b> of {len(runs)} "
            f"({rule}). A failed run's numbers describe a broken training, not its settings: train it again (a "
            "lower learning rate) before reading what uses it; a run not converged was still improving, or too "
            f"short to judge: train longer. (Used by: the verdicts and figures besides the overview.)</p>"
            f"<ul>{''.join(items)}</ul>")


def _property(target: Target) -> str:
    """The property in the summary's words: 'U0' (the thesis's, as the page always said), 'μ (the dipole moment)'."""
    return target.symbol if is_default(target) else f"{target.symbol} ({html.escape(target.title)})"


THESIS_TITLE = "The thesis beside this run"
THESIS_ANCHOR = "thesis"
# The report lies in results/<study>/report/; the study's documentation three folders up.
DEPARTURES_LINK = "../../../docs/study.md#departures-from-the-thesis"


def _verdicts_view(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The verdicts table as the page shows it: intervals in one column, the placebo's rows as passed / failed
    (a placebo is a check, never a finding)."""
    def ci(low, high):
        return "–" if pd.isna(low) or pd.isna(high) else f"{low:.3g} to {high:.3g}"

    control = verdicts["control"].fillna(False).astype(str).str.lower() == "true"
    verdict = [("placebo " + ("passed" if str(p).lower() == "true" else "FAILED")) if c else v
               for c, v, p in zip(control, verdicts["verdict"], verdicts["placebo_passes"])]
    secondary = [f"{name}: {value:.3g} ({ci(low, high)})" if isinstance(name, str) and name else "–"
                 for name, value, low, high in zip(verdicts["secondary_statistic"], verdicts["secondary_value"],
                                                   verdicts["secondary_ci_low"], verdicts["secondary_ci_high"])]
    return pd.DataFrame({
        "hypothesis": verdicts["hypothesis"], "comparison": verdicts["comparison"],
        "statistic": verdicts["statistic"], "value": verdicts["value"],
        "95 % CI": [ci(lo, hi) for lo, hi in zip(verdicts["ci_low"], verdicts["ci_high"])],
        "bound": verdicts["bound"], "p_adjusted": verdicts["p_adjusted"], "seeds": verdicts["seeds"],
        "verdict": verdict, "secondary": secondary,
        "failed runs": verdicts["failed_runs"] if "failed_runs" in verdicts else "",
        "unreliable_runs": verdicts["unreliable_runs"],
    })


def run_columns(target: Target = DEFAULT_TARGET) -> list[str]:
    """The training runs table's columns the page shows (the evidence in the target's unit)."""
    return ["experiment", "seed", "budget_rule", "n_train", "steps", "epochs_run", "train_seconds", "status",
            target.metric("best_val_mae"), target.metric("max_val_mae_after_best"), "final_improvement",
            "test_mae_vs_linear_reference", "used_by", "reused_from"]


# dropped on a narrow screen: the CSV has them
def run_minor(target: Target = DEFAULT_TARGET) -> tuple[str, ...]:
    return ("budget_rule", "epochs_run", target.metric("max_val_mae_after_best"), "final_improvement", "reused_from")


VERDICT_MINOR = ("statistic", "bound", "p_adjusted", "secondary", "unreliable_runs")


def table2_minor(target: Target = DEFAULT_TARGET) -> tuple[str, ...]:
    """Table 2 on a narrow screen: the thesis's columns, the MAE and the training's length stay."""
    headers = table2_headers(target)
    return (headers[target.metric("macro_mae")], "worst frequent size (atoms)", headers[target.metric("worst_mae")],
            "test prediction time (h:mm:ss)", "training molecules")


RUN_COLUMNS, RUN_MINOR, TABLE2_MINOR = run_columns(), run_minor(), table2_minor()  # U0's


def _front(verdicts, overall, by_size, runs, scale, scale_settings, experiments, final, baseline, beside,
           thesis_settings: dict, target: Target) -> dict:
    """The first screen: summary sentence, verdict cards, the thesis line; then the settings in words."""
    test = overall.loc[(overall["experiment"] == baseline) & (overall["group"] == "all"), "count"]
    rows = settings.scale_rows(scale_settings, experiments.get(baseline, {}),
                               int(test.max()) if len(test) else None, thesis_settings, target)
    n_train = runs.groupby("experiment")["n_train"].max() if "n_train" in runs else pd.Series(dtype=float)
    models = [settings.model_sentence(label, name, experiments[name], n_train.get(name))
              for name, label in final if name in experiments]
    return {
        "summary": cards.summary_sentence(verdicts, scale), "cards": cards.hypothesis_cards(verdicts, target),
        "thesis_line": thesis.thesis_line(beside, target), "thesis_anchor": THESIS_ANCHOR,
        "departures_link": DEPARTURES_LINK, "scale": scale, "models": models,
        "settings": table_data("What differs from the thesis", pd.DataFrame(rows).rename(
            columns={"this_run": "this run"}), text_columns=("thesis", "this run")),
    }


def published_anchors(target: Target, experiments: dict, overall: pd.DataFrame, runs: pd.DataFrame) -> str:
    """A paragraph beside Table 2: the target's published full-QM9 test MAEs (targets.py) and how far this study's
    baseline is from the one of its network, so a reader of a short run sees what full training reaches."""
    published = [(representations.LABELS[name], value) for name, value in target.anchors.items()]
    if not published:
        return (f"<p>No published full-QM9 test MAE of {html.escape(target.title)} is recorded beside this table "
                "(workflow_scripts/targets.py lists the published SchNet and PaiNN errors).</p>")
    baseline = baseline_of(experiments)
    unit, digits = target.display_unit, decimals(target.display_unit)
    text = ("<p><b>Published errors, for scale:</b> the test MAE of " + html.escape(target.title)
            + " with the whole QM9 training set (about 110,000 molecules) was "
            + " and ".join(f"{value:g} {unit} for {label}" for label, value in published)
            + f" ({html.escape(targets.SCHNET_2018)}; {html.escape(targets.PAINN_2021)}).")
    rows = overall[(overall["experiment"] == baseline) & (overall["group"] == "all")]
    network = (experiments[baseline].get("model", {}).get("representation", representations.DEFAULT)
               if baseline else None)
    mine, reference = rows[target.metric("mae")].mean(), targets.anchor(target, network) if network else None
    if reference and len(rows):
        trained = runs.loc[runs["experiment"] == baseline, "n_train"] if "n_train" in runs else pd.Series()
        on = f" trained on {int(trained.mean()):,} molecules" if len(trained.dropna()) else ""
        text += (f" This study's baseline ({representations.LABELS[network]}{on}): {mine:.{digits}f} {unit}, "
                 f"{mine / reference:.1f} times the published {representations.LABELS[network]}'s.")
    return text + "</p>"


def _thesis_section(beside: list[dict], target: Target = DEFAULT_TARGET) -> dict:
    if not thesis.compares(target):  # a study of another property: the sentence alone, no numbers beside U0's
        return {"title": THESIS_TITLE, "anchor": THESIS_ANCHOR,
                "text": f"<p>{html.escape(thesis.not_compared(target))}</p>"}
    frame = pd.DataFrame(beside)[["finding", "thesis", "this_run", "agreement"]].rename(
        columns={"thesis": "the thesis", "this_run": "this run", "agreement": "match"})
    return {"title": THESIS_TITLE, "anchor": THESIS_ANCHOR,
            "text": ("<p>Each finding the thesis states, beside this run's answer. The thesis judged from one run "
                     "each by eye; here H1 to H4 are the verdicts below (seed-aware 95 % intervals), the rest seed "
                     "means. This run departs from the thesis's protocol in places, each for a reason: "
                     f'<a href="{DEPARTURES_LINK}">departures from the thesis</a> (docs/study.md).</p>'),
            "tables": [table_data("The thesis's findings and this run's answers", frame,
                                  text_columns=("the thesis", "this run", "match"))]}


def build(out_path, figures, tables: dict, scale: str, scale_settings: dict, experiments: dict, final: list,
          budget_rule: str, min_seeds: int, convergence: dict, thesis_settings: dict, *,
          target: Target = DEFAULT_TARGET) -> None:
    """Write the page. ``figures``: (png path, caption, section) in the order shown; ``tables``: TABLE_INPUTS -> csv;
    ``thesis_settings``: the thesis's column of the settings table (settings.thesis_settings); ``target``: the
    study's property, whose names, units and symbol the page writes."""
    read = {name: pd.read_csv(tables[name]) for name in TABLE_INPUTS}
    by_size, by_element, overall = read["by_size"], read["by_element"], read["overall"]
    verdicts, runs = read["verdicts"], read["training_runs"]
    baseline = baseline_of(experiments)

    mae, unit, digits = target.metric("mae"), target.display_unit, decimals(target.display_unit)
    ref_mae = overall.loc[(overall["experiment"] == LINEAR_REFERENCE) & (overall["group"] == "all"), mae]
    base_rows = overall[(overall["experiment"] == baseline) & (overall["group"] == "all")]

    sections = {
        catalogue.SUMMARY: {
            "text": (
                f"<p>{settings.networks(experiments)} (SchNetPack 2) trained on {_property(target)} of QM9; "
                f"{len(experiments)} experiments at scale "
                f"<b>{html.escape(scale)}</b>. All errors are on one held-out test set shared by every experiment "
                f"(molecules never trained or early-stopped on). "
                f"Baseline test MAE {base_rows[mae].mean():.{digits}f} {unit} over {len(base_rows)} seed(s) "
                f"({seed_values_text([base_rows.sort_values('seed')[mae]], target)[0]}); "
                f"the linear reference ({target.symbol} fitted on element counts) {ref_mae.mean():.{digits}f} "
                f"{unit}.</p>"
                f"<p><b>Training budget:</b> {html.escape(BUDGET_RULES[budget_rule])}.</p>"
                f"<p><b>Decision rule:</b> {html.escape(DECISION_RULE.format(min_seeds=min_seeds))}</p>"
                + _verdict_text(verdicts)
                + _convergence_text(runs, convergence, target)
                + _placebo_text(verdicts)
            ),
            "tables": [
                table_data(TABLES["verdicts"].caption, _verdicts_view(verdicts), tables["verdicts"],
                           VERDICT_MINOR, ("comparison", "statistic", "seeds", "verdict", "secondary",
                                           "failed runs", "unreliable_runs")),
                table_data(TABLES["training_runs"].caption, runs[[c for c in run_columns(target) if c in runs]],
                           tables["training_runs"], run_minor(target), ("status", "used_by", "reused_from")),
            ],
        },
        catalogue.DATA: {
            "text": "<p>Element presence (Table 1), molecule sizes (Figure 1) and the size distribution of each "
                    "element's molecules (Appendix Figure 5), over the whole dataset.</p>",
            "tables": [(TABLES["element_frequency"].caption, read["element_frequency"])],
        },
        catalogue.BASELINE: {
            "text": "<p>Seeds averaged; error bars are seed-aware 95 % intervals (seed-to-seed variation and test-set "
                    "sampling), open markers each seed's value; grey: the linear reference.</p>",
            "tables": [
                ("Baseline metrics per size bin (mean over seeds, seed-aware 95 % CI)",
                 _stratum_view(by_size, [baseline], target)),
                ("Baseline metrics per element group (mean over seeds, seed-aware 95 % CI)",
                 _stratum_view(by_element, [baseline], target)),
            ],
        },
        catalogue.BALANCING: {
            "text": "<p>A cap gives less data as well as balanced data. Each cap's control (part "
                    "<i>balancing_control</i>) trains on as many molecules, drawn at random without balancing, for "
                    "the same steps; the learning curve (part <i>learning_curve</i>) trains the baseline on random "
                    "fractions of the training set: what less data costs.</p>",
            "tables": [
                ("Overall test error", _overall_view(
                    overall, [baseline, *in_parts(experiments, "balancing", "balancing_control", "placebo")], target)),
                table_data("Learning curve, whole test set (per frequent size bin: the CSV)",
                           _whole_test_set(read["learning_curve"]), tables["learning_curve"],
                           ("training_share", "count", "seed_variance_known", mae_columns(target)[3])),
            ],
        },
        catalogue.LOSS_WEIGHTS: {
            "tables": [("Overall test error", _overall_view(
                overall, in_parts(experiments, "loss_size", "loss_size_frequency", "loss_inverse_frequency"), target))],
        },
        catalogue.TARGETED: {
            "tables": [("Overall test error",
                        _overall_view(overall, [baseline, *in_parts(experiments, "targeted")], target))],
        },
        catalogue.FINAL: {
            "text": published_anchors(target, experiments, overall, runs),
            "tables": [table_data(TABLES["table2"].caption, read["table2"], tables["table2"], table2_minor(target),
                                  ("model", "budget rule"))],
        },
        catalogue.ALL_EXPERIMENTS: {
            "tables": [
                ("Computational hyperparameters",
                 _overall_view(overall, in_parts(experiments, "hp_compute"), target)),
                ("Physical hyperparameters", _overall_view(overall, in_parts(experiments, "hp_physical"), target)),
                ("Every experiment", _overall_view(overall, list(experiments) + [LINEAR_REFERENCE], target)),
            ],
        },
    }
    beside = (thesis.thesis_beside(verdicts, overall, by_size, experiments, baseline, final)
              if thesis.compares(target) else [])
    front = _front(verdicts, overall, by_size, runs, scale, scale_settings, experiments, final, baseline, beside,
                   thesis_settings, target)
    meta = {
        "scale": f"{scale} (what it changes: the table above)",
        "experiments": len(experiments),
        "training runs": len(overall.loc[(overall["group"] == "all") & (overall["experiment"] != LINEAR_REFERENCE),
                                         ["experiment", "seed"]].drop_duplicates()),
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "final comparison": ", ".join(f"{label}: {name}" for name, label in final),
    }
    build_report(out_path, f"QM9 {target.symbol} with {settings.networks(experiments)}: error by molecule size and "
                 "element", [_thesis_section(beside, target), *place_figures(sections, figures)], meta, front)


def place_figures(sections: dict[str, dict], figures) -> list[dict]:
    """The page's sections in the catalogue's order, each with the figures placed in it, in their order."""
    unknown = {section for _, _, section in figures} - set(catalogue.SECTIONS)
    if unknown:
        raise ValueError(f"figures placed in sections the page does not have: {sorted(unknown)}")
    return [{"title": title, **sections.get(title, {}),
             "figures": [(path, caption) for path, caption, section in figures if section == title]}
            for title in catalogue.SECTIONS]
