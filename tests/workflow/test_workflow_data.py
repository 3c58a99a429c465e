"""The real Snakefile on a small config: data stage, analysis, caching, linting."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.conftest import REPO, planned_jobs, run_snakemake

pytestmark = pytest.mark.workflow
# the quick scale's extra test molecules need more of QM9 than 400: the pool's test part alone
SMALL = {"data": {"max_molecules": 400}, "scales": {"quick": {"test_size": None}}}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("data_stage")
    run_snakemake(path, SMALL, "--cores", "2", "results/data/qm9.parquet", "results/analysis/size_histogram.png",
                  "results/analysis/element_size_heatmap.png")
    return path


def test_outputs(workdir):
    table = pq.read_table(workdir / "results/data/qm9.parquet")
    assert table.num_rows == 400
    assert table["gdb_id"].to_pylist()[:3] == [1, 2, 3]
    freq = pd.read_csv(workdir / "results/analysis/element_frequency.csv")
    assert freq["element"].tolist() == ["H", "C", "N", "O", "F"]
    assert freq["molecules"].sum() > 400
    hist = pd.read_csv(workdir / "results/analysis/size_histogram.csv")
    assert hist["molecules"].sum() == 400
    for png in ["size_histogram.png", "element_size_heatmap.png"]:
        assert (workdir / "results/analysis" / png).read_bytes()[:4] == b"\x89PNG"
    for rule in ["qm9_metadata", "dataset_counts", "plot_dataset"]:
        assert (workdir / f"results/logs/{rule}.log").stat().st_size > 0
        assert (workdir / f"results/benchmarks/{rule}.tsv").exists()


def test_second_run_has_nothing_to_do(workdir):
    result = run_snakemake(workdir, SMALL, "-n", "results/data/qm9.parquet", "results/analysis/size_histogram.png")
    assert planned_jobs(result) == {}


def test_plot_setting_reruns_only_the_plots(workdir):
    result = run_snakemake(workdir, {**SMALL, "plots": {"dpi": 110}}, "-n", "results/analysis/size_histogram.png",
                           "results/analysis/element_size_heatmap.png", "results/analysis/element_frequency.csv")
    assert planned_jobs(result) == {"plot_dataset": 1}


def test_data_setting_reruns_the_data_stage(workdir):
    result = run_snakemake(workdir, {**SMALL, "data": {"max_molecules": 500}}, "-n",
                           "results/analysis/size_histogram.png")
    assert planned_jobs(result) == {"qm9_metadata": 1, "dataset_counts": 1, "plot_dataset": 1}


def test_lint_reports_nothing():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_rule_declares_its_log_and_benchmark():
    """Each job's log and its time and memory land under results/ (rule all only collects targets)."""
    lacking = []
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for rule in re.split(r"\n(?=rule )", smk.read_text())[1:]:
            if "    log:\n" not in rule or "    benchmark:\n" not in rule:
                lacking.append(f"{smk.name}: {rule.splitlines()[0]}")
    assert not lacking


def test_snakemake_files_are_formatted():
    snakefmt = shutil.which("snakefmt", path=str(Path(sys.executable).parent)) or shutil.which("snakefmt")
    files = [str(REPO / "Snakefile"), *map(str, sorted((REPO / "rules").glob("*.smk")))]
    result = subprocess.run([snakefmt, "--check", *files], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
