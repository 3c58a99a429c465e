"""Shared test helpers: the repository, tiny configs and real snakemake runs."""

from __future__ import annotations

import re
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def run_snakemake(workdir: Path, overlay: dict | None = None, *args: str, check: bool = True, timeout: int = 900,
                  env: dict | None = None):
    """Run the real Snakefile with ``workdir`` as working directory.

    ``overlay`` is written to ``workdir/overlay.yaml`` and given with
    ``--configfile``; it is merged over the repository's config.yaml.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    if overlay is not None:
        (workdir / "overlay.yaml").write_text(yaml.safe_dump(overlay))
        command += ["--configfile", str(workdir / "overlay.yaml")]
    command += list(args)
    environ = None if env is None else {**os.environ, **env}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=workdir, env=environ)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


def planned_jobs(result) -> dict[str, int]:
    """Rule -> job count from the first 'Job stats' table of a (dry) run."""
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[1]
    jobs = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\S+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def base_config() -> dict:
    return yaml.safe_load((REPO / "config.yaml").read_text())
