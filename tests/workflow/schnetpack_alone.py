"""A run's SchNetPack export loaded by SchNetPack alone: a fresh Python (-I) that cannot import this repository,
its ASE calculator set up from model_info.json as a user would."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from ase.io import write

SCRIPT = """
import json, sys
import torch
from ase.io import read
from schnetpack.interfaces import SpkCalculator
from schnetpack.transform import ASENeighborList
folder = sys.argv[1]
info = json.load(open(folder + "/model_info.json"))
model = torch.load(folder + "/best_model", weights_only=False)
calculator = SpkCalculator(model=folder + "/best_model", neighbor_list=ASENeighborList(cutoff=info["neighbor_list_cutoff"]),
                           energy_key=info["energy_key"], force_key=None, energy_unit=info["energy_unit"],
                           position_unit=info["position_unit"], dtype=getattr(torch, info["calculator_dtype"]))
energies = []
for atoms in read(sys.argv[2], index=":"):
    atoms.calc = calculator
    energies.append(atoms.get_potential_energy())
print(json.dumps([type(model.representation).__name__, energies]))
"""


def export_energies(folder: Path, molecules, tmp_path: Path) -> tuple[str, np.ndarray]:
    """(the pickled representation's class name, the calculator's energies in eV) for ``molecules`` (ASE Atoms)."""
    write(tmp_path / "molecules.xyz", molecules, format="extxyz")
    result = subprocess.run([sys.executable, "-I", "-c", SCRIPT, str(folder), str(tmp_path / "molecules.xyz")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    representation, energies = json.loads(result.stdout.strip().splitlines()[-1])
    return representation, np.array(energies)


# Any target: the exported model run on SchNetPack's AtomsConverter batches, its output read under the key
# model_info.json names (what spkpredict writes); the dipole moment and the gap have no ASE calculator.
OUTPUT_SCRIPT = """
import json, sys
import torch
from ase.io import read
from schnetpack.interfaces import AtomsConverter
from schnetpack.transform import ASENeighborList
folder = sys.argv[1]
info = json.load(open(folder + "/model_info.json"))
model = torch.load(folder + "/best_model", weights_only=False).eval()
converter = AtomsConverter(neighbor_list=ASENeighborList(cutoff=info["neighbor_list_cutoff"]), dtype=torch.float32)
with torch.no_grad():
    values = model(converter(read(sys.argv[2], index=":")))[info["output_key"]].double().tolist()
print(json.dumps([type(model.representation).__name__, values]))
"""


def export_outputs(folder: Path, molecules, tmp_path: Path) -> tuple[str, np.ndarray]:
    """(the pickled representation's class name, the model's output for its target, stored unit) for ``molecules``."""
    write(tmp_path / "molecules.xyz", molecules, format="extxyz")
    result = subprocess.run([sys.executable, "-I", "-c", OUTPUT_SCRIPT, str(folder), str(tmp_path / "molecules.xyz")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    representation, values = json.loads(result.stdout.strip().splitlines()[-1])
    return representation, np.array(values)
