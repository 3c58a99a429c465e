"""Exported models: SchNetPack's ASE calculator and spkpredict give the workflow's own predictions."""

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from ase import Atoms
from torch import nn

import schnetpack as spk
import schnetpack.transform as trn

from tests.conftest import tiny_pool
from tests.unit.tiny_training import FITTED, SETTINGS, with_representation
from workflow_scripts.training import linear_reference
from workflow_scripts.training import pipelines
from workflow_scripts.properties import U0
from workflow_scripts.training.export import check_portable, export_model
from workflow_scripts.training.loop import train
from workflow_scripts.training.model import load_model

# The two energy references, the two data paths, and a neighbor list shorter than the model's cutoff; PaiNN and
# SO3net on one data path and energy reference each; a bf16-mixed
# training (exported and predicted in float32).
MODELS = {
    "qm9_atoms": SETTINGS,
    "fitted": {**FITTED, "model": {**FITTED["model"], "data_cutoff": 3.5, "model_cutoff": 4.5}},
    "painn": {**FITTED, "model": with_representation(FITTED["model"], "painn")},
    "so3net": {**SETTINGS, "model": with_representation(SETTINGS["model"], "so3net")},
    "bf16-mixed": {**FITTED, "training": {**FITTED["training"], "precision": "bf16-mixed"}},
}
EXPECTED_CLASS = {"painn": "PaiNN", "so3net": "SO3net"}  # the rest: SchNet
TOLERANCE_EV = 1e-5


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each model trained, predicted the workflow's way (its data path and neighbor list), and exported."""
    root = tmp_path_factory.mktemp("export")
    split, idx, store = tiny_pool(root, max_molecules=3000, pool_size=150)
    energies = pd.read_parquet(root / "qm9.parquet", columns=["gdb_id", "U0"])
    reference = linear_reference.fit(split.iloc[idx["train"]].merge(energies, on="gdb_id"), intercept=False)
    runs = {}
    for name, settings in MODELS.items():
        fitted = settings["model"]["energy_reference"] == "fitted"
        atomref = linear_reference.atom_energies_by_number(reference) if fitted else None
        data = pipelines.pool_file(settings["training"], root / "pool.npz", root / "pool.db")
        out = root / name
        train(data, idx, np.ones(len(split)), settings, seed=0, out_dir=out, progress_bar=False, atomref=atomref,
              n_training_set=len(idx["train"]))
        model, saved = load_model(out / "model.pt")
        workflow = pipelines.predict(model, saved, data, idx["test"])
        export_model(model, saved, 0, out / "schnetpack/best_model", out / "schnetpack/model_info.json")
        runs[name] = (out / "schnetpack", workflow)
    molecules = [Atoms(numbers=store.atomic_numbers[store.atoms_of(np.array([i]))],
                       positions=store.positions[store.atoms_of(np.array([i]))]) for i in idx["test"]]
    return runs, molecules


def test_the_ase_calculator_reproduces_the_workflow_predictions(exported):
    runs, molecules = exported
    for name, (folder, workflow) in runs.items():
        info = json.loads((folder / "model_info.json").read_text())
        assert info["energy_key"] == U0 and info["energy_unit"] == "eV"
        pickled = torch.load(folder / "best_model", weights_only=False)
        assert type(pickled.representation).__name__ == info["representation"] == EXPECTED_CLASS.get(name, "SchNet")
        calculator = spk.interfaces.SpkCalculator(
            model=str(folder / "best_model"), neighbor_list=trn.ASENeighborList(cutoff=info["neighbor_list_cutoff"]),
            energy_key=info["energy_key"], force_key=None, energy_unit="eV", position_unit="Angstrom",
            dtype=getattr(torch, info["calculator_dtype"]),
        )
        energies = []
        for atoms in molecules:
            atoms.calc = calculator
            energies.append(atoms.get_potential_energy())
        difference = np.abs(np.array(energies) - workflow)
        print(f"{name}: {len(molecules)} molecules, max |calculator - workflow| = {difference.max():.2e} eV")
        assert difference.max() < TOLERANCE_EV, name
        assert -30000 < np.mean(energies) < -1000  # total energies: the reference energies are added back


@pytest.mark.parametrize("name", ["fitted", "painn", "so3net", "bf16-mixed"])
def test_spkpredict_reproduces_the_workflow_predictions(exported, tmp_path, name):
    """SchNetPack's command line, in a process without this repository on its path."""
    runs, molecules = exported
    folder, workflow = runs[name]
    info = json.loads((folder / "model_info.json").read_text())
    database = spk.data.ASEAtomsData.create(str(tmp_path / "molecules.db"), distance_unit="Ang", property_unit_dict={})
    database.add_systems([{} for _ in molecules], molecules)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    spkpredict = Path(sys.executable).parent / "spkpredict"  # SchNetPack's entry point, beside this python
    result = subprocess.run(
        [str(spkpredict), f"modeldir={folder}", f"datapath={tmp_path / 'molecules.db'}",
         f"outputdir={tmp_path / 'out'}", f"cutoff={info['neighbor_list_cutoff']}",
         # the default, write_interval=epoch, fails in SchNetPack 2.2.0 under Lightning 2.6
         "write_interval=batch", "batch_size=1000"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    predicted = torch.load(tmp_path / "out/0/0.pt", weights_only=True)[U0].double().numpy()
    assert np.abs(predicted - workflow).max() < TOLERANCE_EV


def test_the_workflow_never_unpickles_an_export(exported):
    runs, _ = exported
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_model(runs["fitted"][0] / "best_model")


def test_a_model_with_classes_from_outside_schnetpack_is_not_exported(tmp_path):
    class Custom(nn.Module):
        pass

    model = nn.Sequential(nn.Linear(2, 2), Custom())
    with pytest.raises(TypeError, match="Custom"):
        check_portable(model)
    with pytest.raises(TypeError):
        export_model(model, {"name": "x", "model": {"data_cutoff": 4.0, "energy_reference": "fitted"}}, 0,
                     tmp_path / "best_model", tmp_path / "info.json")
    assert not (tmp_path / "best_model").exists()
