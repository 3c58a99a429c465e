"""The network: SchNetPack's QM9 recipe for U0 with the study's energy reference, and the workflow's model.pt.

PairwiseDistances -> SchNet -> Atomwise sum; the energy reference (QM9's atom energies and the mean per atom,
or per-element energies fitted on the training molecules) is added back to the output. model.pt holds the
weights and the run's settings only (tensors and JSON), so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json

import numpy as np
import schnetpack as spk
import schnetpack.transform as trn
import torch
from torch import nn

from workflow_scripts.files.atomic import atomic_path
from workflow_scripts.properties import U0, ZMAX
from workflow_scripts.training.pair_symmetric_schnet import PairSymmetricSchNet
from workflow_scripts.training.precision import Float32Atomwise


def build_model(model_settings: dict, atomref: np.ndarray | None = None) -> spk.model.NeuralNetworkPotential:
    """SchNet for U0 as in SchNetPack's QM9 recipe (thesis Figure 2).

    ``model.energy_reference`` says what is added to the network's output: ``qm9_atoms``, SchNetPack's recipe
    (QM9's free-atom energies and the training mean per atom, set from the data module); ``fitted``, per-element
    energies fitted on the training molecules (``atomref``, eV by atomic number; zeros until a state_dict is
    loaded), so that the network learns only what the composition does not explain. ``model.implementation``
    picks SchNet's forward: ``pair_symmetric`` (one filter evaluation per atom pair) or ``schnetpack``; both have
    SchNetPack's parameters.
    """
    cutoff = model_settings["model_cutoff"]
    n_atom_basis = model_settings["n_atom_basis"]
    if model_settings["energy_reference"] == "fitted":
        fitted = (torch.zeros(ZMAX, dtype=torch.float64) if atomref is None
                  else torch.as_tensor(atomref, dtype=torch.float64))
        offsets = trn.AddOffsets(U0, add_mean=False, add_atomrefs=True, atomrefs=fitted)
    else:
        offsets = trn.AddOffsets(U0, add_mean=True, add_atomrefs=True)
    pair_symmetric = model_settings["implementation"] == "pair_symmetric"
    schnet = PairSymmetricSchNet if pair_symmetric else spk.representation.SchNet
    representation = schnet(
        n_atom_basis=n_atom_basis,
        n_interactions=model_settings["n_interactions"],
        radial_basis=spk.nn.GaussianRBF(n_rbf=model_settings["n_rbf"], cutoff=cutoff),
        cutoff_fn=spk.nn.CosineCutoff(cutoff),
    )
    return spk.model.NeuralNetworkPotential(
        representation=representation,
        input_modules=[spk.atomistic.PairwiseDistances()],
        # float32 under bf16-mixed, SchNetPack's Atomwise otherwise (precision.py)
        output_modules=[Float32Atomwise(n_in=n_atom_basis, output_key=U0, aggregation_mode="sum")],
        postprocessors=[trn.CastTo64(), offsets],
    )


def save_model(model: nn.Module, settings: dict, seed: int, path) -> None:
    """model.pt: the weights (on the CPU), the run's settings as JSON and its seed."""
    model_state = {k: v.cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model_state, "settings_json": json.dumps(settings), "seed": seed}, tmp)


def load_model(path) -> tuple[nn.Module, dict]:
    """A trained model from model.pt; tensors and JSON only, no pickled code."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    settings = json.loads(saved["settings_json"])
    settings["model"].setdefault("implementation", "schnetpack")  # models saved before the key existed
    model = build_model(settings["model"])
    for key, value in saved["state_dict"].items():
        # AddOffsets' mean is a shape-[] buffer after training, shape [1] when built
        owner, _, name = key.rpartition(".")
        buffers = model.get_submodule(owner)._buffers
        if name in buffers and buffers[name].shape != value.shape:
            buffers[name] = torch.empty_like(value)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, settings
