"""The normalized form every QM9 source yields, before it becomes Parquet.

Both sources (``qm9pack`` CSVs and the original figshare xyz deposit) parse
into a :class:`RawMolecules`: flat arrays, raw QM9 units, molecules sorted by
GDB-9 id. :mod:`workflow_scripts.data.metadata` turns it into the Parquet table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workflow_scripts.properties import QM9_PROPERTIES


class DataError(ValueError):
    """Input data that cannot be used; the message names the item and the fix."""


@dataclass
class RawMolecules:
    gdb_id: np.ndarray  # int64 (n_molecules,), GDB-9 index 1..133885
    n_atoms: np.ndarray  # int64 (n_molecules,)
    atomic_numbers: np.ndarray  # uint8 (total atoms,), molecules concatenated
    positions: np.ndarray  # float64 (total atoms, 3), Angstrom
    smiles: np.ndarray  # object (n_molecules,), GDB SMILES string
    properties: dict[str, np.ndarray] = field(default_factory=dict)  # raw units

    def __len__(self) -> int:
        return len(self.gdb_id)

    @property
    def offsets(self) -> np.ndarray:
        """Start of each molecule's atoms in the flat arrays (n_molecules + 1)."""
        return np.concatenate([[0], np.cumsum(self.n_atoms)])

    def validate(self) -> None:
        n = len(self.gdb_id)
        if int(self.n_atoms.sum()) != len(self.atomic_numbers):
            raise DataError("atom counts do not add up to the number of atoms parsed")
        if self.positions.shape != (len(self.atomic_numbers), 3):
            raise DataError(f"positions have shape {self.positions.shape}, expected (n_atoms, 3)")
        missing = set(QM9_PROPERTIES) - set(self.properties)
        if missing:
            raise DataError(f"properties missing: {sorted(missing)}")
        for name, values in self.properties.items():
            if len(values) != n:
                raise DataError(f"property {name!r} has {len(values)} values for {n} molecules")
        if len(self.smiles) != n or len(self.n_atoms) != n:
            raise DataError("per-molecule arrays differ in length")
        if n and np.any(np.diff(self.gdb_id) <= 0):
            raise DataError("molecules are not sorted by unique gdb_id")

    def take(self, index: np.ndarray) -> "RawMolecules":
        """The molecules at ``index`` (positions in this object), in that order."""
        index = np.asarray(index, dtype=np.int64)
        offsets = self.offsets
        atom_index = np.concatenate(
            [np.arange(offsets[i], offsets[i + 1]) for i in index]
        ) if len(index) else np.zeros(0, dtype=np.int64)
        return RawMolecules(
            gdb_id=self.gdb_id[index],
            n_atoms=self.n_atoms[index],
            atomic_numbers=self.atomic_numbers[atom_index],
            positions=self.positions[atom_index],
            smiles=self.smiles[index],
            properties={k: v[index] for k, v in self.properties.items()},
        )
