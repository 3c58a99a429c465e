"""benchmarks/gpu_check.sh, the GPU measurements in one go, run here in its tiny CPU version: the same steps
(metadata through the Snakefile, an epoch per network, recipe and precision, the tiny study through
profiles/local), ending in the lines for docs/benchmarks.md."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.workflow

SCRIPT = REPO / "benchmarks/gpu_check.sh"
TINY = {"GPU_CHECK_DEVICE": "cpu", "GPU_CHECK_MOLECULES": "1200", "GPU_CHECK_SPK_MOLECULES": "200",
        "GPU_CHECK_BATCH": "64", "GPU_CHECK_WIDTH": "8", "GPU_CHECK_INTERACTIONS": "1",
        "GPU_CHECK_STUDY_EXPERIMENTS": "baseline", "PYTHON": sys.executable}


def gpu_check(tmp_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), "--work", str(tmp_path / "work"), *args], capture_output=True,
                          text=True, timeout=900, env={**os.environ, **env}, cwd=tmp_path)


def test_the_cpu_version_measures_each_network_and_recipe_and_runs_the_tiny_study(tmp_path):
    start = time.perf_counter()
    result = gpu_check(tmp_path, TINY, "--precisions", "32 float64")
    print(result.stdout[-3000:])
    print(f"gpu_check.sh, CPU version: {time.perf_counter() - start:.0f} s")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    table = result.stdout.split("== for docs/benchmarks.md", 1)[1]
    rows = re.findall(r"^\| (SchNet|PaiNN) \| (packed|SchNetPack) \| 32 \| 64 \| ([\d,]+) \| [\d.]+ \| ([\d,]+) \|",
                      table, re.MULTILINE)
    assert {(network, recipe) for network, recipe, _, _ in rows} == {
        (n, r) for n in ("SchNet", "PaiNN") for r in ("packed", "SchNetPack")}
    assert {recipe: int(molecules.replace(",", "")) for _, recipe, molecules, _ in rows} == {
        "packed": 1000, "SchNetPack": 200}  # 1,200 molecules less the 200 held out; the database's 200
    assert all(int(rate.replace(",", "")) > 0 for *_, rate in rows)
    assert "precision float64: skipped" in result.stdout  # not a training.precision value of the schema
    study = r"^\| tiny study \(tests/workflow/tiny_study.yaml, profiles/local\) \| cpu \| \d+ s \| 1 trainings \|"
    assert re.search(study, table, re.MULTILINE)
    assert (tmp_path / "work/study/results/tiny/report/report.html").is_file()


def test_asking_for_a_gpu_where_torch_sees_none_stops_at_once_saying_so(tmp_path):
    result = gpu_check(tmp_path, {**TINY, "GPU_CHECK_DEVICE": "cuda", "CUDA_VISIBLE_DEVICES": ""})
    assert result.returncode != 0
    assert "sees no GPU" in result.stderr and "GPU_CHECK_DEVICE=cpu" in result.stderr
    assert not (tmp_path / "work/study/results").exists()
