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

from workflow_scripts.properties import LOSS_WEIGHT, U0
from workflow_scripts.training.devices import torch_device


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


def input_transforms(data_cutoff: float, targets: bool, weights: np.ndarray | None = None,
                     atomref: np.ndarray | None = None, neighbor_list=trn.ASENeighborList) -> list:
    """Per-molecule transforms; ``atomref``: fitted per-element energies (see model.build_model).

    ``neighbor_list``: SchNetPack's neighbor-list transform (ASE's by default; the benchmark also runs MatScipy's).
    """
    transforms = [neighbor_list(cutoff=data_cutoff)]
    if targets and atomref is not None:
        fitted = torch.as_tensor(atomref, dtype=torch.float64)
        transforms += [trn.CastTo64(), trn.RemoveOffsets(U0, remove_mean=False, remove_atomrefs=True, atomrefs=fitted)]
    elif targets:
        transforms.append(trn.RemoveOffsets(U0, remove_mean=True, remove_atomrefs=True))
    if weights is not None:
        transforms.append(LossWeight(weights))
    transforms.append(trn.CastTo32())
    return transforms


def data_module(db_path, work_dir: Path, idx: dict, batch_size: int, data_cutoff: float, weights: np.ndarray,
                atomref: np.ndarray | None = None, stratified: bool = False, neighbor_list=trn.ASENeighborList,
                num_workers: int = 0):
    """SchNetPack's AtomsDataModule over the database ``db_path``; its split file goes to ``work_dir``."""
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
        load_properties=[U0],
        property_units={U0: "eV"},
        distance_unit="Ang",
        train_transforms=input_transforms(data_cutoff, targets=True, weights=weights, atomref=atomref,
                                          neighbor_list=neighbor_list),
        val_transforms=input_transforms(data_cutoff, targets=True, atomref=atomref, neighbor_list=neighbor_list),
        test_transforms=input_transforms(data_cutoff, targets=True, atomref=atomref, neighbor_list=neighbor_list),
        **sampler,
        num_workers=num_workers,  # the workflow: 0, worker processes cost more than they save at 1-2 threads a job
        pin_memory=torch.cuda.is_available(),
    )


@torch.no_grad()
def predict(model, settings: dict, db_path, indices: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Predicted U0 (eV) of the database molecules at ``indices``, in that order."""
    device = torch_device()
    model = model.to(device)
    dataset = spk.data.ASEAtomsData(
        str(db_path), load_properties=[U0], transforms=input_transforms(settings["model"]["data_cutoff"], targets=False)
    ).subset([int(i) for i in indices])
    loader = spk.data.AtomsLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)
    predictions = []
    for batch in loader:
        batch = {k: v.to(device) for k, v in batch.items()}
        predictions.append(model(batch)[U0].double().cpu())
    return torch.cat(predictions).numpy()
