"""Study-wide tables: per-run metrics files gathered into one long table each."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

_RUN = re.compile(r"experiments/(?P<experiment>[^/]+)/seed(?P<seed>\d+)/")


def run_of(path) -> tuple[str, int]:
    match = _RUN.search(str(path))
    if not match:
        raise ValueError(f"{path} is not inside results/experiments/<experiment>/seed<seed>/")
    return match["experiment"], int(match["seed"])


def gather(paths, parts: dict[str, str]) -> pd.DataFrame:
    """Concatenate per-run CSVs, adding ``experiment``, ``study_part`` and ``seed`` first."""
    frames = []
    for path in paths:
        experiment, seed = run_of(path)
        frame = pd.read_csv(path)
        frame.insert(0, "seed", seed)
        frame.insert(0, "study_part", parts.get(experiment, "reference"))
        frame.insert(0, "experiment", experiment)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def add_timing(overall: pd.DataFrame, timing_paths) -> pd.DataFrame:
    """Join train and eval wall times (seconds) from each run's timing files."""
    rows = {}
    for path in timing_paths:
        key = run_of(path)
        rows.setdefault(key, {}).update(json.loads(Path(path).read_text()))
    timing = pd.DataFrame(
        [{"experiment": e, "seed": s, "train_seconds": t.get("train_seconds"), "eval_seconds": t.get("eval_seconds")}
         for (e, s), t in rows.items()]
    )
    if timing.empty:
        return overall.assign(train_seconds=float("nan"), eval_seconds=float("nan"))
    return overall.merge(timing, on=["experiment", "seed"], how="left")
