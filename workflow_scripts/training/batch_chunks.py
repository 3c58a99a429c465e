"""A batch of molecules cut into chunks of whole molecules, for one optimizer step in several passes.

On a CPU a SchNet step's throughput collapses above about a hundred QM9 molecules per batch (batch 512 runs at
less than half the rate of batch 100: the pair tensors no longer fit in cache). The training task therefore
runs a large batch as chunks: forward and backward per chunk, gradients added up, one optimizer step. With
each chunk's loss divided by the whole batch's molecule count, the summed gradient is the batch's gradient, so
the step is the batch's step (tests/unit/test_batch_chunks.py compares them).

Batches are SchNetPack's collated input dictionaries (both data pipelines make them): per-atom tensors, per-pair
tensors (the neighbor list) and per-molecule tensors, atoms and pairs grouped by molecule.
"""

from __future__ import annotations

import torch

import schnetpack.properties as props

ATOM_KEYS = (props.Z, props.R, props.idx_m)
PAIR_KEYS = (props.idx_i, props.idx_j, props.offsets, props.lidx_i, props.lidx_j)  # *_local: within a molecule
PER_MOLECULE_ROWS = {props.pbc: 3}  # collated flat: three periodicity flags per molecule
CPU_CHUNK_MOLECULES = 100  # about the largest batch whose throughput holds up on a CPU (docs/benchmarks.md)


def chunk_molecules(setting, device: torch.device) -> int | None:
    """Molecules per pass for ``training.chunk_size``: ``auto`` is 100 on a CPU and no chunking on a GPU."""
    if setting == "auto":
        return CPU_CHUNK_MOLECULES if device.type == "cpu" else None
    return setting


def split_batch(batch: dict[str, torch.Tensor], molecules: int | None) -> list[dict[str, torch.Tensor]]:
    """``batch`` cut into batches of at most ``molecules`` molecules (the batch itself when it is no larger)."""
    n_atoms = batch[props.n_atoms]
    n = len(n_atoms)
    if not molecules or n <= molecules:
        return [batch]
    first_atom = [0] + torch.cumsum(n_atoms, 0).tolist()
    idx_i = batch[props.idx_i]
    chunks = []
    for a in range(0, n, molecules):
        b = min(n, a + molecules)
        atoms = slice(first_atom[a], first_atom[b])
        pairs = torch.nonzero((idx_i >= atoms.start) & (idx_i < atoms.stop)).squeeze(1)
        chunk = {}
        for key, value in batch.items():
            if key in ATOM_KEYS:
                chunk[key] = value[atoms]
            elif key in PAIR_KEYS:
                chunk[key] = value.index_select(0, pairs)
            elif len(value) == PER_MOLECULE_ROWS.get(key, 1) * n:
                rows = PER_MOLECULE_ROWS.get(key, 1)
                chunk[key] = value[rows * a: rows * b]
            else:
                raise ValueError(f"cannot cut batch entry {key!r} (shape {tuple(value.shape)}) by molecule")
        chunk[props.idx_i] = chunk[props.idx_i] - atoms.start
        chunk[props.idx_j] = chunk[props.idx_j] - atoms.start
        chunk[props.idx_m] = chunk[props.idx_m] - a
        chunks.append(chunk)
    return chunks
