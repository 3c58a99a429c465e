"""The network: SchNetPack's QM9 recipe for the study's target (U0 by default) with its reference; model.pt.

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
from workflow_scripts import representations, targets
from workflow_scripts.properties import ZMAX
from workflow_scripts.targets import Target
from workflow_scripts.training.pair_symmetric_schnet import PairSymmetricSchNet
from workflow_scripts.training.precision import Float32Atomwise, Float32DipoleMoment


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


def output_module(target: Target, n_atom_basis: int) -> nn.Module:
    """The target's output module: ``Atomwise`` summed over atoms (extensive) or averaged (intensive); for the
    dipole moment SchNetPack's ``DipoleMoment`` (latent partial charges, the magnitude |sum q_i r_i|)."""
    if target.output == "dipole":
        return Float32DipoleMoment(n_in=n_atom_basis, predict_magnitude=True, dipole_key=target.key)
    # float32 under bf16-mixed, SchNetPack's Atomwise otherwise (precision.py)
    return Float32Atomwise(n_in=n_atom_basis, output_key=target.key,
                           aggregation_mode="sum" if target.extensive else "avg")


def uses_fitted_reference(target: Target, model_settings: dict) -> bool:
    """Whether a run fits per-element values on its training molecules: ``model.energy_reference: fitted`` for an
    extensive target (for an intensive one and the dipole moment the setting has no effect: reference_offsets)."""
    return model_settings["energy_reference"] == "fitted" and target.extensive and target.output != "dipole"


def reference_used(target: Target, model_settings: dict) -> str:
    """In words, what reference_offsets adds back for ``target`` (the export's model_info.json says it)."""
    if target.output == "dipole":
        return "none"
    if not target.extensive:
        return "training mean"
    if uses_fitted_reference(target, model_settings):
        return "fitted per-element values"
    return "QM9 atom references and mean per atom" if target.atomref_hartree else "mean per atom"


def reference_offsets(target: Target, energy_reference: str, atomref: np.ndarray | None) -> list[nn.Module]:
    """What is added back to the network's output (the reference the data pipeline removed from the targets).

    Extensive: per-element values fitted on the training molecules (``fitted``), or QM9's atom references and
    the training mean per atom (``qm9_atoms``, SchNetPack's QM9 recipe; for a property QM9 lists no atom
    references of, the mean per atom alone). Intensive: the training mean, whatever ``energy_reference`` says:
    SchNetPack's AddOffsets sums atom references over the atoms, which suits a sum and not a mean over atoms (a
    fit on composition fractions would need a transform of its own), and an intensive property hardly grows
    with the atoms anyway. The dipole moment's magnitude: none (it is not a sum of per-atom values).
    """
    if target.output == "dipole":
        return []
    if not target.extensive:
        return [trn.AddOffsets(target.key, add_mean=True, add_atomrefs=False, is_extensive=False)]
    if energy_reference == "fitted":
        fitted = (torch.zeros(ZMAX, dtype=torch.float64) if atomref is None
                  else torch.as_tensor(atomref, dtype=torch.float64))
        return [trn.AddOffsets(target.key, add_mean=False, add_atomrefs=True, atomrefs=fitted)]
    return [trn.AddOffsets(target.key, add_mean=True, add_atomrefs=target.atomref_hartree is not None)]


def build_model(model_settings: dict, atomref: np.ndarray | None = None,
                target: str = targets.DEFAULT) -> spk.model.NeuralNetworkPotential:
    """The network for ``target`` (U0 by default) as in SchNetPack's QM9 recipe (thesis Figure 2; its
    representation: build_representation; its output and reference: output_module, reference_offsets).

    ``model.energy_reference`` says what is added to the network's output: ``qm9_atoms``, SchNetPack's recipe
    (QM9's free-atom energies and the training mean per atom, set from the data module); ``fitted``, per-element
    energies fitted on the training molecules (``atomref``, eV by atomic number; zeros until a state_dict is
    loaded), so that the network learns only what the composition does not explain.
    """
    spec = targets.get(target)
    return spk.model.NeuralNetworkPotential(
        representation=build_representation(model_settings),
        input_modules=[spk.atomistic.PairwiseDistances()],
        output_modules=[output_module(spec, model_settings["n_atom_basis"])],
        postprocessors=[trn.CastTo64(), *reference_offsets(spec, model_settings["energy_reference"], atomref)],
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
    model = build_model(settings["model"], target=settings.get("target", targets.DEFAULT))  # U0 before `target`
    for key, value in saved["state_dict"].items():
        # AddOffsets' mean is a shape-[] buffer after training, shape [1] when built
        owner, _, name = key.rpartition(".")
        buffers = model.get_submodule(owner)._buffers
        if name in buffers and buffers[name].shape != value.shape:
            buffers[name] = torch.empty_like(value)
    model.load_state_dict(saved["state_dict"])
    model.eval()
    return model, settings
