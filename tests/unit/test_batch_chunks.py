"""A batch run as chunks of molecules: the same batch pieces, the same gradient, the same training."""

import json

import numpy as np
import pytest
import torch

import schnetpack.properties as props

from tests.conftest import tiny_pool
from tests.unit.tiny_training import SETTINGS
from workflow_scripts.training.batch_chunks import chunk_molecules, split_batch
from workflow_scripts.training.packed_data import add_neighbor_list, molecule_batch
from workflow_scripts.training.loop import train
from workflow_scripts.training.model import build_model, load_model
from workflow_scripts.training.schnetpack_data import data_module
from workflow_scripts.training.task import WeightedTask
from workflow_scripts.properties import U0

MODEL = {"n_atom_basis": 32, "n_interactions": 2, "n_rbf": 16, "data_cutoff": 5.0, "model_cutoff": 5.0,
         "energy_reference": "qm9_atoms", "implementation": "pair_symmetric"}


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("chunks")
    split, idx, store = tiny_pool(root, max_molecules=2000, pool_size=150)
    return root, split, idx, store


def packed_batch(store, rows):
    n = len(store)
    target = np.linspace(-1.0, 1.0, n)
    weight = np.linspace(0.5, 3.0, n)  # unequal weights: a chunk's share of the loss must still be right
    return add_neighbor_list(molecule_batch(store, rows, target=target, weight=weight), MODEL["data_cutoff"])


def test_chunks_put_back_together_are_the_batch(pool, tmp_path):
    root, split, idx, store = pool
    module = data_module(root / "pool.db", tmp_path, idx, 30, MODEL["data_cutoff"], np.ones(len(split)))
    module.setup("fit")
    for batch in (packed_batch(store, idx["train"][:30]), next(iter(module.train_dataloader()))):
        chunks = split_batch(batch, 7)
        assert [len(c[props.n_atoms]) for c in chunks] == [7, 7, 7, 7, 2]
        first_atom = 0
        for key in batch:
            if key in (props.idx_i, props.idx_j, props.idx_m):
                continue
            assert torch.equal(torch.cat([c[key] for c in chunks]), batch[key]), key
        pieces_i, pieces_j, pieces_m = [], [], []
        molecules = 0
        for chunk in chunks:
            n_atoms = int(chunk[props.n_atoms].sum())
            assert len(chunk[props.Z]) == n_atoms
            assert int(chunk[props.idx_i].max()) < n_atoms and int(chunk[props.idx_i].min()) >= 0
            pieces_i.append(chunk[props.idx_i] + first_atom)
            pieces_j.append(chunk[props.idx_j] + first_atom)
            pieces_m.append(chunk[props.idx_m] + molecules)
            first_atom += n_atoms
            molecules += len(chunk[props.n_atoms])
        assert torch.equal(torch.cat(pieces_i), batch[props.idx_i])
        assert torch.equal(torch.cat(pieces_j), batch[props.idx_j])
        assert torch.equal(torch.cat(pieces_m), batch[props.idx_m])
    assert split_batch(batch, 30) == [batch] and split_batch(batch, None) == [batch]


def test_unknown_batch_entry_is_named():
    batch = {props.n_atoms: torch.tensor([2, 3]), props.idx_i: torch.tensor([0, 1]), "mystery": torch.zeros(7)}
    with pytest.raises(ValueError, match="mystery"):
        split_batch(batch, 1)


def test_chunk_size_auto_depends_on_the_device():
    assert chunk_molecules("auto", torch.device("cpu")) == 100
    assert chunk_molecules("auto", torch.device("cuda")) is None
    assert chunk_molecules(64, torch.device("cuda")) == 64


def gradient(batch, chunk):
    torch.manual_seed(0)
    task = WeightedTask(build_model(MODEL), 1e-3, None, "chunks", chunk_molecules=chunk)
    loss = task.training_step({k: v.clone() for k, v in batch.items()}, 0)
    loss.backward()
    return {name: p.grad.clone() for name, p in task.named_parameters()}, task.batch_stats


def test_chunked_gradient_equals_the_whole_batch(pool):
    _, _, idx, store = pool
    batch = packed_batch(store, idx["train"][:48])
    whole, whole_stats = gradient(batch, None)
    chunked, chunked_stats = gradient(batch, 10)
    assert whole.keys() == chunked.keys()
    for name in whole:
        scale = whole[name].abs().max()
        assert (chunked[name] - whole[name]).abs().max() <= 1e-5 * scale, name
    assert chunked_stats == pytest.approx(whole_stats, rel=1e-5)


def test_chunked_training_takes_the_same_steps(pool, tmp_path):
    root, split, idx, _ = pool
    runs = {}
    for name, chunk in (("whole", 16), ("chunked", 5)):
        settings = json.loads(json.dumps(SETTINGS))
        settings["training"].update(data_pipeline="packed", chunk_size=chunk, epochs=1)
        train(root / "pool.npz", idx, np.linspace(0.5, 2, len(split)), settings, seed=0, out_dir=tmp_path / name,
              progress_bar=False)
        runs[name] = load_model(tmp_path / name / "model.pt")[0].state_dict()
    for key, value in runs["whole"].items():
        assert torch.allclose(runs["chunked"][key], value, rtol=1e-4, atol=1e-6), key
