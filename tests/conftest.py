"""Shared test helpers: the repository, tiny configs and real snakemake runs."""

from __future__ import annotations

import re
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
TINY_STUDY_FILE = REPO / "tests/workflow/tiny_study.yaml"


def tiny_config(*experiments: str, **keys) -> dict:
    """The tiny study (tests/workflow/tiny_study.yaml), cut to ``experiments`` if given, with ``keys`` set on top."""
    config = yaml.safe_load(TINY_STUDY_FILE.read_text())
    if experiments:
        config["only_experiments"] = list(experiments)
    return {**config, **keys}


def snakemake_command(workdir: Path, overlay: dict | None = None, *args: str) -> list[str]:
    """The command that runs the real Snakefile in ``workdir``.

    ``overlay`` is written to ``workdir/overlay.yaml`` and given with
    ``--configfile``; it is merged over the repository's config.yaml.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(workdir)]
    if overlay is not None:
        (workdir / "overlay.yaml").write_text(yaml.safe_dump(overlay))
        command += ["--configfile", str(workdir / "overlay.yaml")]
    return command + list(args)


def run_snakemake(workdir: Path, overlay: dict | None = None, *args: str, check: bool = True, timeout: int = 900,
                  env: dict | None = None):
    """Run the real Snakefile with ``workdir`` as working directory (see snakemake_command)."""
    command = snakemake_command(workdir, overlay, *args)
    environ = None if env is None else {**os.environ, **env}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=workdir, env=environ)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result


def tiny_pool(root: Path, max_molecules: int, pool_size: int):
    """Metadata of the first molecules, a split of ``pool_size`` of them, SchNetPack's database and the packed store.

    Returns the split, the pool indices of train/val/test and the store.
    """
    from workflow_scripts.training.atoms_database import build_database
    from workflow_scripts.data.metadata import read_metadata, write_metadata
    from workflow_scripts.training.packed_data import build_store
    from workflow_scripts.data.qm9_qm9pack import read_qm9pack
    from workflow_scripts.data.splits import make_split

    write_metadata(read_qm9pack(max_molecules=max_molecules), root / "qm9.parquet")
    split = make_split(read_metadata(root / "qm9.parquet"), pool_size, 0.2, 0.2, seed=0)
    build_database(root / "qm9.parquet", split, root / "pool.db")
    store = build_store(root / "qm9.parquet", split["gdb_id"].to_numpy(), root / "pool.npz")
    idx = {s: np.flatnonzero(split["split"].to_numpy() == s) for s in ("train", "val", "test")}
    return split, idx, store


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
