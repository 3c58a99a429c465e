"""Each finding the thesis states, set beside this run's answer (the page's section "The thesis beside this run").

The thesis judged by eye from one run each; this run's answers come from the verdicts (H1-H4) where there is one,
otherwise from the seed means of the metrics tables, said as such.

The thesis studied one property, U0: its findings are set beside a study of U0 only (:func:`compares`). A study of
another property gets a sentence saying so instead; its numbers are of another quantity, in another unit.
"""

from __future__ import annotations

import pandas as pd

from workflow_scripts.config.experiments import in_parts
from workflow_scripts.evaluation.units import DEFAULT_TARGET
from workflow_scripts.report.cards import (CONTRADICTED, SUPPORTED, findings, h3_verdict, interval, signed)
from workflow_scripts.targets import Target

AGREES, DIFFERS, OPEN = "agrees", "differs", "open"
THESIS_TARGET = DEFAULT_TARGET  # the property the thesis studied: the texts below write its units (meV, eV²)
MAE, MSE = THESIS_TARGET.metric("mae"), THESIS_TARGET.mse_column


def compares(target: Target) -> bool:
    """Whether this study's findings can be set beside the thesis's: only a study of the thesis's property."""
    return target.name == THESIS_TARGET.name


def not_compared(target: Target) -> str:
    """The sentence a study of another property shows where the thesis's findings would stand."""
    return (f"The thesis studied {THESIS_TARGET.symbol} ({THESIS_TARGET.title}); this study learns "
            f"{target.symbol} ({target.title}), so the thesis's findings are not set beside its numbers: they are "
            "errors of another property, in another unit.")


def _by_verdict(verdict: str, thesis_confirmed: bool = True) -> str:
    """Agreement of a verdict with a thesis that confirmed (or rejected) the claim."""
    if verdict not in (SUPPORTED, CONTRADICTED):
        return OPEN
    return AGREES if (verdict == SUPPORTED) == thesis_confirmed else DIFFERS


def _mean_mae(overall: pd.DataFrame, experiment: str, column: str = MAE) -> float:
    rows = overall[(overall["experiment"] == experiment) & (overall["group"] == "all")]
    return float(rows[column].mean()) if len(rows) else float("nan")


def sizes_mae(by_size: pd.DataFrame, experiment: str, low: int, high: int) -> float:
    """MAE over the test molecules of ``low``..``high`` atoms (count-weighted per seed), mean over seeds."""
    rows = by_size[(by_size["experiment"] == experiment)].copy()
    rows = rows[pd.to_numeric(rows["group"], errors="coerce").between(low, high)]
    if rows.empty:
        return float("nan")
    per_seed = rows.groupby("seed").apply(lambda g: (g[MAE] * g["count"]).sum() / g["count"].sum(),
                                          include_groups=False)
    return float(per_seed.mean())


def _hypothesis(verdicts, name: str, finding: str, thesis: str) -> dict:
    rows = findings(verdicts, name)
    if not rows:
        return {"finding": finding, "thesis": thesis, "this_run": "not run", "agreement": OPEN}
    row = rows[0]
    return {"finding": finding, "thesis": thesis, "agreement": _by_verdict(row["verdict"]),
            "this_run": f"{row['verdict']}: {signed(row['value'])} meV per doubling "
                        f"({interval(row['ci_low'], row['ci_high'])})"}


def physical_hyperparameters(overall: pd.DataFrame, experiments: dict) -> dict:
    """The spread of the physical sweeps' MAE beside the computational sweeps'."""
    finding, thesis = "Physical hyperparameters (cutoffs, width)", "mattered less than expected"
    spreads = {}
    for part in ("hp_physical", "hp_compute"):
        values = [_mean_mae(overall, name) for name in in_parts(experiments, part)]
        values = [v for v in values if pd.notna(v)]
        spreads[part] = (min(values), max(values)) if values else None
    if not spreads["hp_physical"]:
        return {"finding": finding, "thesis": thesis, "this_run": "not run", "agreement": OPEN}
    low, high = spreads["hp_physical"]
    text = f"test MAE {low:.1f} to {high:.1f} meV across the physical sweeps"
    agreement = OPEN
    if spreads["hp_compute"]:
        c_low, c_high = spreads["hp_compute"]
        text += f", {c_low:.1f} to {c_high:.1f} meV across the computational ones"
        agreement = AGREES if high - low < c_high - c_low else DIFFERS
    return {"finding": finding, "thesis": thesis, "agreement": agreement,
            "this_run": text + " (one seed each, no interval)"}


def balancing(verdicts, by_size: pd.DataFrame, experiments: dict, baseline: str, above: int = 18) -> dict:
    finding = "Balancing by size (H3)"
    thesis = f"rejected; its only gain above {above} atoms at T = 2,000"
    rows = findings(verdicts, "H3")
    if not rows:
        return {"finding": finding, "thesis": thesis, "this_run": "not run", "agreement": OPEN}
    verdict = h3_verdict(rows)
    supported = sum(row["verdict"] == SUPPORTED for row in rows)
    text = f"{verdict} ({supported} of {len(rows)} arms supported)"
    capped = [name for name in in_parts(experiments, "balancing") if experiments[name].get("subset") == "T2000"]
    if capped:
        arm, base = sizes_mae(by_size, capped[0], above + 1, 99), sizes_mae(by_size, baseline, above + 1, 99)
        if pd.notna(arm) and pd.notna(base):
            text += f"; above {above} atoms T = 2,000 {arm:.1f} meV vs the baseline's {base:.1f} meV"
    # no arm shown to balance: the thesis's rejection stands
    agreement = DIFFERS if supported else AGREES
    return {"finding": finding, "thesis": thesis, "this_run": text, "agreement": agreement}


def best_rates(by_size: pd.DataFrame, experiments: dict, sizes: tuple[int, int] = (13, 23)) -> dict:
    """Per size-weighted loss scheme: the rate with the lowest MAE on the sizes it was tuned on."""
    finding, thesis = "Rate r of the size-weighted losses", "r = 10 best for both"
    best = {}
    for part in ("loss_size", "loss_size_frequency"):
        scores = {experiments[name]["sweep_value"]: sizes_mae(by_size, name, *sizes)
                  for name in in_parts(experiments, part)}
        scores = {rate: mae for rate, mae in scores.items() if pd.notna(mae)}
        if scores:
            rate = min(scores, key=scores.get)
            best[part] = (rate, scores[rate])
    if not best:
        return {"finding": finding, "thesis": thesis, "this_run": "not run", "agreement": OPEN}
    names = {"loss_size": "size based", "loss_size_frequency": "size and frequency based"}
    text = "; ".join(f"{names[part]}: r = {rate:g}{' (the plain loss)' if float(rate) == 0 else ''} "
                     f"({mae:.1f} meV on {sizes[0]}–{sizes[1]} atoms)"
                     for part, (rate, mae) in best.items())
    agreement = AGREES if all(float(rate) == 10 for rate, _ in best.values()) else DIFFERS
    return {"finding": finding, "thesis": thesis, "this_run": text + " (one seed each)", "agreement": agreement}


def targeted(verdicts) -> dict:
    finding, thesis = "Targeted training (H4)", "partly confirmed: helps above 19 atoms, hurts below"
    rows = findings(verdicts, "H4")
    if not rows:
        return {"finding": finding, "thesis": thesis, "this_run": "not run", "agreement": OPEN}
    row = rows[0]
    text = f"{row['verdict']}: {signed(row['value'])} meV above 17 atoms ({interval(row['ci_low'], row['ci_high'])})"
    hurts_below = pd.notna(row.get("secondary_ci_low")) and row["secondary_ci_low"] > 0
    if pd.notna(row.get("secondary_value")):
        text += (f", {signed(row['secondary_value'])} meV at 17 or fewer "
                 f"({interval(row['secondary_ci_low'], row['secondary_ci_high'])})")
    agreement = OPEN
    if row["verdict"] == SUPPORTED:
        agreement = AGREES if hurts_below else OPEN
    elif row["verdict"] == CONTRADICTED:
        agreement = DIFFERS
    return {"finding": finding, "thesis": thesis, "this_run": text, "agreement": agreement}


def final_comparison(overall: pd.DataFrame, final: list) -> dict:
    finding = "Final comparison"
    thesis = "Default's MSE below Custom's; Custom faster only because it trains on less data"
    labels = {label: name for name, label in final}
    default, custom = labels.get("Default"), labels.get("Custom")
    if not default or not custom:
        return {"finding": finding, "thesis": thesis, "this_run": "not run", "agreement": OPEN}
    mse = {k: _mean_mae(overall, v, MSE) for k, v in (("Default", default), ("Custom", custom))}
    seconds = {k: _mean_mae(overall, v, "train_seconds") for k, v in (("Default", default), ("Custom", custom))}
    if any(pd.isna(v) for v in mse.values()):
        return {"finding": finding, "thesis": thesis, "this_run": "not run", "agreement": OPEN}
    text = (f"MSE Default {mse['Default']:.4f} eV², Custom {mse['Custom']:.4f} eV²; training "
            f"{seconds['Default']:.0f} s vs {seconds['Custom']:.0f} s (equal optimizer steps)")
    return {"finding": finding, "thesis": thesis, "this_run": text,
            "agreement": AGREES if mse["Default"] < mse["Custom"] else DIFFERS}


def thesis_beside(verdicts, overall, by_size, experiments: dict, baseline: str, final: list) -> list[dict]:
    """Rows of (finding, thesis, this_run, agreement), in the thesis's order."""
    return [
        _hypothesis(verdicts, "H1", "Rare sizes (H1)", "confirmed: rarer sizes, higher loss"),
        _hypothesis(verdicts, "H2", "Rare elements (H2)", "confirmed for elements"),
        physical_hyperparameters(overall, experiments),
        balancing(verdicts, by_size, experiments, baseline),
        best_rates(by_size, experiments),
        targeted(verdicts),
        final_comparison(overall, final),
    ]


def thesis_line(rows: list[dict], target: Target = THESIS_TARGET) -> str:
    """One line for the summary: how many of the thesis's findings this run agrees with (a study of another
    property: :func:`not_compared`)."""
    if not compares(target):
        return not_compared(target)
    count = {key: sum(row["agreement"] == key for row in rows) for key in (AGREES, DIFFERS, OPEN)}
    return (f"Beside the thesis: this run agrees on {count[AGREES]} of its {len(rows)} findings, differs on "
            f"{count[DIFFERS]}, and leaves {count[OPEN]} open.")
