"""A run's best model in SchNetPack's own format, for its ASE calculator and ``spkpredict``.

The workflow keeps its models as weights and settings (``model.pt``, loaded with ``torch.load(weights_only=True)``).
SchNetPack's tools load a whole pickled ``NeuralNetworkPotential`` instead (``schnetpack.utils.load_model``); the
export is that object, built from SchNetPack's classes only, so that it loads where this repository is absent.
It holds the input module (pairwise distances), the representation, the output module and the postprocessors that
add the reference (QM9's or the fitted per-element values), so a calculator feeding it its own neighbor list gets
total energies in eV (U0, U, H, G: SchNetPack's ASE calculator); every target can be predicted by ``spkpredict``.
The workflow never loads an export itself.
"""

from __future__ import annotations

import copy
import json

import schnetpack as spk
import schnetpack.transform as trn
import torch
from torch import nn

from workflow_scripts import representations, targets
from workflow_scripts.files.atomic import atomic_path, write_text
from workflow_scripts.training.model import reference_used
from workflow_scripts.training.pair_symmetric_schnet import PairSymmetricSchNet
from workflow_scripts.training.precision import FLOAT32_OUTPUTS



def model_info(settings: dict, seed: int) -> dict:
    """What a user needs to call the exported model: keys, units, the neighbor-list cutoff."""
    cutoff = settings["model"]["data_cutoff"]
    # The calculator casts the whole model to its dtype. Fitted reference energies are float64 in the workflow
    # (float32 would round their sum, about -10^4 eV, by meV); QM9's atom references are float32 there, as in
    # SchNetPack's data module, so float32 reproduces the study's numbers and float64 would differ by meV
    # (their mean per atom stays float64 either way: keep_mean_float64).
    dtype = "float64" if settings["model"]["energy_reference"] == "fitted" else "float32"
    target = targets.of_settings(settings)
    info = {"experiment": settings["name"], "seed": seed, "target": target.name,
            "output_key": target.key, "output_unit": target.unit}  # the model's output dict (and spkpredict's)
    if target.energy:  # an ASE calculator gives energies (and forces); the other properties are not one
        info.update({"energy_key": target.key, "energy_unit": "eV"})
    info.update({
        "position_unit": "Angstrom",
        "neighbor_list_cutoff": cutoff,
        # the setting for the energies (U0's file as it was); for the others the reference it gives them
        **({"energy_reference": settings["model"]["energy_reference"]} if target.energy
           else {"reference": reference_used(target, settings["model"])}),
        "representation": representations.label(settings["model"]),  # SchNetPack's class in the pickle
    })
    if target.energy:
        info.update({
            "calculator_dtype": dtype,
            "ase_calculator": (
                "schnetpack.interfaces.SpkCalculator(model=PATH, neighbor_list=schnetpack.transform.ASENeighborList("
                f"cutoff={cutoff}), energy_key='{target.key}', force_key=None, energy_unit='eV', "
                f"position_unit='Angstrom', dtype=torch.{dtype})"
            ),
        })
    # write_interval=batch: the default (epoch) fails in SchNetPack 2.2.0 under Lightning 2.6
    info["spkpredict"] = f"spkpredict modeldir=DIR datapath=DB.db outputdir=OUT cutoff={cutoff} write_interval=batch"
    return info


def check_portable(model: nn.Module) -> None:
    """Refuse a model holding classes from outside SchNetPack and torch: loading it would need this repository."""
    foreign = sorted({type(m).__module__ + "." + type(m).__qualname__ for m in model.modules()
                      if not type(m).__module__.startswith(("schnetpack.", "torch."))})
    if foreign:
        raise TypeError(f"the model holds classes SchNetPack's tools cannot load elsewhere: {foreign}")


def keep_mean_float64(model: nn.Module) -> None:
    """Keep AddOffsets' mean per atom a float64 scalar when a calculator casts the model to float32.

    The workflow adds ``mean * n_atoms`` in float64; cast to float32, the mean would shift energies by up to
    1e-5 eV. As a plain 0-dim tensor instead of a buffer, ``model.to(dtype)`` leaves it alone, and a 0-dim CPU
    tensor combines with tensors on any device.
    """
    for module in model.modules():
        if isinstance(module, trn.AddOffsets) and module.add_mean and module.mean.dim() == 0:
            module.mean = module._buffers.pop("mean").double()


def export_model(model: nn.Module, settings: dict, seed: int, model_path, info_path) -> None:
    """Write ``model`` (as ``training.load_model`` returns it) as a pickled SchNetPack model, and its info JSON."""
    exported = copy.deepcopy(model).cpu().eval()
    if isinstance(getattr(exported, "representation", None), PairSymmetricSchNet):  # same parameters, SchNetPack's class
        exported.representation = exported.representation.as_schnet()
    for module in exported.modules():
        if type(module) in FLOAT32_OUTPUTS:  # no state of its own: SchNetPack's class, float32 as exported
            module.__class__ = FLOAT32_OUTPUTS[type(module)]
    keep_mean_float64(exported)
    check_portable(exported)
    with atomic_path(model_path) as tmp:
        torch.save(exported, tmp)
    write_text(info_path, json.dumps(model_info(settings, seed), indent=2))
