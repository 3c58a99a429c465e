"""The network: SchNetPack's QM9 recipe for U0 with the study's energy reference, and the workflow's model.pt.

PairwiseDistances -> representation (SchNetPack's SchNet, PaiNN or SO3net) -> Atomwise sum; the energy reference
(QM9's atom energies and the mean per atom, or per-element energies fitted on the training molecules) is added back
to the output. model.pt holds the weights and the run's settings only (tensors and JSON), so it loads with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json

import numpy as np
import schnetpack as spk
import schnetpack.transform as trn
import torch
from torch import nn

from workflow_scripts.files.atomic import atomic_path
from workflow_scripts import representations
from workflow_scripts.properties import U0, ZMAX
from workflow_scripts.training.pair_symmetric_schnet import PairSymmetricSchNet
from workflow_scripts.training.precision import Float32Atomwise


def build_representation(model_settings: dict) -> nn.Module:
    """SchNetPack's class that ``model.representation`` names, with the study's width, interactions, Gaussian
    radial basis and cosine cutoff, and its own block's settings (``model.painn``, ``model.so3net``).

    ``model.implementation`` picks SchNet's forward: ``pair_symmetric`` (one filter evaluation per atom pair) or
    ``schnetpack``; both have SchNetPack's parameters. PaiNN and SO3net run SchNetPack's forward.
    """
    name = representations.name_of(model_settings)
    cutoff = model_settings["model_cutoff"]
    common = dict(
        n_atom_basis=model_settings["n_atom_basis"],
        n_interactions=model_settings["n_interactions"],
        radial_basis=spk.nn.GaussianRBF(n_rbf=model_settings["n_rbf"], cutoff=cutoff),
        cutoff_fn=spk.nn.CosineCutoff(cutoff),
    )
    if name == "schnet":
        pair_symmetric = model_settings["implementation"] == "pair_symmetric"
        return (PairSymmetricSchNet if pair_symmetric else spk.representation.SchNet)(**common)
    if name == "painn":
        return spk.representation.PaiNN(**common, **model_settings["painn"])
    if name == "so3net":
        return spk.representation.SO3net(**common, **model_settings["so3net"])
    raise ValueError(f"model.representation = {name!r}: choose one of {sorted(representations.LABELS)}")


def build_model(model_settings: dict, atomref: np.ndarray | None = None) -> spk.model.NeuralNetworkPotential:
    """The network for U0 as in SchNetPack's QM9 recipe (thesis Figure 2; its representation: build_representation).

    ``model.energy_reference`` says what is added to the network's output: ``qm9_atoms``, SchNetPack's recipe
    (QM9's free-atom energies and the training mean per atom, set from the data module); ``fitted``, per-element
    energies fitted on the training molecules (``atomref``, eV by atomic number; zeros until a state_dict is
    loaded), so that the network learns only what the composition does not explain.
    """
    n_atom_basis = model_settings["n_atom_basis"]
    if model_settings["energy_reference"] == "fitted":
        fitted = (torch.zeros(ZMAX, dtype=torch.float64) if atomref is None
                  else torch.as_tensor(atomref, dtype=torch.float64))
        offsets = trn.AddOffsets(U0, add_mean=False, add_atomrefs=True, atomrefs=fitted)
    else:
        offsets = trn.AddOffsets(U0, add_mean=True, add_atomrefs=True)
    return spk.model.NeuralNetworkPotential(
        representation=build_representation(model_settings),
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
    # models saved before these keys existed: SchNetPack's SchNet
    if settings["model"].setdefault("representation", representations.DEFAULT) == "schnet":
        settings["model"].setdefault("implementation", "schnetpack")
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
