"""The QM9 metadata table: one row per molecule, written as Parquet.

Columns (units in each field's Parquet metadata, and in docs/data.md):
``gdb_id``, ``n_atoms``, ``n_H`` .. ``n_F``, ``n_heavy``, ``smiles``, the 15
scalar QM9 properties (energies in eV), ``atomic_numbers`` (list<uint8>) and
``positions`` (list<fixed_size_list<float64, 3>>, Angstrom). The geometry sits
in the same file so that later stages need no other source; Parquet is
columnar, so stages that need only the scalars never read it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from workflow_scripts.files.atomic import write_parquet
from workflow_scripts.properties import ATOMIC_NUMBERS, COUNT_COLUMN, COUNT_COLUMNS, QM9_PROPERTIES
from workflow_scripts.data.raw_molecules import RawMolecules

GEOMETRY_COLUMNS = ("atomic_numbers", "positions")

UNITS = {
    "gdb_id": "GDB-9 index (1..133885)",
    "n_atoms": "atoms",
    **{c: "atoms" for c in COUNT_COLUMNS},
    "n_heavy": "atoms (non-hydrogen)",
    "smiles": "GDB-17 SMILES",
    **{name: unit for name, (_, unit, _) in QM9_PROPERTIES.items()},
    "atomic_numbers": "Z",
    "positions": "Angstrom",
}


def element_counts(records: RawMolecules) -> dict[str, np.ndarray]:
    """Atoms of each QM9 element per molecule, counted from the atomic numbers."""
    molecule_of_atom = np.repeat(np.arange(len(records)), records.n_atoms)
    counts = {}
    for symbol, column in COUNT_COLUMN.items():
        is_element = records.atomic_numbers == ATOMIC_NUMBERS[symbol]
        counts[column] = np.bincount(molecule_of_atom[is_element], minlength=len(records)).astype(np.int16)
    return counts


def to_table(records: RawMolecules) -> pa.Table:
    records.validate()
    counts = element_counts(records)
    offsets = pa.array(records.offsets.astype(np.int32))
    columns = {
        "gdb_id": pa.array(records.gdb_id.astype(np.int32)),
        "n_atoms": pa.array(records.n_atoms.astype(np.int16)),
        **{name: pa.array(values) for name, values in counts.items()},
        "n_heavy": pa.array((records.n_atoms - counts[COUNT_COLUMN["H"]]).astype(np.int16)),
        "smiles": pa.array(records.smiles.tolist(), type=pa.string()),
    }
    for name, (_, _, factor) in QM9_PROPERTIES.items():
        columns[name] = pa.array(records.properties[name] * factor)
    columns["atomic_numbers"] = pa.ListArray.from_arrays(offsets, pa.array(records.atomic_numbers))
    xyz = pa.FixedSizeListArray.from_arrays(pa.array(records.positions.reshape(-1)), 3)
    columns["positions"] = pa.ListArray.from_arrays(offsets, xyz)

    fields = [
        pa.field(name, array.type, nullable=False, metadata={"unit": UNITS[name]})
        for name, array in columns.items()
    ]
    return pa.Table.from_arrays(list(columns.values()), schema=pa.schema(fields))


def write_metadata(records: RawMolecules, path) -> pa.Table:
    table = to_table(records)
    write_parquet(table, path)
    return table


def read_metadata(path, geometry: bool = False, columns: list[str] | None = None):
    """The metadata as a pandas DataFrame; geometry columns only when asked."""
    if columns is None:
        schema = pq.read_schema(path)
        columns = [n for n in schema.names if geometry or n not in GEOMETRY_COLUMNS]
    return pq.read_table(path, columns=columns).to_pandas()


def read_geometry(path, gdb_ids: np.ndarray | None = None):
    """Flat geometry arrays for the molecules of ``gdb_ids`` (all if None).

    Returns ``(gdb_id, n_atoms, atomic_numbers, positions)`` with molecules in
    the order of ``gdb_ids``, read straight from the Arrow buffers.
    """
    table = pq.read_table(path, columns=["gdb_id", "n_atoms", *GEOMETRY_COLUMNS])
    ids = table["gdb_id"].to_numpy()
    if gdb_ids is not None:
        order = np.argsort(ids)
        where = order[np.minimum(np.searchsorted(ids, gdb_ids, sorter=order), len(ids) - 1)]
        if not np.array_equal(ids[where], gdb_ids):
            missing = np.setdiff1d(gdb_ids, ids)[:5]
            raise KeyError(f"gdb_ids not in {path}: {missing.tolist()} ...")
        table = table.take(pa.array(where))
    z = table["atomic_numbers"].combine_chunks()
    r = table["positions"].combine_chunks()
    atomic_numbers = z.flatten().to_numpy()
    positions = r.flatten().flatten().to_numpy().reshape(-1, 3)
    return table["gdb_id"].to_numpy(), table["n_atoms"].to_numpy().astype(np.int64), atomic_numbers, positions
