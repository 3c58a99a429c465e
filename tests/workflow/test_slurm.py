"""The study on a real SLURM cluster: profiles/slurm end to end, a failing job, a cancelled training that resumes.

tools/slurm_cluster.sh runs a one-node cluster on this machine (Debian's Slurm
and munge; needs root). These tests are skipped only when that script reports
that no cluster can run here (exit status 3: not root, or the packages cannot
be installed); any other start-up failure is an error.

The node offers one stand-in GPU (a GRES with /dev/null as its device), so
profiles/slurm runs unchanged: every training asks for --gpus=1 as on a GPU
cluster, SLURM runs one at a time, and training runs on the CPU.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import REPO, planned_jobs, run_snakemake, snakemake_command, tiny_config
from workflow_scripts.config.experiments import expand_experiments
from workflow_scripts.config.slurm_runtime import training_runtime_minutes

pytestmark = pytest.mark.workflow

SCRIPT = REPO / "tools" / "slurm_cluster.sh"
PROFILE = REPO / "profiles" / "slurm"
STATE = Path(os.environ.get("SLURM_STATE", "/tmp/qm9-slurm"))
CANNOT_RUN_HERE = 3  # tools/slurm_cluster.sh start: not root, or no packages

TINY = tiny_config("baseline", "targeted")
RUN = "results/tiny/experiments/{}/seed0"
TRAIN_OUTPUTS = ["model.pt", "train_log.csv", "val_log.csv", "timing.json", "predictions.parquet"]
COMPARED = ["results/tiny/splits/split.parquet"] + [
    f"{RUN.format(e)}/metrics_overall.csv" for e in ("baseline", "targeted", "linear_reference")
]
# What a SLURM run submits; every other rule is a localrule (Snakefile)
SUBMITTED_RULES = {"train", "packed_store", "atoms_database", "qm9_metadata"}
SUBMITTED = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\d+) \(log: (\S+)\)\.")


def slurm_args(*extra: str) -> list[str]:
    """profiles/slurm as it is, with the first status check 2 s after a submission instead of 20 s.

    The tiny jobs take 5 to 15 s; the plugin adds 10 s to the interval after
    every check that finds nothing finished, so a wave of jobs costs about 14 s.
    squeue stays valid for it: the test cluster's MinJobAge (600 s) is over 3 x 2 s.
    """
    return ["--profile", str(PROFILE), "--slurm-init-seconds-before-status-checks", "2", *extra]


# ---- the cluster ----------------------------------------------------------------


@contextlib.contextmanager
def sessions_lock():
    STATE.mkdir(parents=True, exist_ok=True)
    with open(STATE / "test-sessions.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def slurm_cluster():
    """The cluster of tools/slurm_cluster.sh, started if needed and shared with concurrent test sessions.

    The last test session out stops it, and only when a test session started it.
    """
    if os.geteuid() != 0:  # tools/slurm_cluster.sh start says the same (exit status 3)
        pytest.skip("no SLURM cluster on this machine: tools/slurm_cluster.sh start needs root")
    sessions = STATE / "test-sessions"
    marker = STATE / "started-by-tests"
    with sessions_lock():
        was_running = subprocess.run([str(SCRIPT), "status"], check=False, capture_output=True).returncode == 0
        start = subprocess.run([str(SCRIPT), "start"], check=False, capture_output=True, text=True, timeout=900)
        if start.returncode == CANNOT_RUN_HERE:
            pytest.skip(f"no SLURM cluster on this machine: {start.stderr.strip().splitlines()[-1]}")
        assert start.returncode == 0, f"tools/slurm_cluster.sh start failed:\n{start.stdout}\n{start.stderr}"
        if not was_running:
            marker.touch()
        sessions.mkdir(exist_ok=True)
        (sessions / str(os.getpid())).touch()
    yield
    with sessions_lock():
        (sessions / str(os.getpid())).unlink(missing_ok=True)
        others = []
        for session in sessions.iterdir():
            if _alive(int(session.name)):
                others.append(session)
            else:  # a session that ended without teardown
                session.unlink()
        if not others and marker.exists():
            subprocess.run([str(SCRIPT), "stop"], check=True, capture_output=True, timeout=300)
            marker.unlink()


# ---- helpers ----------------------------------------------------------------------


def submissions(text: str) -> list[SimpleNamespace]:
    """Every SLURM submission Snakemake reported: rule, wildcards folder, SLURM job id, SLURM log."""
    found = []
    for _, slurm_id, log in SUBMITTED.findall(text):
        parts = Path(log).parts
        at = parts.index("slurm_logs")
        found.append(SimpleNamespace(rule=parts[at + 1].removeprefix("rule_"),
                                     wildcards=parts[at + 2] if len(parts) > at + 3 else "",
                                     jobid=slurm_id, log=Path(log)))
    return found


def slurm_job(jobid: str) -> dict[str, str]:
    """`scontrol show job` of a job that ended less than MinJobAge (600 s) ago."""
    shown = subprocess.run(["scontrol", "show", "job", "-d", "-o", jobid], capture_output=True, text=True, check=True)
    return dict(re.findall(r"(\w+)=(\S*)", shown.stdout))


def tiny_runtime(experiment: str) -> int:
    config = {**yaml.safe_load((REPO / "config.yaml").read_text()), **TINY}
    [settings] = [e for e in expand_experiments(config) if e["name"] == experiment]
    return training_runtime_minutes(config, settings)


def output(result) -> str:
    return result.stdout + result.stderr


def error_blocks(text: str, rule: str) -> list[str]:
    """The 'Error in rule <rule>:' reports of a run (message, jobid, log paths)."""
    return re.findall(rf"Error in rule {rule}:\n((?:    .*\n)+)", text)


def train_profile() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())["set-resources"]["train"]


def copy_study(study, tmp_path: Path) -> Path:
    """A copy of the finished SLURM study (file times kept): later runs add to it."""
    workdir = tmp_path / "study"
    shutil.copytree(study.dir, workdir, symlinks=True)
    return workdir


def start_snakemake(workdir: Path, overlay: dict, *args: str) -> tuple[subprocess.Popen, Path]:
    """run_snakemake (tests/conftest.py) in the background; its output goes to workdir/snakemake.out."""
    out = workdir / "snakemake.out"
    with open(out, "w") as handle:
        process = subprocess.Popen(snakemake_command(workdir, overlay, *args), stdout=handle,
                                   stderr=subprocess.STDOUT, cwd=workdir)
    return process, out


# ---- the profile without a cluster ---------------------------------------------------


def test_profile_parses_and_asks_a_gpu_for_training_only(tmp_path):
    result = run_snakemake(tmp_path, TINY, "--profile", str(PROFILE), "-n")
    text = output(result)
    # profiles/default comes along as the workflow profile (next to the Snakefile)
    assert f"Using profiles {PROFILE} and workflow specific profile {REPO / 'profiles/default'}" in text
    resources = dict(re.findall(r"\nrule (\w+):\n(?:    .*\n)*?    resources: (.*)\n", text))
    profile = yaml.safe_load((PROFILE / "config.yaml").read_text())
    for rule, asked in [("train", profile["set-resources"]["train"]), ("split", profile["default-resources"])]:
        for name in ("gpu", "cpus_per_gpu", "mem_mb", "runtime"):
            if name in asked:
                assert f"{name}={asked[name]}" in resources[rule].split(", "), (rule, name)
    assert all("gpu" not in r for rule, r in resources.items() if rule != "train")


def test_slurm_is_a_profile_name_in_the_repository_root(tmp_path):
    """`snakemake --profile slurm` typed in the repository root (./slurm links to profiles/slurm)."""
    for flag in ("--profile", "--workflow-profile"):
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", flag, "slurm", "--directory", str(tmp_path), "-n",
             "--config", "scale=tiny", "only_experiments=['baseline']"],
            check=False, capture_output=True, text=True, cwd=REPO, timeout=300,
        )
        assert result.returncode == 0, output(result)[-3000:]
        assert planned_jobs(result)["train"] == 1


# ---- the tiny study through SLURM ---------------------------------------------------------


@pytest.fixture(scope="module")
def study(slurm_cluster, tmp_path_factory):
    """The tiny study through profiles/slurm; beside it, the files it is compared with from a local run."""
    workdir = tmp_path_factory.mktemp("slurm_study")
    local = tmp_path_factory.mktemp("local_study")
    start = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        # The SLURM run mostly waits between its status checks: the local run fits in.
        local_run = pool.submit(run_snakemake, local, TINY, "--cores", "2", *COMPARED)
        result = run_snakemake(workdir, TINY, *slurm_args("--slurm-keep-successful-logs"))
        local_run.result()
    print(f"tiny study through SLURM (and locally beside it): {time.perf_counter() - start:.0f} s")
    return SimpleNamespace(dir=workdir, local=local, result=result)


def test_only_trainings_and_the_pool_went_through_sbatch(study):
    """The light rules (localrules: in the Snakefile) run inside Snakemake: no wait in the queue for them."""
    planned = planned_jobs(study.result)
    submitted = submissions(output(study.result))
    by_rule = pd.Series([s.rule for s in submitted]).value_counts().to_dict()
    assert by_rule == {rule: n for rule, n in planned.items() if rule in SUBMITTED_RULES}
    assert by_rule["train"] == 2
    assert len({s.jobid for s in submitted}) == len(submitted)
    ran_here = pd.Series(re.findall(r"^localrule (\w+):", output(study.result), re.MULTILINE)).value_counts()
    assert ran_here.to_dict() == {rule: n for rule, n in planned.items() if rule not in SUBMITTED_RULES}
    assert (study.dir / "results/tiny/report/report.html").exists()


def test_every_rule_is_submitted_or_local():
    """The Snakefile's localrules are every rule but SUBMITTED_RULES, and name no rule that does not exist."""
    listed = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--list-rules"],
                            capture_output=True, text=True, check=True, cwd=REPO, timeout=300)
    rules = set(re.findall(r"^(\w+)$", listed.stdout, re.MULTILINE))
    block = re.search(r"^localrules:\n((?:    \w+,\n)+)", (REPO / "Snakefile").read_text(), re.MULTILINE)
    local = set(re.findall(r"(\w+),", block.group(1)))
    assert local <= rules and rules - local == SUBMITTED_RULES


def test_each_training_was_its_own_gpu_job(study):
    trainings = [s for s in submissions(output(study.result)) if s.rule == "train"]
    profile = train_profile()
    assert sorted(s.wildcards for s in trainings) == ["baseline_0", "targeted_0"]
    for s in trainings:
        job = slurm_job(s.jobid)
        assert job["JobState"] == "COMPLETED"
        assert job["Comment"] == f"rule_train_wildcards_{s.wildcards}"
        assert job["TresPerJob"] == f"gres:gpu:{profile['gpu']}"
        assert job["CpusPerTres"] == f"gres:gpu:{profile['cpus_per_gpu']}"
        assert job["MinMemoryNode"] == f"{profile['mem_mb']}M"
        experiment = s.wildcards.rsplit("_", 1)[0]
        # the wall time rule train derives from the scale (first attempt); SLURM writes [days-]hours:minutes:seconds
        days, minutes = divmod(tiny_runtime(experiment), 24 * 60)
        assert job["TimeLimit"] == (f"{days}-" if days else "") + f"{minutes // 60:02d}:{minutes % 60:02d}:00"
        assert f"wildcards: experiment={experiment}, seed=0" in s.log.read_text()  # the job's own log


def test_results_equal_a_local_run(study):
    split = "results/tiny/splits/split.parquet"
    assert (study.dir / split).read_bytes() == (study.local / split).read_bytes()
    for name in COMPARED[1:]:
        on_slurm, local = pd.read_csv(study.dir / name), pd.read_csv(study.local / name)
        assert list(on_slurm["group"]) == list(local["group"]) and list(on_slurm["count"]) == list(local["count"])
        numeric = on_slurm.select_dtypes("number").columns
        np.testing.assert_allclose(on_slurm[numeric], local[numeric], rtol=1e-6, atol=0, err_msg=name)


# ---- a failing training job -------------------------------------------------------------

# The broken experiment asks for a batch of 65,536 molecules: valid in the
# schema, but at the tiny scale one batch (4,096) holds more than the 280
# training molecules, and the training job checks that as it starts and
# fails. The same in every attempt, whatever the machine: a deterministic
# failure at training time. hp_lr-0.0001 trains in the same run.
BROKEN = {
    **TINY,
    "only_experiments": [*TINY["only_experiments"], "broken", "hp_lr-0.0001"],
    "experiments": {"broken": {"part": "extra", "training": {"batch_size": 65536}}},
}


def test_a_failing_training_is_retried_reported_and_cleaned_up(study, tmp_path):
    workdir = copy_study(study, tmp_path)
    targets = [f"{RUN.format(e)}/metrics_overall.csv" for e in ("broken", "hp_lr-0.0001")]
    result = run_snakemake(workdir, BROKEN, *slurm_args("--keep-going"), *targets, check=False)
    text = output(result)
    assert result.returncode != 0
    broken = [s for s in submissions(text) if s.rule == "train" and s.wildcards == "broken_0"]
    # retried as the profile says (retries: 1): two SLURM jobs, both failed
    assert len(broken) == 2 and "Trying to restart job" in text, text[-4000:]
    reports = "".join(error_blocks(text, "train"))
    for s in broken:
        assert slurm_job(s.jobid)["JobState"] == "FAILED"
        assert str(s.log) in reports  # Snakemake names the failed job's SLURM log ...
        assert "batch_size" in s.log.read_text()  # ... which is kept and says why
    assert f"{RUN.format('broken')}/train.log" in reports  # and the rule's own log
    # nothing half-written is left of the failed job
    run = workdir / RUN.format("broken")
    assert not [name for name in TRAIN_OUTPUTS + ["metrics_overall.csv"] if (run / name).exists()]
    assert not list(run.rglob(".*.tmp"))
    # the other experiments are intact: the one trained beside it, and those from before
    assert (workdir / targets[1]).exists()
    for experiment in TINY["only_experiments"]:
        for name in TRAIN_OUTPUTS + ["metrics_overall.csv"]:
            path = f"{RUN.format(experiment)}/{name}"
            assert (workdir / path).read_bytes() == (study.dir / path).read_bytes(), path


# ---- a training cancelled mid-way, then resumed --------------------------------------------

# 200 epochs times the tiny scale's epochs_factor (0.05): 10 epochs, without
# early stopping or learning-rate changes; it is cancelled as soon as its first
# checkpoint (end of epoch 1) exists.
LONG_EPOCHS = max(1, round(200 * yaml.safe_load((REPO / "config.yaml").read_text())["scales"]["tiny"]["epochs_factor"]))
LONG = {
    **TINY,
    "only_experiments": [*TINY["only_experiments"], "long"],
    "experiments": {"long": {"part": "extra",
                             "training": {"epochs": 200, "early_stopping_patience": None, "scheduler": None}}},
}


def test_a_cancelled_training_resumes_from_its_checkpoint(study, tmp_path):
    assert LONG_EPOCHS >= 3, "the cancelled training needs epochs left after its first checkpoint"
    workdir = copy_study(study, tmp_path)
    run = workdir / RUN.format("long")
    target = f"{RUN.format('long')}/timing.json"
    # --retries 0: the cancelled job is not resubmitted in this run; the next run resumes it
    process, out = start_snakemake(workdir, LONG, *slurm_args("--retries", "0"), target)
    try:
        deadline = time.monotonic() + 240
        jobid = None
        while time.monotonic() < deadline and process.poll() is None:
            found = [s for s in submissions(out.read_text()) if s.rule == "train"]
            if found and (run / "checkpoints/last.ckpt").exists():
                jobid = found[0].jobid
                break
            time.sleep(0.1)
        assert jobid, f"no checkpoint of a running training job:\n{out.read_text()[-4000:]}"
        subprocess.run(["scancel", jobid], check=True)
        assert process.wait(timeout=300) != 0
    finally:
        if process.poll() is None:
            process.kill()
    text = out.read_text()
    assert f"SLURM-job '{jobid}' failed, SLURM status is: 'CANCELLED'" in text, text[-4000:]
    assert not [name for name in TRAIN_OUTPUTS if (run / name).exists()]
    steps_before = len(pd.read_csv(run / "checkpoints/train_log.csv"))

    result = run_snakemake(workdir, LONG, *slurm_args(), target)
    timing = json.loads((run / "timing.json").read_text())
    assert timing["resumed"] is True and timing["epochs_run"] == LONG_EPOCHS
    train_log = pd.read_csv(run / "train_log.csv")
    # the curve goes on where the cancelled job stopped: every step once, in order
    assert 0 < steps_before < timing["steps"]
    twice = sorted(set(train_log.loc[train_log["step"].duplicated(), "step"]))
    assert not twice, (
        f"steps {twice} logged twice: the resumed run kept the rows logged after its checkpoint "
        "(the rest of the epoch that SIGTERM cut off) and then trained those steps again"
    )
    assert list(train_log["step"]) == list(range(1, timing["steps"] + 1))
    assert list(pd.read_csv(run / "val_log.csv")["epoch"]) == list(range(LONG_EPOCHS))
    [resumed] = [s for s in submissions(output(result)) if s.rule == "train"]
    assert slurm_job(resumed.jobid)["JobState"] == "COMPLETED"
