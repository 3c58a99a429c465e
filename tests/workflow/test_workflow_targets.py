"""config target through the real Snakefile at the tiny scale: the baseline trained on an extensive energy other
than U0 (G), an intensive one (the HOMO-LUMO gap) and the dipole moment (SchNetPack's DipoleMoment output), each
evaluated, exported and reported under the property's name and unit."""

import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

from tests.conftest import run_snakemake, tiny_config
from tests.workflow.schnetpack_alone import export_outputs
from workflow_scripts import targets
from workflow_scripts.data.metadata import read_geometry
from workflow_scripts.training.model import load_model

pytestmark = pytest.mark.workflow

RUN = "experiments/baseline/seed0"  # under the study's folder, results/tiny-<target>
N_MOLECULES = 8  # test molecules the export predicts again


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One working directory: each target reuses the QM9 download and metadata, and has its own study folder."""
    return tmp_path_factory.mktemp("targets")


@pytest.mark.parametrize("name", ["G", "gap", "mu"])
def test_the_baseline_of_another_target_ends_in_a_report_naming_it(workdir, tmp_path, name):
    target = targets.get(name)
    start = time.perf_counter()
    study = workdir / f"results/tiny-{name}"
    run_snakemake(workdir, tiny_config("baseline", target=name), "--cores", "2", f"results/tiny-{name}/report/report.html")
    print(f"tiny baseline of {name}, to the report: {time.perf_counter() - start:.0f} s")

    model, settings = load_model(study / RUN / "model.pt")
    assert settings["target"] == name and target.key in model(_one_molecule(workdir))  # the output follows it

    predictions = pd.read_parquet(study / RUN / "predictions.parquet")
    assert list(predictions.columns[-2:]) == [target.true_column, target.pred_column]
    by_size = pd.read_csv(study / RUN / "metrics_by_size.csv")
    assert target.metric("mae") in by_size.columns
    val = pd.read_csv(study / RUN / "val_log.csv")
    assert target.metric("val_mae") in val.columns

    page = (study / "report/report.html").read_text()
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert f"QM9 {target.symbol}" in title
    assert target.display_unit in page
    if target.display_unit != "meV":  # the dipole moment: nothing in meV, nothing about U0's numbers
        assert "meV" not in re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert "U0" not in title

    head = predictions.head(N_MOLECULES)
    exported, values = export_outputs(study / RUN / "schnetpack", _molecules(workdir, head["gdb_id"]), tmp_path)
    info = json.loads((study / RUN / "schnetpack/model_info.json").read_text())
    assert exported == "SchNet" and info["output_key"] == target.key and ("ase_calculator" in info) == target.energy
    assert np.abs(values - head[target.pred_column].to_numpy()).max() < 1e-5 * max(1.0, np.abs(values).max())


def _molecules(workdir, gdb_ids) -> list[Atoms]:
    ids, n_atoms, numbers, positions = read_geometry(workdir / "results/data/qm9.parquet", gdb_ids)
    start = np.concatenate([[0], np.cumsum(n_atoms)])
    return [Atoms(numbers=numbers[a:b], positions=positions[a:b]) for a, b in zip(start[:-1], start[1:])]


def _one_molecule(workdir) -> dict:
    """One QM9 molecule as SchNetPack's input dict."""
    import schnetpack as spk
    import schnetpack.transform as trn
    import torch

    gdb_id = pd.read_parquet(workdir / "results/data/qm9.parquet", columns=["gdb_id"])["gdb_id"].iloc[:1]
    converter = spk.interfaces.AtomsConverter(neighbor_list=trn.ASENeighborList(cutoff=5.0), dtype=torch.float32)
    return converter(_molecules(workdir, gdb_id))
