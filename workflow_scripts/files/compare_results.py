"""Two results folders compared: is a refactor (or a resumed run) still the same study?

The split and the training subsets decide which molecules every experiment
sees, so they must match byte for byte. Numbers the networks produce
(predictions, per-stratum metrics, study tables) must match within a relative
tolerance: the same arithmetic in another process order can move the last bits.

    python -m workflow_scripts.files.compare_results BEFORE/results AFTER/results

prints one line per compared file and exits 1 if any differs or is missing, or
if neither folder holds a study's files. Either folder may be a whole
``results/`` (every study folder in it, ``quick/``, ``thesis/``, a
cross-study's, is compared) or one study's folder (``results/quick``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

EXACT = ("splits/*.parquet", "subsets/*.parquet", "subsets/*.csv")
CLOSE = (
    "experiments/*/seed*/predictions.parquet",
    "experiments/*/seed*/metrics_*.csv",
    "tables/*.csv",
)
# Wall times differ from run to run on any machine: not part of the study's answer.
WALL_TIME_MARKS = ("seconds", "time (")


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def frame_difference(before: pd.DataFrame, after: pd.DataFrame, rtol: float) -> str | None:
    """None if the frames agree (numbers within ``rtol`` relative, wall times skipped), else what differs."""
    if list(before.columns) != list(after.columns):
        return f"columns {list(before.columns)} != {list(after.columns)}"
    if len(before) != len(after):
        return f"{len(before)} rows != {len(after)} rows"
    for column in before.columns:
        if any(mark in column for mark in WALL_TIME_MARKS):
            continue
        a, b = before[column], after[column]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
            # atol 0: a value that is exactly 0 on one side must be 0 on the other
            same = np.isclose(x, y, rtol=rtol, atol=0.0) | (np.isnan(x) & np.isnan(y))
            if not same.all():
                worst = np.nanmax(np.abs(x - y) / np.maximum(np.abs(y), np.finfo(float).tiny))
                return f"column {column}: {int((~same).sum())} values differ (largest relative {worst:.3g})"
        elif not a.astype(str).equals(b.astype(str)):
            return f"column {column}: {int((a.astype(str) != b.astype(str)).sum())} values differ"
    return None


def compare_results(before: Path, after: Path, rtol: float = 1e-6) -> list[tuple[str, str]]:
    """(file relative to the folders, "same" / "identical" or what differs) for every compared file."""
    before, after = Path(before), Path(after)
    # one walk per folder; a pattern matches from the right, so a results root and one study's folder both work
    walked = {d: [p for p in d.rglob("*") if p.is_file()] for d in (before, after)}
    outcome = []
    for patterns, exact in ((EXACT, True), (CLOSE, False)):
        names = sorted({p.relative_to(d).as_posix() for d, files in walked.items() for p in files
                        if any(p.match(pat) for pat in patterns)})
        for name in names:
            a, b = before / name, after / name
            if not (a.exists() and b.exists()):
                outcome.append((name, f"missing in {before if not a.exists() else after}"))
            elif exact:
                outcome.append((name, "identical" if a.read_bytes() == b.read_bytes() else "bytes differ"))
            else:
                outcome.append((name, frame_difference(_read(a), _read(b), rtol) or f"same within {rtol:g}"))
    return outcome


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(next(line.strip() for line in __doc__.splitlines() if "python -m" in line), file=sys.stderr)
        return 2
    outcome = compare_results(Path(argv[0]), Path(argv[1]))
    if not outcome:
        print(f"no split, subset, prediction, metric or table file under {argv[0]} or {argv[1]}: give two results "
              "folders (results/) or two study folders (results/quick) that a study has run in", file=sys.stderr)
        return 1
    bad = [(n, r) for n, r in outcome if not (r == "identical" or r.startswith("same within"))]
    for name, result in outcome:
        print(f"{result:<24} {name}" if (name, result) not in bad else f"DIFFERS  {name}: {result}")
    exact = sum(r == "identical" for _, r in outcome)
    print(f"{len(outcome)} files: {exact} byte-identical, {len(outcome) - exact - len(bad)} within tolerance, "
          f"{len(bad)} differ or missing")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
