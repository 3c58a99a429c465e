"""The data and training side follows the target (config ``target``): both data pipelines give SchNetPack's batches
for an extensive property without QM9 atom references, an intensive one, the dipole moment and G; a tiny training
learns it, and its curves, predictions and export are named after it."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from tests.conftest import tiny_pool
from tests.unit.tiny_training import PACKED
from workflow_scripts import targets
from workflow_scripts.evaluation.predictions import mae, predictions_frame, target_of_frame
from workflow_scripts.training import pipelines
from workflow_scripts.training.atoms_database import build_database
from workflow_scripts.training.export import model_info
from workflow_scripts.training.job import training_inputs
from workflow_scripts.training.loop import train
from workflow_scripts.training.model import load_model
from workflow_scripts.training.packed_data import PackedDataModule, add_neighbor_list, build_store, load_store
from workflow_scripts.training.schnetpack_data import data_module

CUTOFF = 4.0
TARGETS = ["G", "zpve", "gap", "mu", "alpha"]


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("targets")
    split, idx, _ = tiny_pool(root, max_molecules=1500, pool_size=200)
    return root, split, idx


@pytest.fixture(scope="module", params=TARGETS)
def files(pool, request):
    """The pool's ASE database and packed store for one target."""
    root, split, idx = pool
    target = targets.get(request.param)
    db, store = root / f"pool-{target.name}.db", root / f"pool-{target.name}.npz"
    build_database(root / "qm9.parquet", split, db, target=target)
    build_store(root / "qm9.parquet", split["gdb_id"].to_numpy(), store, target)
    return target, db, store


def test_the_packed_store_holds_the_target(pool, files):
    root, split, _ = pool
    target, _, store_path = files
    store = load_store(store_path)
    assert store.spec == target
    table = pd.read_parquet(root / "qm9.parquet", columns=["gdb_id", target.name]).set_index("gdb_id")
    assert np.array_equal(store.values, table.loc[split["gdb_id"], target.name].to_numpy())
    assert np.any(store.atomref) == (target.atomref_hartree is not None)


def test_both_pipelines_give_the_same_batches(pool, files, tmp_path):
    """The reference removed from the target (mean per atom, mean, none) is SchNetPack's on both paths."""
    _, split, idx = pool
    target, db, store = files
    weights = np.ones(len(split))
    spk_module = data_module(db, tmp_path, idx, 32, CUTOFF, weights, target=target)
    spk_module.setup("fit")
    packed = PackedDataModule(load_store(store), idx, weights, 32, CUTOFF, seed=0)
    packed.setup("fit")
    key = target.key
    spk_values = torch.cat([b[key] for b in spk_module.val_dataloader()])
    packed_values = torch.cat([add_neighbor_list(b, CUTOFF)[key] for b in packed.val_dataloader()])
    assert spk_values.dtype == packed_values.dtype == torch.float32
    assert torch.allclose(packed_values, spk_values, rtol=1e-6, atol=1e-6)
    raw = torch.from_numpy(load_store(store).values[idx["val"]]).float()
    if target.output == "dipole":  # nothing removed: the magnitude itself
        assert torch.equal(packed_values, raw)
    else:  # a reference removed: the targets are centred near 0
        assert not torch.equal(packed_values, raw)
        assert abs(float(packed_values.mean())) < abs(float(raw.mean())) + 1e-6


def test_a_tiny_training_learns_the_target(pool, files, tmp_path):
    root, split, idx = pool
    target, _, store = files
    settings = {**PACKED, "target": target.name,
                "model": {**PACKED["model"], "energy_reference": "fitted"},  # extensive targets only (model.py)
                "training": {**PACKED["training"], "epochs": 2}, "subset": "full"}
    subset = split[split["split"] == "train"]
    run_idx, weights, atomref = training_inputs(split, subset, root / "qm9.parquet", settings, {}, None)
    assert (atomref is not None) == target.extensive  # the dipole moment is not extensive in the table
    timing = train(store, run_idx, weights, settings, 0, tmp_path, atomref=atomref)
    assert f"best_val_{target.mse_column}" in timing
    val = pd.read_csv(tmp_path / "val_log.csv")
    assert list(val.columns) == ["epoch", "step", f"val_{target.mse_column}", target.metric("val_mae")]
    curve = pd.read_csv(tmp_path / "train_log.csv")
    # the loss compares the prediction with the target (a loss of 0 would compare the output with itself)
    assert (curve[target.mse_column] > 0).all() and (val[target.metric("val_mae")] > 0).all()
    model, saved = load_model(tmp_path / "model.pt")
    assert saved["target"] == target.name
    frame = predictions_frame(split.iloc[idx["test"]], root / "qm9.parquet",
                              pipelines.predict(model, saved, store, idx["test"]), target)
    assert list(frame.columns[-2:]) == [target.true_column, target.pred_column] and target_of_frame(frame) == target
    # better than predicting nothing: the training moved the model toward the target's own scale
    assert np.isfinite(mae(frame)) and mae(frame) < target.factor * frame[target.true_column].abs().mean()
    info = model_info(saved, 0)
    assert (info["target"], info["output_key"], info["output_unit"]) == (target.name, target.key, target.unit)
    assert ("ase_calculator" in info) == target.energy and "U0" not in json.dumps(info)


def test_a_store_of_another_target_is_refused(pool, tmp_path):
    root, split, idx = pool
    build_store(root / "qm9.parquet", split["gdb_id"].to_numpy(), tmp_path / "pool.npz")  # U0
    with pytest.raises(ValueError, match="holds U0, but the run learns gap: remove the file"):
        pipelines.data_module(tmp_path / "pool.npz", {**PACKED, "target": "gap"}, idx, np.ones(len(split)), 0)


def test_a_store_written_before_the_target_setting_loads_as_u0s(pool, tmp_path):
    """An existing study's pool.npz (field ``u0``, no ``target``) is read as it was, not rebuilt."""
    root, split, _ = pool
    store = build_store(root / "qm9.parquet", split["gdb_id"].to_numpy(), tmp_path / "new.npz")
    arrays = {name: getattr(store, name) for name in ("gdb_id", "n_atoms", "atom_start", "atomic_numbers",
                                                      "positions", "atomref")}
    np.savez(tmp_path / "old.npz", u0=store.values, **arrays)
    old = load_store(tmp_path / "old.npz")
    assert old.spec.name == "U0" and np.array_equal(old.values, store.values)


def test_the_dipole_head_runs_in_float32_under_bf16_autocast():
    """Its latent charges and their sum over atoms stay float32 (precision.py), and the export is SchNetPack's."""
    from workflow_scripts.training.model import build_model
    from workflow_scripts.training.precision import FLOAT32_OUTPUTS, Float32DipoleMoment

    model = build_model({**PACKED["model"], "energy_reference": "qm9_atoms"}, target="mu")
    head = model.output_modules[0]
    assert type(head) is Float32DipoleMoment and FLOAT32_OUTPUTS[Float32DipoleMoment].__name__ == "DipoleMoment"
    import schnetpack as spk
    import schnetpack.transform as trn
    from ase.build import molecule

    inputs = spk.interfaces.AtomsConverter(neighbor_list=trn.ASENeighborList(cutoff=4.0),
                                           dtype=torch.float32)([molecule("H2O"), molecule("CH3OH")])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(inputs)
    assert out["dipole_moment"].dtype in (torch.float32, torch.float64) and out["dipole_moment"].shape == (2,)
