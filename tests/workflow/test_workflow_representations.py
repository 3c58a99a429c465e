"""model.representation through the real Snakefile at the tiny scale: the baseline trained as PaiNN and as SO3net
(SchNetPack's classes, the packed data path), evaluated, exported and reported under the network's name."""

import html
import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

from tests.conftest import run_snakemake, tiny_config
from tests.workflow.schnetpack_alone import export_energies
from workflow_scripts.data.metadata import read_geometry
from workflow_scripts.training.model import load_model

pytestmark = pytest.mark.workflow

RUN = "experiments/baseline/seed0"  # under the study's folder, results/tiny-<representation>
N_MOLECULES = 8  # test molecules the export predicts again


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One working directory: the second representation reuses the data stage and trains again."""
    return tmp_path_factory.mktemp("representations")


@pytest.mark.parametrize("representation, label", [("painn", "PaiNN"), ("so3net", "SO3net")])
def test_the_baseline_as_another_representation_ends_in_a_report_naming_it(workdir, tmp_path, representation, label):
    overlay = tiny_config("baseline", defaults={"model": {"representation": representation}})
    start = time.perf_counter()
    study = workdir / f"results/tiny-{representation}"
    run_snakemake(workdir, overlay, "--cores", "2", f"results/tiny-{representation}/report/report.html")
    print(f"tiny baseline as {label}, to the report: {time.perf_counter() - start:.0f} s")

    model, settings = load_model(study / RUN / "model.pt")
    assert type(model.representation).__name__ == label and settings["model"]["representation"] == representation
    assert "implementation" not in settings["model"]  # SchNet's setting, not this run's

    page = (study / "report/report.html").read_text()
    assert f"<title>QM9 U0 with {label}: error by molecule size and element</title>" in page
    assert f"{label} (SchNetPack 2) trained on U0" in page
    assert re.search(rf"<td[^>]*>network \(model.representation\)</td><td[^>]*>SchNet</td><td[^>]*>{label}</td>", page)
    assert f"Default (baseline): {html.escape(label)} of width" in page
    assert "SchNet of width" not in page

    predictions = pd.read_parquet(study / RUN / "predictions.parquet").head(N_MOLECULES)
    ids, n_atoms, numbers, positions = read_geometry(workdir / "results/data/qm9.parquet", predictions["gdb_id"])
    start_atom = np.concatenate([[0], np.cumsum(n_atoms)])
    molecules = [Atoms(numbers=numbers[a:b], positions=positions[a:b]) for a, b in zip(start_atom[:-1], start_atom[1:])]
    exported, energies = export_energies(study / RUN / "schnetpack", molecules, tmp_path)
    assert exported == json.loads((study / RUN / "schnetpack/model_info.json").read_text())["representation"] == label
    assert np.abs(energies - predictions["U0_pred_eV"].to_numpy()).max() < 1e-5
