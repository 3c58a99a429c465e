"""SchNetPack's own data pipeline: the pool's ASE database, per-molecule transforms, AtomsDataModule.

The packed pipeline (packed_data.py) gives the same batches faster; this one stays as SchNetPack's reference
(tests/unit/test_packed_data.py compares them) and for the benchmarks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import schnetpack as spk
import schnetpack.transform as trn
import torch

from workflow_scripts import targets
from workflow_scripts.properties import LOSS_WEIGHT
from workflow_scripts.targets import Target
from workflow_scripts.training.devices import torch_device


# The stored units in SchNetPack's (ASE's) unit notation, as its QM9 class writes them in the database
SCHNETPACK_UNITS = {"eV": "eV", "D": "Debye", "Bohr^3": "a0 a0 a0", "Bohr^2": "a0 a0", "cal/mol/K": "cal/mol/K"}


class LossWeight(trn.Transform):
    """Adds each molecule's loss weight to its inputs, looked up by database index."""

    is_preprocessor = True
    is_postprocessor = False

    def __init__(self, weights_by_index: np.ndarray):
        super().__init__()
        self.weights = torch.as_tensor(weights_by_index, dtype=torch.float64)

    def forward(self, inputs):
        inputs[LOSS_WEIGHT] = self.weights[inputs[spk.properties.idx]]
        return inputs


def input_transforms(data_cutoff: float, with_targets: bool, weights: np.ndarray | None = None,
                     atomref: np.ndarray | None = None, neighbor_list=trn.ASENeighborList,
                     target: Target | None = None) -> list:
    """Per-molecule transforms; ``atomref``: fitted per-element values (see model.build_model); the reference
    removed from ``target`` (U0 by default) is the one model.reference_offsets adds back.

    ``neighbor_list``: SchNetPack's neighbor-list transform (ASE's by default; the benchmark also runs MatScipy's).
    """
    target = target or targets.get(targets.DEFAULT)
    transforms = [neighbor_list(cutoff=data_cutoff)]
    if with_targets and atomref is not None:
        fitted = torch.as_tensor(atomref, dtype=torch.float64)
        transforms += [trn.CastTo64(),
                       trn.RemoveOffsets(target.key, remove_mean=False, remove_atomrefs=True, atomrefs=fitted)]
    elif with_targets and target.output != "dipole":
        transforms.append(trn.RemoveOffsets(target.key, remove_mean=True, is_extensive=target.extensive,
                                            remove_atomrefs=target.extensive and target.atomref_hartree is not None))
    if weights is not None:
        transforms.append(LossWeight(weights))
    transforms.append(trn.CastTo32())
    return transforms


def data_module(db_path, work_dir: Path, idx: dict, batch_size: int, data_cutoff: float, weights: np.ndarray,
                atomref: np.ndarray | None = None, stratified: bool = False, neighbor_list=trn.ASENeighborList,
                num_workers: int = 0, target: Target | None = None):
    """SchNetPack's AtomsDataModule over the database ``db_path`` for ``target`` (U0 by default); its split file
    goes to ``work_dir``."""
    target = target or targets.get(targets.DEFAULT)
    transforms = dict(atomref=atomref, neighbor_list=neighbor_list, target=target)
    split_file = work_dir / "split.npz"
    np.savez(split_file, train_idx=idx["train"], val_idx=idx["val"], test_idx=idx["test"])
    sampler = {}
    if stratified:
        sampler = dict(train_sampler_cls=spk.data.sampler.StratifiedSampler,
                       train_sampler_args={"partition_criterion": spk.data.sampler.NumberOfAtomsCriterion(),
                                           "num_samples": len(idx["train"]), "num_bins": 27, "verbose": False})
    return spk.data.AtomsDataModule(
        str(db_path),
        batch_size=batch_size,
        split_file=str(split_file),
        load_properties=[target.key],
        # no property_units: the database holds the unit the study trains in, so there is nothing to convert (and
        # SchNetPack's unit parser knows no "cal" for the heat capacity, whose unit its own QM9 class writes)
        distance_unit="Ang",
        train_transforms=input_transforms(data_cutoff, True, weights=weights, **transforms),
        val_transforms=input_transforms(data_cutoff, True, **transforms),
        test_transforms=input_transforms(data_cutoff, True, **transforms),
        **sampler,
        num_workers=num_workers,  # the workflow: 0, worker processes cost more than they save at 1-2 threads a job
        pin_memory=torch.cuda.is_available(),
    )


@torch.no_grad()
def predict(model, settings: dict, db_path, indices: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The predicted target (stored unit: U0 in eV) of the database molecules at ``indices``, in that order."""
    device = torch_device()
    model = model.to(device)
    key = targets.of_settings(settings).key
    dataset = spk.data.ASEAtomsData(
        str(db_path), load_properties=[key], transforms=input_transforms(settings["model"]["data_cutoff"], False)
    ).subset([int(i) for i in indices])
    loader = spk.data.AtomsLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    predictions = []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        predictions.append(model(batch)[key].double().cpu())
    return torch.cat(predictions).numpy()
