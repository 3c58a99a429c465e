"""The page's first screen in plain words: one card per hypothesis and one summary sentence, from the verdict rows.

Input: the rows of results/<study>/tables/hypothesis_verdicts.csv (workflow_scripts/evaluation/verdicts.py). Rows with
``control`` true are the placebo: the cards never report them as findings, only as the check "passed / failed".
Errors are written in each row's ``unit`` (the study's target's display unit: meV for U0, D for the dipole moment).
"""

from __future__ import annotations

import math
import re

import pandas as pd

from workflow_scripts.evaluation.units import DEFAULT_TARGET, decimals
from workflow_scripts.targets import Target

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"
MINUS = "\u2212"  # a real minus sign: "-3" reads as a dash in running text

# Fallback questions, for a verdicts table without a question column.
QUESTIONS = {
    "H1": "Are molecules of sizes that are rare in the training data predicted worse?",
    "H2": "Are molecules holding elements that are rare in the training data predicted worse?",
    "H3": "Does balancing the training data by size even out the error across sizes?",
    "H4": "Can training skip the small molecules without losing accuracy on the large ones?",
}


def signed(value, digits: int = 1) -> str:
    """'+1.2', '−3.4', or '–' where there is no number."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):+.{digits}f}".replace("-", MINUS)


def interval(low, high, digits: int = 1) -> str:
    """'95 % CI −5.1 to −1.3'."""
    return f"95 % CI {signed(low, digits)} to {signed(high, digits)}"


def unit_of(row) -> tuple[str, int]:
    """The unit of a verdict row's errors and their decimals: ('meV', 1) for U0, ('D', 3) for the dipole moment.
    A row without a unit (H3's statistic has none; tables before the unit column) is read as U0's errors."""
    unit = row.get("unit")
    unit = unit if isinstance(unit, str) and unit else DEFAULT_TARGET.display_unit
    return unit, decimals(unit)


def is_placebo(row) -> bool:
    value = row.get("control", False)
    return bool(value) and not (isinstance(value, float) and math.isnan(value)) and str(value).lower() != "false"


def findings(verdicts: pd.DataFrame, hypothesis: str) -> list[dict]:
    """The verdict rows of one hypothesis that are findings (not the placebo)."""
    rows = verdicts[verdicts["hypothesis"] == hypothesis].to_dict("records")
    return [row for row in rows if not is_placebo(row)]


def placebo_status(verdicts: pd.DataFrame) -> str:
    """'passed', 'failed', or 'not run' for the placebo rows of the table."""
    rows = [row for row in verdicts.to_dict("records") if is_placebo(row)]
    if not rows:
        return "not run"
    return "passed" if all(str(row.get("placebo_passes")).lower() == "true" for row in rows) else "failed"


def _threshold(row, default: int = 17) -> int:
    found = re.search(r"above_(\d+)_atoms", str(row.get("statistic", "")))
    return int(found.group(1)) if found else default


def _rarest_element(row) -> str:
    found = re.search(r"extra_error_with_([A-Z][a-z]?)_", str(row.get("secondary_statistic", "")))
    return found.group(1) if found else "the rarest element"


def _arm(comparison: str) -> str:
    """'balanced-T2000 vs balanced_control-T2000_random' -> 'balanced-T2000'."""
    return str(comparison).split(" vs ")[0]


def h1_card(row: dict) -> dict:
    unit, digits = unit_of(row)
    effect = (f"each doubling of a size's share of the training data changes the error by "
              f"{signed(row['value'], digits)} {unit} ({interval(row['ci_low'], row['ci_high'], digits)}); H1 "
              "expects a fall")
    meaning = {
        SUPPORTED: "Expect larger errors for molecules whose size is uncommon in the training data, even at equal "
                   "size and composition; more training molecules of those sizes should help.",
        CONTRADICTED: "Molecules of uncommon sizes are not predicted worse here: how often a size occurs in the "
                      "training data is not what limits accuracy.",
    }.get(row["verdict"], "This run cannot tell whether uncommon sizes are predicted worse; treat errors on "
                          "uncommon sizes with the usual caution.")
    return {"effect": effect, "meaning": meaning}


def h2_card(row: dict) -> dict:
    element, (unit, digits) = _rarest_element(row), unit_of(row)
    effect = (f"each doubling of an element's share of the training data changes its extra error by "
              f"{signed(row['value'], digits)} {unit} ({interval(row['ci_low'], row['ci_high'], digits)}); H2 "
              "expects a fall")
    if pd.notna(row.get("secondary_value")):
        effect += (f". Molecules with {element}: {signed(row['secondary_value'], digits)} {unit} extra "
                   f"({interval(row['secondary_ci_low'], row['secondary_ci_high'], digits)})")
    meaning = {
        SUPPORTED: f"Molecules holding a rare element (here {element}) carry extra error at equal size: check "
                   "their predictions with more care, or add such molecules to the training data.",
        CONTRADICTED: "Rare elements do not come with larger errors here; composition is not what limits "
                      "accuracy.",
    }.get(row["verdict"], f"This run cannot tell whether rare elements (such as {element}) raise the error.")
    return {"effect": effect, "meaning": meaning}


def h3_verdict(rows: list[dict]) -> str:
    """One answer for all balancing arms: their common verdict, or 'mixed'."""
    verdicts = {row["verdict"] for row in rows}
    return verdicts.pop() if len(verdicts) == 1 else "mixed"


def h3_card(rows: list[dict]) -> dict:
    """The balancing arms on one card: each arm's change of the error's spread across sizes vs its control."""
    arms = [{"arm": _arm(row["comparison"]), "verdict": row["verdict"],
             "effect": f"{signed(row['value'], 3)} ({signed(row['ci_low'], 3)} to {signed(row['ci_high'], 3)})"}
            for row in rows]
    supported = sum(row["verdict"] == SUPPORTED for row in rows)
    effect = ("Change of the error's spread across sizes (std / mean of the per-size MAE, 95 % CI; negative: "
              "more even), each arm against as much random training data")
    if supported:
        meaning = (f"Balancing evened out the error in {supported} of {len(rows)} arms: for uniform accuracy "
                   "across sizes, a size-balanced training set is worth trying.")
    elif all(row["verdict"] == CONTRADICTED for row in rows):
        meaning = "Balancing made the error less even across sizes: keep the natural size mix of the data."
    else:
        # inconclusive is weak evidence of no effect (H3 is the study's least powerful test): say no benefit shown
        meaning = ("No balancing arm evened out the error measurably beyond what the same amount of random data "
                   "gives: this run shows no benefit from balancing by size.")
    return {"effect": effect, "meaning": meaning, "arms": arms}


def h4_card(row: dict) -> dict:
    threshold, (unit, digits) = _threshold(row), unit_of(row)
    effect = (f"{signed(row['value'], digits)} {unit} of error above {threshold} atoms "
              f"({interval(row['ci_low'], row['ci_high'], digits)}; allowed: up to {signed(row['bound'], digits)} "
              f"{unit})")
    if pd.notna(row.get("secondary_value")):
        effect += f"; {signed(row['secondary_value'], digits)} {unit} at {threshold} atoms or fewer"
    meaning = {
        SUPPORTED: f"For molecules above {threshold} atoms, a model trained only on such molecules is as good "
                   "(within the margin): the small molecules can be left out when only large ones matter.",
        CONTRADICTED: f"Leaving out the molecules of {threshold} atoms or fewer costs accuracy on the large ones "
                      "too: keep them in the training data.",
    }.get(row["verdict"], f"This run cannot tell whether leaving out the small molecules costs accuracy above "
                          f"{threshold} atoms.")
    return {"effect": effect, "meaning": meaning}


def caution(rows: list[dict]) -> str:
    """A warning when runs a verdict compares failed or did not converge ('' when none)."""
    runs = sorted({run.strip() for row in rows for run in str(row.get("unreliable_runs") or "").split(";")
                   if run.strip() and run.strip() != "nan"})
    if not runs:
        return ""
    failed = sum("diverged" in run or "collapsed" in run for run in runs)
    return (f"Caution: {len(runs)} of the runs compared did not converge" + (f", {failed} of them failed" if failed
            else "") + " (Summary).")


CARD_BUILDERS = {"H1": h1_card, "H2": h2_card, "H4": h4_card}


def hypothesis_cards(verdicts: pd.DataFrame, target: Target = DEFAULT_TARGET) -> list[dict]:
    """One card per hypothesis present (H1..H4; H3's arms on one card), the placebo status on each; a row
    without a unit has the errors of the study's ``target``."""
    placebo = placebo_status(verdicts)
    if "unit" not in verdicts:
        verdicts = verdicts.assign(unit=target.display_unit)
    cards = []
    for hypothesis in ("H1", "H2", "H3", "H4"):
        rows = findings(verdicts, hypothesis)
        if not rows:
            continue
        if hypothesis == "H3":
            card, verdict = h3_card(rows), h3_verdict(rows)
        else:
            card, verdict = CARD_BUILDERS[hypothesis](rows[0]), rows[0]["verdict"]
        question = rows[0].get("question")
        cards.append({"hypothesis": hypothesis, "verdict": verdict, "placebo": placebo, "caution": caution(rows),
                      "question": question if isinstance(question, str) and question else QUESTIONS[hypothesis],
                      "arms": [], **card})
    return cards


CLAUSES = {
    "H1": {SUPPORTED: "molecules of sizes rare in the training data were predicted worse",
           CONTRADICTED: "molecules of rare sizes were not predicted worse",
           INCONCLUSIVE: "whether rare sizes are predicted worse stays open"},
    "H2": {SUPPORTED: "molecules with rare elements were predicted worse",
           CONTRADICTED: "rare elements did not raise the error",
           INCONCLUSIVE: "whether rare elements raise the error stays open"},
    "H4": {SUPPORTED: "training only on large molecules was no worse on them",
           CONTRADICTED: "training only on large molecules was worse on them",
           INCONCLUSIVE: "whether training only on large molecules costs accuracy on them stays open"},
}


def _h3_clause(rows: list[dict]) -> str:
    supported = sum(row["verdict"] == SUPPORTED for row in rows)
    if supported:
        return f"balancing by size evened out the error in {supported} of {len(rows)} arms"
    if all(row["verdict"] == CONTRADICTED for row in rows):
        return "balancing by size made the error less even"
    return "balancing by size did not measurably even out the error"


def summary_sentence(verdicts: pd.DataFrame, scale: str) -> str:
    """What the study found at this scale, in one sentence, with the placebo check."""
    clauses = []
    for hypothesis in ("H1", "H2", "H3", "H4"):
        rows = findings(verdicts, hypothesis)
        if not rows:
            continue
        text = _h3_clause(rows) if hypothesis == "H3" else CLAUSES[hypothesis].get(
            rows[0]["verdict"], CLAUSES[hypothesis][INCONCLUSIVE])
        clauses.append(f"{text} ({hypothesis})")
    if not clauses:
        return f"At the {scale} scale this study has no verdicts."
    listed = clauses[0] if len(clauses) == 1 else ", ".join(clauses[:-1]) + " and " + clauses[-1]
    placebo = {"passed": "the placebo control passed (the intervals are not too narrow)",
               "failed": "but the placebo control FAILED: the intervals are too narrow, trust none of these",
               "not run": "no placebo control was run"}[placebo_status(verdicts)]
    return f"At the {scale} scale, {listed}; {placebo}."
