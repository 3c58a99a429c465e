"""The packed data path against SchNetPack's own (ASE database, per-molecule transforms) on the same molecules."""

from types import SimpleNamespace

import numpy as np
import pytest
import pytorch_lightning as pl
import torch

import schnetpack.properties as props
import schnetpack.transform as trn

from tests.conftest import tiny_pool
from tests.unit.tiny_training import with_representation
from workflow_scripts.properties import LOSS_WEIGHT, U0
from workflow_scripts.data.metadata import read_metadata
from workflow_scripts.training.packed_data import (
    EpochBatchSampler, PackedDataModule, add_neighbor_list, batch_neighbor_list, build_store,
    load_store, molecule_batch, predict, remove_offsets,
)
from workflow_scripts.training.model import build_model
from workflow_scripts.training.schnetpack_data import data_module
from workflow_scripts.training.schnetpack_data import predict as predict_schnetpack
from workflow_scripts.training.task import WeightedTask

CUTOFF = 4.0
MODEL = {"n_atom_basis": 16, "n_interactions": 2, "n_rbf": 10, "data_cutoff": CUTOFF, "model_cutoff": 5.0,
         "energy_reference": "qm9_atoms", "implementation": "pair_symmetric"}
SPK_ONLY = {"_idx_i_local", "_idx_j_local"}  # collate by-products no SchNetPack module reads


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("packed")
    split, idx, store = tiny_pool(root, max_molecules=2000, pool_size=300)
    weights = np.linspace(0.5, 3.0, len(split))
    return SimpleNamespace(root=root, split=split, store=store, idx=idx, weights=weights)


@pytest.fixture(scope="module")
def modules(pool, tmp_path_factory):
    spk_module = data_module(pool.root / "pool.db", tmp_path_factory.mktemp("spk"), pool.idx, 32, CUTOFF, pool.weights)
    spk_module.setup("fit")
    packed = PackedDataModule(load_store(pool.root / "pool.npz"), pool.idx, pool.weights, 32, CUTOFF, seed=0)
    packed.setup("fit")
    return spk_module, packed


def pairs(batch):
    return set(zip(batch[props.idx_i].tolist(), batch[props.idx_j].tolist()))


def pair_distances(batch):
    """Distance of each pair, keyed by the pair, from the batch's float32 positions as PairwiseDistances does."""
    r = batch[props.R]
    d = (r[batch[props.idx_j]] - r[batch[props.idx_i]] + batch[props.offsets]).norm(dim=1)
    return dict(zip(zip(batch[props.idx_i].tolist(), batch[props.idx_j].tolist()), d.tolist()))


def assert_same_batch(spk_batch, packed_batch):
    assert set(spk_batch) - SPK_ONLY == set(packed_batch)
    for key, value in packed_batch.items():
        assert value.dtype == spk_batch[key].dtype, key
        if key not in (props.idx_i, props.idx_j, props.offsets, U0):
            assert torch.equal(value, spk_batch[key]), key
    assert torch.allclose(packed_batch[U0], spk_batch[U0], rtol=0, atol=1e-6)
    assert pairs(packed_batch) == pairs(spk_batch)  # (a) the same set of neighbor pairs
    spk_d, packed_d = pair_distances(spk_batch), pair_distances(packed_batch)
    assert max(abs(packed_d[p] - spk_d[p]) for p in spk_d) < 1e-5  # (b) the same distances


def test_store_round_trip_keeps_order_and_dtypes(pool):
    loaded = load_store(pool.root / "pool.npz")
    for name, array in vars(pool.store).items():
        assert np.array_equal(getattr(loaded, name), array) and getattr(loaded, name).dtype == array.dtype, name
    assert np.array_equal(loaded.gdb_id, pool.split["gdb_id"].to_numpy())
    assert loaded.positions.dtype == np.float64 and loaded.atomic_numbers.dtype == np.uint8
    assert np.array_equal(np.diff(loaded.atom_start), loaded.n_atoms) and loaded.nbytes > loaded.positions.nbytes
    np.savez(pool.root / "other.npz", gdb_id=loaded.gdb_id)
    with pytest.raises(ValueError, match="not a packed store"):
        load_store(pool.root / "other.npz")


def test_batches_match_schnetpack_neighbor_pairs_distances_targets(modules):
    spk_module, packed = modules
    packed_val = [add_neighbor_list(b, CUTOFF) for b in packed.val_dataloader()]
    spk_val = list(spk_module.val_dataloader())
    assert len(packed_val) == len(spk_val)
    for spk_batch, packed_batch in zip(spk_val, packed_val):
        assert_same_batch(spk_batch, packed_batch)
    spk_train = next(iter(spk_module.train_dataloader()))  # the training path adds the loss weights
    assert_same_batch(spk_train, add_neighbor_list(packed.train_dataset[spk_train[props.idx].numpy()], CUTOFF))


def test_targets_are_remove_offsets_bit_for_bit(pool):
    all_ids = read_metadata(pool.root / "qm9.parquet")["gdb_id"]
    big = build_store(pool.root / "qm9.parquet", all_ids, pool.root / "big.npz")
    mean, atomref = torch.tensor(-4.321, dtype=torch.float64), torch.tensor(big.atomref.tolist())
    remove = trn.RemoveOffsets(U0, remove_mean=True, remove_atomrefs=True, atomrefs=atomref, property_mean=mean)
    expected = []
    for i in range(len(big)):
        molecule = molecule_batch(big, [i], big.values)
        expected.append(trn.CastTo32()(remove(molecule))[U0])
    assert torch.equal(torch.from_numpy(remove_offsets(big, mean, atomref)), torch.cat(expected))


@pytest.mark.parametrize("representation", ["schnet", "painn", "so3net"])
def test_loss_on_the_same_batch_matches_schnetpack(modules, representation):
    """The packed batches carry what every representation reads (PairwiseDistances' Rij for PaiNN and SO3net)."""
    spk_module, packed = modules
    model = with_representation(MODEL, representation)
    torch.manual_seed(0)
    spk_task = WeightedTask(build_model(model), 1e-3, None, "spk")
    spk_task.model.initialize_transforms(spk_module)
    packed_task = WeightedTask(build_model(model), 1e-3, None, "packed")
    packed_task.model.initialize_transforms(packed)
    for name, buffer in packed_task.model.postprocessors[1].named_buffers():  # AddOffsets: mean and atomref
        assert torch.allclose(buffer, spk_task.model.postprocessors[1].get_buffer(name), rtol=1e-12, atol=0), name
    packed_task.model.load_state_dict(spk_task.model.state_dict())
    spk_batch = next(iter(spk_module.train_dataloader()))
    packed_batch = add_neighbor_list(packed.train_dataset[spk_batch[props.idx].numpy()], CUTOFF)
    spk_error, _ = spk_task.per_molecule(dict(spk_batch))
    packed_error, _ = packed_task.per_molecule(dict(packed_batch))  # the model writes its output into the dict
    assert torch.allclose(packed_error, spk_error, rtol=1e-5, atol=1e-6)
    spk_loss, packed_loss = spk_task.training_step(dict(spk_batch), 0), packed_task.training_step(dict(packed_batch), 0)
    assert packed_loss.item() == pytest.approx(spk_loss.item(), rel=1e-5)


def test_neighbor_list_is_strict_and_matches_ase_at_the_cutoff():
    # atom 1 exactly at the cutoff from atom 0 (excluded, as in ASE), atom 2 just inside; a second molecule
    positions = torch.tensor([[0, 0, 0], [4, 0, 0], [0, 3.9999999, 0], [0, 0, 0], [1, 1, 1]], dtype=torch.float64)
    n_atoms = torch.tensor([3, 2])
    idx_i, idx_j = batch_neighbor_list(positions, n_atoms, 4.0)
    ours = set(zip(idx_i.tolist(), idx_j.tolist()))
    assert ours == {(0, 2), (2, 0), (3, 4), (4, 3)}
    first = {props.Z: torch.ones(3, dtype=torch.long), props.R: positions[:3],
             props.cell: torch.zeros(1, 3, 3, dtype=torch.float64), props.pbc: torch.zeros(3, dtype=torch.bool)}
    ase = trn.ASENeighborList(cutoff=4.0)(first)
    assert set(zip(ase[props.idx_i].tolist(), ase[props.idx_j].tolist())) == {p for p in ours if max(p) < 3}
    assert idx_i.tolist() == sorted(idx_i.tolist())


def test_shuffling_is_seeded_new_each_epoch_and_covers_every_molecule_once():
    rows = np.arange(100, 110)
    first, again = EpochBatchSampler(rows, 4, True, seed=1), EpochBatchSampler(rows, 4, True, seed=1)
    epoch0 = [b.tolist() for b in first]
    assert epoch0 == [b.tolist() for b in again]  # same seed, same order
    assert [len(b) for b in epoch0] == [4, 4, 2] and len(first) == 3  # the last partial batch is kept
    assert sorted(np.concatenate(epoch0).tolist()) == rows.tolist()  # every molecule exactly once
    epoch1 = [b.tolist() for b in first]
    assert epoch1 != epoch0 and sorted(np.concatenate(epoch1).tolist()) == rows.tolist()
    first.set_epoch(0)  # what Lightning does: a resumed run repeats the uninterrupted run's order
    assert [b.tolist() for b in first] == epoch0
    assert [b.tolist() for b in EpochBatchSampler(rows, 4, True, seed=2)] != epoch0
    assert [b.tolist() for b in EpochBatchSampler(rows, 4, False)] == [rows[:4].tolist(), rows[4:8].tolist(),
                                                                        rows[8:].tolist()]


def test_training_batches_carry_weights_and_every_training_molecule_once(modules, pool):
    _, packed = modules
    seen = []
    for batch in packed.train_dataloader():
        rows = batch[props.idx].numpy()
        assert torch.equal(batch[LOSS_WEIGHT], torch.from_numpy(pool.weights[rows].astype(np.float32)))
        seen.extend(rows.tolist())
    assert sorted(seen) == sorted(pool.idx["train"].tolist())
    assert all(LOSS_WEIGHT not in batch for batch in packed.val_dataloader())


def test_lightning_fit_and_predict_with_the_packed_module(pool, tmp_path):
    packed = PackedDataModule(pool.store, pool.idx, pool.weights, 32, CUTOFF, seed=0)
    task = WeightedTask(build_model(MODEL), 1e-3, None, "packed")
    trainer = pl.Trainer(max_epochs=2, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False, default_root_dir=tmp_path)
    trainer.fit(task, datamodule=packed)  # the hooks: setup, initialize_transforms, set_epoch, batch transfer
    assert trainer.global_step == 2 * len(packed.train_dataloader())
    assert task.model.postprocessors[1].mean.item() == pytest.approx(packed.get_stats(U0, True, True)[0].item())
    model = task.model.eval()
    ours = predict(model, pool.store, pool.idx["test"], CUTOFF)
    theirs = predict_schnetpack(model, {"model": MODEL}, pool.root / "pool.db", pool.idx["test"])
    assert np.allclose(ours, theirs, rtol=0, atol=1e-4) and -30000 < ours.mean() < -1000
