"""Packed training data: the pool in a few flat arrays, batches by index, neighbor lists per batch on the device.

SchNetPack's own data pipeline reads one ASE database row per molecule and runs its transforms (ASE neighbor list,
offsets, casts) molecule by molecule in the loader: about half of a CPU training step, and nearly all of a GPU
step. Here the pool is one ``.npz`` of contiguous arrays (molecule ``i`` = split-table row ``i`` = database
row ``i``), a batch is a gather by index, the targets are computed once for the whole pool, and the neighbor
pairs of a whole batch are built at once in torch on the device the model runs on. Batches carry SchNetPack's
input keys, dtypes and target values, so its representations, output modules and ``AtomisticTask`` work
unchanged, and ``model.initialize_transforms(datamodule)`` sets ``AddOffsets`` as with ``AtomsDataModule``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pyarrow.parquet as pq
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

import schnetpack.properties as props
from schnetpack.data import calculate_stats
from schnetpack.data.sampler import NumberOfAtomsCriterion, StratifiedSampler

from workflow_scripts.files.atomic import atomic_path
from workflow_scripts.training.devices import torch_device
from workflow_scripts import targets
from workflow_scripts.properties import LOSS_WEIGHT, ZMAX
from workflow_scripts.targets import Target
from workflow_scripts.data.metadata import read_geometry


@dataclass(frozen=True)
class PackedStore:
    """Molecules in flat arrays; molecule ``i`` has atoms ``atom_start[i]:atom_start[i + 1]``."""

    gdb_id: np.ndarray  # (M,) int32
    n_atoms: np.ndarray  # (M,) int64
    atom_start: np.ndarray  # (M + 1,) int64
    atomic_numbers: np.ndarray  # (A,) uint8
    # float64, as in the database: SchNetPack builds the neighbor list from float64 positions and casts them to
    # float32 afterwards; keeping float64 gives the same pairs at the cutoff and the same float32 model inputs.
    positions: np.ndarray  # (A, 3) float64, Angstrom
    values: np.ndarray  # (M,) float64, the study's target in its stored unit (U0: eV)
    atomref: np.ndarray  # (ZMAX,) float64, the target's QM9 atom references by atomic number (zeros: none)
    target: np.ndarray  # () str, the target's name (targets.py): the store of one study holds one target

    def __len__(self) -> int:
        return len(self.gdb_id)

    @property
    def nbytes(self) -> int:
        return sum(getattr(self, f.name).nbytes for f in fields(self))

    @property
    def spec(self) -> Target:
        """The target the store holds (targets.py)."""
        return targets.get(str(self.target))

    def atoms_of(self, rows: np.ndarray) -> np.ndarray:
        """Atom indices of the molecules ``rows``, molecule after molecule."""
        n = self.n_atoms[rows]
        first = self.atom_start[rows] - (np.cumsum(n) - n)  # shift from batch position to store position
        return np.repeat(first, n) + np.arange(n.sum())


def build_store(metadata_path, gdb_ids, out_path, target: Target | None = None) -> PackedStore:
    """Write the molecules ``gdb_ids`` (in that order) with ``target`` (U0 by default) from the metadata table to
    one uncompressed ``.npz``."""
    target = target or targets.get(targets.DEFAULT)
    gdb_ids = np.asarray(gdb_ids)
    ids, n_atoms, numbers, positions = read_geometry(metadata_path, gdb_ids)
    values = pq.read_table(metadata_path, columns=["gdb_id", target.name]).to_pandas().set_index("gdb_id")[target.name]
    atomref = target.atomref_ev()
    store = PackedStore(
        gdb_id=ids.astype(np.int32),
        n_atoms=n_atoms.astype(np.int64),
        atom_start=np.concatenate([[0], np.cumsum(n_atoms)]).astype(np.int64),
        atomic_numbers=numbers.astype(np.uint8),
        positions=np.array(positions, dtype=np.float64),  # copies: Arrow's buffers are read-only
        values=values.loc[ids].to_numpy(np.float64, copy=True),
        atomref=np.zeros(ZMAX) if atomref is None else np.asarray(atomref, dtype=np.float64),
        target=np.array(target.name),
    )
    with atomic_path(out_path) as tmp, open(tmp, "wb") as file:  # a file object: np.savez would add ".npz"
        np.savez(file, **{f.name: getattr(store, f.name) for f in fields(store)})
    return store


def load_store(path) -> PackedStore:
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    if "u0" in arrays and "values" not in arrays:  # a store written before the target setting: U0's
        arrays.update(values=arrays.pop("u0"), target=np.array(targets.DEFAULT))
    missing = {f.name for f in fields(PackedStore)} - set(arrays)
    if missing:
        raise ValueError(f"{path} is not a packed store: no {sorted(missing)}; rebuild it with build_store")
    store = PackedStore(**{f.name: arrays[f.name] for f in fields(PackedStore)})
    if store.atom_start[-1] != len(store.atomic_numbers) or len(store.positions) != len(store.atomic_numbers):
        raise ValueError(f"{path}: atom counts and atom arrays disagree; rebuild it with build_store")
    return store


def batch_neighbor_list(positions: torch.Tensor, n_atoms: torch.Tensor, cutoff: float):
    """All ordered pairs ``i != j`` of the same molecule with distance ``< cutoff``, as global atom indices.

    ASE's neighbor list (SchNetPack's ASENeighborList) for a molecule without cell or periodicity: the same
    strict ``<`` on the same float64 distance ``sqrt(sum((r_j - r_i)**2))``. Pairs come sorted by ``i`` and
    then ``j`` (ASE sorts by ``i`` only). Works on ``positions.device``; memory grows with ``sum(n_atoms**2)``.
    """
    device = positions.device
    n_pairs = n_atoms * n_atoms  # candidate pairs per molecule, self pairs included
    molecule = torch.repeat_interleave(torch.arange(len(n_atoms), device=device), n_pairs)
    # index_select rather than [] indexing throughout: several times faster on the CPU
    n = n_atoms.index_select(0, molecule)
    local = torch.arange(len(molecule), device=device) - (torch.cumsum(n_pairs, 0) - n_pairs).index_select(0, molecule)
    first_atom = (torch.cumsum(n_atoms, 0) - n_atoms).index_select(0, molecule)
    idx_i = first_atom + local // n
    idx_j = first_atom + local % n
    squared = torch.zeros(len(molecule), dtype=positions.dtype, device=device)
    for coordinate in positions.T.contiguous():  # x, y, z summed in ASE's order
        delta = coordinate.index_select(0, idx_j) - coordinate.index_select(0, idx_i)
        squared += delta * delta
    keep = torch.nonzero((idx_i != idx_j) & (squared.sqrt() < cutoff)).squeeze(1)
    return idx_i.index_select(0, keep), idx_j.index_select(0, keep)


def add_neighbor_list(batch: dict, cutoff: float) -> dict:
    """Complete a batch on its device: SchNetPack's ASENeighborList then CastTo32, done per batch."""
    positions = batch[props.R]
    idx_i, idx_j = batch_neighbor_list(positions, batch[props.n_atoms], cutoff)
    batch[props.idx_i], batch[props.idx_j] = idx_i, idx_j
    batch[props.offsets] = torch.zeros((len(idx_i), 3), dtype=torch.float32, device=positions.device)
    batch[props.R] = positions.float()
    return batch


def molecule_batch(store: PackedStore, rows, target=None, weight=None) -> dict[str, torch.Tensor]:
    """SchNetPack's input dict for the store molecules ``rows`` (CPU), except the neighbor list.

    Positions stay float64 until ``add_neighbor_list``. ``target`` and ``weight`` are arrays over the store;
    fancy indexing copies them, so in-place changes to the batch (calculate_stats makes some) stay in the batch.
    """
    rows = np.array(rows, dtype=np.int64)  # a copy: torch.from_numpy warns about read-only arrays (pandas' views)
    n = store.n_atoms[rows]
    atoms = store.atoms_of(rows)
    m = len(rows)
    batch = {
        props.idx: torch.from_numpy(rows),
        props.n_atoms: torch.from_numpy(n),
        props.Z: torch.from_numpy(store.atomic_numbers[atoms].astype(np.int64)),
        props.R: torch.from_numpy(store.positions[atoms]),
        props.cell: torch.zeros((m, 3, 3), dtype=torch.float32),
        props.pbc: torch.zeros(3 * m, dtype=torch.bool),
        props.idx_m: torch.from_numpy(np.repeat(np.arange(m), n)),
    }
    if target is not None:
        batch[store.spec.key] = torch.from_numpy(target[rows])
    if weight is not None:
        batch[LOSS_WEIGHT] = torch.from_numpy(weight[rows])
    return batch


def atomref_sums(store: PackedStore, atomref: torch.Tensor) -> torch.Tensor:
    """Per molecule ``torch.sum(atomref[Z])``, in ``atomref``'s dtype, rounded as RemoveOffsets rounds it.

    One torch.sum per molecule (RemoveOffsets' way) takes seconds for QM9; a row sum over molecules of one size
    runs the same float32 reduction order: bit for bit equal for all 130,831 QM9 molecules here, and
    tests/unit/test_packed_data.py checks it against RemoveOffsets on the machine it runs on.
    """
    per_atom = atomref[torch.from_numpy(store.atomic_numbers.astype(np.int64))]
    sums = torch.empty(len(store), dtype=atomref.dtype)
    for size in np.unique(store.n_atoms):
        molecules = np.flatnonzero(store.n_atoms == size)
        atoms = store.atom_start[molecules, None] + np.arange(size)
        sums[molecules] = per_atom[torch.from_numpy(atoms)].sum(dim=1)
    return sums


def remove_offsets(store: PackedStore, mean: torch.Tensor, atomref: torch.Tensor | None,
                   extensive: bool = True) -> np.ndarray:
    """Targets of every store molecule, as RemoveOffsets(key, remove_mean, remove_atomrefs, is_extensive) then
    CastTo32 give (``atomref`` None: remove_atomrefs off)."""
    per_molecule = torch.from_numpy(store.n_atoms) if extensive else 1
    shifted = torch.from_numpy(store.values) - mean.double() * per_molecule
    return (shifted if atomref is None else shifted - atomref_sums(store, atomref)).float().numpy()


class EpochBatchSampler(Sampler):
    """Batches of store rows: the split in order, or a seeded permutation per epoch; the last batch may be short.

    With ``sampling`` (a torch WeightedRandomSampler over positions in ``rows``, such as SchNetPack's
    StratifiedSampler) each epoch draws ``len(rows)`` molecules from it instead of permuting, with a generator
    seeded by (seed, epoch), so that a resumed run draws what an uninterrupted one would.
    """

    def __init__(self, rows: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0, sampling=None):
        self.rows = np.asarray(rows, dtype=np.int64)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.sampling = sampling
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        # Lightning calls this before every epoch, so a resumed run gets the permutations of an uninterrupted one
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __iter__(self):
        rows = self.rows
        if self.sampling is not None:
            self.sampling.generator = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, self.epoch])
                                                                        .generate_state(1)[0]))
            rows = rows[np.fromiter(iter(self.sampling), dtype=np.int64, count=len(rows))]
            self.epoch += 1
        elif self.shuffle:
            rows = rows[np.random.default_rng([self.seed, self.epoch]).permutation(len(rows))]
            self.epoch += 1  # without set_epoch (outside Lightning) the next epoch still gets a new order
        for start in range(0, len(rows), self.batch_size):
            yield rows[start:start + self.batch_size]


class _SizeView(Dataset):
    """The number of atoms of each training molecule, as SchNetPack's NumberOfAtomsCriterion reads a dataset."""

    def __init__(self, n_atoms: np.ndarray):
        self.n_atoms = torch.as_tensor(n_atoms)

    def __len__(self) -> int:
        return len(self.n_atoms)

    def __getitem__(self, i) -> dict[str, torch.Tensor]:
        return {props.n_atoms: self.n_atoms[i]}


def size_stratified_sampling(n_atoms: np.ndarray) -> StratifiedSampler:
    """SchNetPack's StratifiedSampler with its number-of-atoms criterion, one bin per molecule size.

    Each size is then drawn equally often (with replacement): balancing by sampling instead of capping.
    """
    sizes = np.asarray(n_atoms)
    bins = int(sizes.max() - sizes.min()) + 1  # one integer size per bin (a bin of equal min and max is one bin)
    return StratifiedSampler(_SizeView(sizes), NumberOfAtomsCriterion(), num_samples=len(sizes),
                             num_bins=max(bins, 1), replacement=True, verbose=False)


class PackedSplit(Dataset):
    """One split; ``split[rows]`` is the batch of store molecules ``rows`` (a DataLoader with batch_size=None)."""

    def __init__(self, store: PackedStore, rows, target, weight, atomrefs: dict):
        self.store, self.rows, self.target, self.weight = store, np.asarray(rows, dtype=np.int64), target, weight
        self.atomrefs = atomrefs  # read by RemoveOffsets/AddOffsets.datamodule, as from ASEAtomsData

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, rows) -> dict[str, torch.Tensor]:
        return molecule_batch(self.store, rows, self.target, self.weight)


def _as_is(batch):
    return batch


class PackedDataModule(pl.LightningDataModule):
    """AtomsDataModule's role over a packed store: same batches, same statistics, no per-molecule work.

    ``idx`` maps train/val/test to store rows; ``weights`` holds every store molecule's loss weight (added to
    training batches only, as schnetpack_data.py's LossWeight is). Call ``setup()`` before use (Lightning does).
    Batches leave the loaders without neighbor pairs; ``on_after_batch_transfer`` adds them on the device.

    ``fitted_atomref`` (float64, by atomic number): per-element values fitted on the training molecules; the
    targets are then the property minus them (no mean removed), as the model's AddOffsets(atomrefs=...) adds them
    back. Without it, the targets are SchNetPack's QM9 recipe: the property minus the QM9 atom references (where
    QM9 has them) and the mean per atom; for an intensive property minus the mean; the dipole moment as it is
    (model.reference_offsets adds back the same).
    ``stratified``: draw training batches with SchNetPack's StratifiedSampler by number of atoms.
    """

    def __init__(self, store: PackedStore, idx: dict, weights, batch_size: int, data_cutoff: float, seed: int = 0,
                 fitted_atomref: np.ndarray | None = None, stratified: bool = False):
        super().__init__()
        self.store, self.batch_size, self.data_cutoff, self.seed = store, batch_size, data_cutoff, seed
        self.idx = {name: np.asarray(idx[name], dtype=np.int64) for name in ("train", "val", "test")}
        self.weights = np.asarray(weights, dtype=np.float64)
        if len(self.weights) != len(store):
            raise ValueError(f"{len(self.weights)} loss weights for a store of {len(store)} molecules")
        self.fitted_atomref = None if fitted_atomref is None else torch.as_tensor(fitted_atomref, dtype=torch.float64)
        # float32, as SchNetPack's ASEAtomsData.atomrefs (torch.tensor of a list) gives them to the offset transforms
        self.key = store.spec.key
        self.atomrefs = {self.key: torch.tensor(store.atomref, dtype=torch.float32)}
        self.stratified = stratified
        self._stats = {}
        self.splits: dict[str, PackedSplit] = {}

    def setup(self, stage: str | None = None) -> None:
        if self.splits:
            return
        spec = self.store.spec
        if self.fitted_atomref is not None:
            # float64 down to the residual, which float32 holds well (eV, not the 10^4 eV of U0)
            target = (torch.from_numpy(self.store.values)
                      - atomref_sums(self.store, self.fitted_atomref)).float().numpy()
        elif spec.output == "dipole":  # no offsets: the magnitude is not a sum of per-atom values
            target = self.store.values.astype(np.float32)
        else:
            atomrefs = spec.extensive and spec.atomref_hartree is not None
            mean = self.get_stats(self.key, spec.extensive, atomrefs)[0]
            target = remove_offsets(self.store, mean, self.atomrefs[self.key] if atomrefs else None, spec.extensive)
        weight = self.weights.astype(np.float32)  # LossWeight then CastTo32
        self.splits = {
            name: PackedSplit(self.store, rows, target, weight if name == "train" else None, self.atomrefs)
            for name, rows in self.idx.items()
        }

    def get_stats(self, property: str, divide_by_atoms: bool, remove_atomref: bool):
        """(mean, std) over the training molecules, computed by SchNetPack's calculate_stats as AtomsDataModule does."""
        if property != self.key:
            raise KeyError(f"the packed store holds {self.key} only, not {property}")
        key = (property, divide_by_atoms, remove_atomref)
        if key not in self._stats:
            raw = PackedSplit(self.store, self.idx["train"], self.store.values, None, self.atomrefs)
            batches = (raw[rows] for rows in EpochBatchSampler(raw.rows, self.batch_size, shuffle=False))
            atomref = self.atomrefs if remove_atomref else None
            self._stats[key] = calculate_stats(batches, {property: divide_by_atoms}, atomref)[property]
        return self._stats[key]

    @property
    def train_dataset(self) -> PackedSplit:
        return self.splits["train"]

    @property
    def val_dataset(self) -> PackedSplit:
        return self.splits["val"]

    @property
    def test_dataset(self) -> PackedSplit:
        return self.splits["test"]

    def _loader(self, name: str, shuffle: bool) -> DataLoader:
        split = self.splits[name]
        sampling = size_stratified_sampling(self.store.n_atoms[split.rows]) if shuffle and self.stratified else None
        sampler = EpochBatchSampler(split.rows, self.batch_size, shuffle, self.seed, sampling)
        # batch_size=None: the sampler's index arrays go to split[rows] whole; one gather per batch
        return DataLoader(split, sampler=sampler, batch_size=None, collate_fn=_as_is, num_workers=0,
                          pin_memory=torch.cuda.is_available())

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        return add_neighbor_list(batch, self.data_cutoff)


@torch.no_grad()
def predict(model, store: PackedStore, rows, data_cutoff: float, batch_size: int = 256) -> np.ndarray:
    """The predicted target (stored unit: U0 in eV) of the store molecules ``rows``, in that order
    (schnetpack_data.predict over the store)."""
    device = torch_device()
    model = model.to(device)
    rows = np.asarray(rows, dtype=np.int64)
    predictions = []
    for start in range(0, len(rows), batch_size):
        batch = {k: v.to(device) for k, v in molecule_batch(store, rows[start:start + batch_size]).items()}
        predictions.append(model(add_neighbor_list(batch, data_cutoff))[store.spec.key].double().cpu())
    return torch.cat(predictions).numpy() if predictions else np.empty(0)
