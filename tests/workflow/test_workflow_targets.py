"""config target and model.representation through the real Snakefile at the tiny scale: the baseline trained on an
extensive energy other than U0 (G) as PaiNN, on an intensive property (the HOMO-LUMO gap) as SO3net, and on the
dipole moment (SchNetPack's DipoleMoment output) as SchNet; each evaluated, exported and reported under the
property's name and unit and the network's name. One study per pair keeps the suite's time: each pair tests both
what follows the target and what follows the network (SchNetPack's classes, the packed data path)."""

import html
import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from ase import Atoms

from tests.conftest import run_snakemake, tiny_config
from tests.workflow.schnetpack_alone import export_energies, export_outputs
from workflow_scripts import targets
from workflow_scripts.data.metadata import read_geometry
from workflow_scripts.training.model import load_model

pytestmark = pytest.mark.workflow

RUN = "experiments/baseline/seed0"  # under the study's folder, results/tiny-<target>[-<representation>]
N_MOLECULES = 8  # test molecules the export predicts again


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One working directory: each study reuses the QM9 download and metadata, and has its own folder."""
    return tmp_path_factory.mktemp("targets")


@pytest.mark.parametrize("name, representation, label", [
    ("G", "painn", "PaiNN"), ("gap", "so3net", "SO3net"), ("mu", "schnet", "SchNet"),
])
def test_a_study_of_another_target_and_network_ends_in_a_report_naming_them(workdir, tmp_path, name,
                                                                             representation, label):
    target = targets.get(name)
    folder = f"tiny-{name}" + ("" if representation == "schnet" else f"-{representation}")
    study = workdir / "results" / folder
    overlay = tiny_config("baseline", target=name, defaults={"model": {"representation": representation}})
    start = time.perf_counter()
    run_snakemake(workdir, overlay, "--cores", "2", f"results/{folder}/report/report.html")
    print(f"tiny baseline of {name} as {label}, to the report: {time.perf_counter() - start:.0f} s")

    model, settings = load_model(study / RUN / "model.pt")
    assert settings["target"] == name and target.key in model(_one_molecule(workdir))  # the output follows it
    # SchNet trains as the workflow's pair-symmetric SchNet (the same parameters), exported as SchNetPack's class
    network = "PairSymmetricSchNet" if representation == "schnet" else label
    assert type(model.representation).__name__ == network and settings["model"]["representation"] == representation
    if representation != "schnet":
        assert "implementation" not in settings["model"]  # SchNet's setting, not this run's

    predictions = pd.read_parquet(study / RUN / "predictions.parquet")
    assert list(predictions.columns[-2:]) == [target.true_column, target.pred_column]
    assert target.metric("mae") in pd.read_csv(study / RUN / "metrics_by_size.csv").columns
    assert target.metric("val_mae") in pd.read_csv(study / RUN / "val_log.csv").columns

    page = html.unescape((study / "report/report.html").read_text())
    title = re.search(r"<title>(.*?)</title>", page).group(1)
    assert title == f"QM9 {target.symbol} with {label}: error by molecule size and element"
    assert target.display_unit in page
    if target.display_unit != "meV":  # the dipole moment: no error in meV (the settings row naming the thesis's
        # property, "U0 (meV)" beside this run's, is the one place it stands; figures are base64 text)
        text = re.sub(r"<script.*?</script>|data:image/png;base64,[A-Za-z0-9+/=]+", "", page, flags=re.S)
        text = re.sub(r"<tr><td[^>]*>property \(target\)</td><td[^>]*>U0 \(meV\)</td>", "", text)
        assert "meV" not in text and "U0" not in re.sub(r"The thesis studied U0[^<]*", "", text)
    if representation != "schnet":
        assert re.search(rf"<td[^>]*>network \(model.representation\)</td><td[^>]*>SchNet</td><td[^>]*>{label}</td>",
                         page)
        assert f"Default (baseline): {label} of width" in page and "SchNet of width" not in page

    head = predictions.head(N_MOLECULES)
    molecules = _molecules(workdir, head["gdb_id"])
    info = json.loads((study / RUN / "schnetpack/model_info.json").read_text())
    assert info["representation"] == label and info["output_key"] == target.key
    assert ("ase_calculator" in info) == target.energy  # an ASE calculator for the energies only
    exported, values = (export_energies if target.energy else export_outputs)(study / RUN / "schnetpack", molecules,
                                                                              tmp_path)
    assert exported == label
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
