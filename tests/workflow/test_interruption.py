"""The whole workflow killed at random moments, run again: the same results as an uninterrupted run.

Also determinism (two clean runs give byte-identical split and subsets, the
same metrics) and that no output is ever a truncated file.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import torch

from tests.conftest import run_snakemake, snakemake_command, tiny_config

pytestmark = pytest.mark.workflow

# Two trainings, targeted long enough (about 10 s; tiny scale: 5% of the epochs) that a kill lands inside it,
# so that kills land in data, training and report jobs alike.
STUDY = tiny_config(
    "baseline", "targeted", experiments={"targeted": {"training": {"epochs": 2000, "early_stopping_patience": None}}}
)
# Byte for byte: the split and subsets. Within 1e-6 relative: metrics and predictions.
EXACT = ["results/tiny/splits/split.parquet", "results/tiny/subsets/full.parquet", "results/tiny/subsets/more_than_17.parquet"]
RUNS = ["results/tiny/experiments/baseline/seed0", "results/tiny/experiments/targeted/seed0",
        "results/tiny/experiments/linear_reference/seed0"]
CLOSE = [f"{run}/{name}" for run in RUNS for name in
         ("metrics_by_size.csv", "metrics_by_element.csv", "metrics_overall.csv", "predictions.parquet")]
KILL_SEED = 20261121


def readable(path: Path) -> None:
    """Raise if ``path`` is not a whole file of its kind."""
    suffix = path.suffix
    if suffix == ".parquet":
        pd.read_parquet(path)
    elif suffix in (".csv", ".tsv"):
        pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
    elif suffix == ".json":
        json.loads(path.read_text())
    elif suffix == ".png":
        matplotlib.image.imread(path)
    elif suffix == ".npz":
        with np.load(path) as arrays:
            [arrays[name] for name in arrays.files]
    elif suffix in (".pt", ".ckpt"):
        torch.load(path, map_location="cpu", weights_only=True)
    elif suffix == ".html":
        assert path.read_text().rstrip().endswith("</html>"), path


def outputs(workdir: Path) -> list[Path]:
    """Every file under results/ but logs and the temporaries of atomic writes."""
    return [p for p in (workdir / "results").rglob("*")
            if p.is_file() and not p.name.endswith(".tmp") and p.suffix != ".log"]


def study_command(workdir: Path, *args: str) -> list[str]:
    return snakemake_command(workdir, STUDY, "--cores", "2", *args)


def started_jobs(text: str) -> list[str]:
    """Rules of the jobs Snakemake started, in order."""
    return [line.split()[1].rstrip(":") for line in text.splitlines() if line.startswith(("rule ", "localrule "))]


def run_and_kill(workdir: Path, after: str | None, delay: float, before: str | None = None, timeout: float = 300):
    """Start the workflow; once ``after`` happened, wait ``delay`` s and SIGKILL it with every job it started.

    ``after``: None (at once), a rule (a job of it started), or a path under workdir (it exists). ``before``: a
    path under workdir that must not exist yet when the kill lands (the kill is then skipped: it would miss).
    Returns the jobs started in this run and whether the kill landed after ``after`` and before ``before``, or
    None when the workflow finished before the kill.
    """
    log = workdir / "snakemake.out"
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "a") as out:
        process = subprocess.Popen(study_command(workdir), stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # its own process group: the jobs die with it
    deadline = time.monotonic() + timeout
    def happened() -> bool:
        if after is None:
            return True
        if "/" in after:
            return (workdir / after).exists()
        return after in started_jobs(log.read_text()[offset:])

    while not happened():
        if process.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    try:
        process.wait(timeout=delay)
        return None
    except subprocess.TimeoutExpired:
        # checked just before the kill, so it held when the kill landed
        landed_after = happened() and not (before and (workdir / before).exists())
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return started_jobs(log.read_text()[offset:]), landed_after


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("uninterrupted")
    start = time.perf_counter()
    run_snakemake(workdir, STUDY, "--cores", "2")
    return workdir, time.perf_counter() - start


def test_killed_at_random_moments_and_rerun_gives_the_same_results(reference, tmp_path):
    reference_dir, duration = reference
    workdir = tmp_path / "interrupted"
    workdir.mkdir()
    rng = random.Random(KILL_SEED)
    kills = []
    # three hard kills at random moments: in the middle of a training (after its first checkpoint, before it
    # finished: the long one goes first, as tiny trainings can end before the workflow reaches a later kill), in
    # a training that has started (its log is there), among the metrics and figures
    for after, before, low, high in ((f"{RUNS[1]}/checkpoints/last.ckpt", f"{RUNS[1]}/timing.json", 0.0, 1.0),
                                     (f"{RUNS[0]}/train.log", None, 0.0, 1.0),
                                     ("stratum_metrics", None, 0.0, 3.0)):
        delay = rng.uniform(low, high)
        killed = run_and_kill(workdir, after, delay, before)
        assert killed is not None, f"the study finished before the kill {delay:.1f} s after {after}"
        started, landed = killed
        # each kill lands where it is meant to: the training's log (or checkpoint) existed and the training had not
        # finished, the rule had started
        assert landed, f"the kill {delay:.1f} s after {after} missed (before {before}; jobs started: {started})"
        kills.append(f"{delay:.1f} s after {after} (jobs started: {', '.join(started)})")
        for path in outputs(workdir):  # nothing a kill leaves behind is a truncated file
            readable(path)
        # a hard kill leaves Snakemake's lock: the user is told to unlock once
        subprocess.run(study_command(workdir, "--unlock"), check=True, capture_output=True)
    run_snakemake(workdir, STUDY, "--cores", "2")
    print(f"killed {'; '.join(kills)}; then finished. The uninterrupted run took {duration:.0f} s")
    # the cut-off training went on from its checkpoint
    assert json.loads((workdir / RUNS[1] / "timing.json").read_text())["resumed"] is True
    compare(reference_dir, workdir)
    for path in outputs(workdir):
        readable(path)


def test_two_clean_runs_are_identical(reference, tmp_path):
    reference_dir, _ = reference
    targets = EXACT + CLOSE
    run_snakemake(tmp_path, STUDY, "--cores", "2", *targets)
    compare(reference_dir, tmp_path)


def compare(expected: Path, actual: Path) -> None:
    for name in EXACT:
        assert (actual / name).read_bytes() == (expected / name).read_bytes(), name
    for name in CLOSE:
        read = pd.read_parquet if name.endswith(".parquet") else pd.read_csv
        pd.testing.assert_frame_equal(read(actual / name), read(expected / name), rtol=1e-6, check_exact=False,
                                      obj=name)
