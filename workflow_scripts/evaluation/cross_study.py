"""The cross-study: the study's question (where does the error come from: molecule size, elements) asked of several
QM9 properties and SchNetPack networks at one scale (config ``cross_study``).

Each target x representation is a study of its own, in its own folder (config/experiments.study_name); from each,
the baseline's per-seed metrics by size bin and element group. Properties differ in unit and in how hard they are,
so every error is also given relative to that study's linear reference (the property fitted on element counts,
no network): 1 is "no better than composition alone", 0.1 "a tenth of the error composition leaves". The interval
of each MAE is seed-aware (seed variation and test-set bootstrap, intervals.seed_summary); the relative interval
divides it by the reference's overall MAE, whose own uncertainty (a 12,000-molecule test set at the quick scale)
is far smaller and is left out.
"""

from __future__ import annotations

import re

import pandas as pd

from workflow_scripts.evaluation.intervals import seed_summary

STRATA = ("size", "element")
COLUMNS = ["target", "representation", "study", "unit", "stratum", "group", "count", "n_seeds", "mae", "mae_low",
           "mae_high", "relative_mae", "relative_low", "relative_high", "linear_reference_mae"]


def mae_column(frame: pd.DataFrame) -> str:
    """The MAE column of a metrics table (``mae_meV`` for energies; the unit is the display unit's tag)."""
    found = [c for c in frame.columns if re.fullmatch(r"mae_(?!ci_)\w+", c)]
    if len(found) != 1:
        raise ValueError(f"a metrics table needs one MAE column (mae_<unit>); found {found or 'none'}")
    return found[0]


def study_rows(target: str, representation: str, study: str, by_stratum: dict[str, list[pd.DataFrame]],
               reference_overall: pd.DataFrame, seeds: list[int]) -> pd.DataFrame:
    """One study's rows: per stratum (``size`` / ``element``) the baseline's seed-mean MAE per group with its
    seed-aware interval, and the same relative to the linear reference's overall MAE.

    ``by_stratum`` maps a stratum to the baseline's per-seed metrics tables, in the order of ``seeds``.
    """
    metric = mae_column(reference_overall)
    unit = metric.split("_", 1)[1]
    overall = reference_overall.set_index("group")
    reference = float(overall.loc["all", metric])
    rows = []
    for stratum in STRATA:
        frames = by_stratum[stratum]
        long = pd.concat([f.assign(seed=s, experiment="baseline") for f, s in zip(frames, seeds)], ignore_index=True)
        long["group"] = long["group"].astype(str)
        summary = seed_summary(long, mae_column(long))
        rows.append(pd.DataFrame({
            "target": target, "representation": representation, "study": study, "unit": unit, "stratum": stratum,
            "group": summary["group"], "count": summary["count"], "n_seeds": summary["n_seeds"],
            "mae": summary["value"], "mae_low": summary["low"], "mae_high": summary["high"],
            "relative_mae": summary["value"] / reference, "relative_low": summary["low"] / reference,
            "relative_high": summary["high"] / reference, "linear_reference_mae": reference,
        }))
    return pd.concat(rows, ignore_index=True)[COLUMNS]


def cross_study_table(studies: list[pd.DataFrame]) -> pd.DataFrame:
    """Every study's rows in one table, in the config's order of targets and representations."""
    return pd.concat(studies, ignore_index=True)[COLUMNS] if studies else pd.DataFrame(columns=COLUMNS)
