"""The Parquet metadata table: schema, units, geometry round trip, atomic writes."""

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from workflow_scripts.files.atomic import atomic_path
from workflow_scripts.data.metadata import read_geometry, read_metadata, write_metadata
from workflow_scripts.data.qm9_qm9pack import read_qm9pack


@pytest.fixture(scope="module")
def records():
    return read_qm9pack(max_molecules=50)


def test_schema_and_units(tmp_path, records):
    path = tmp_path / "qm9.parquet"
    write_metadata(records, path)
    schema = pq.read_schema(path)
    for name in ["gdb_id", "n_atoms", "n_H", "n_C", "n_N", "n_O", "n_F", "smiles", "U0", "atomic_numbers", "positions"]:
        assert name in schema.names
    assert schema.field("U0").metadata[b"unit"] == b"eV"
    assert schema.field("positions").metadata[b"unit"] == b"Angstrom"
    positions = schema.field("positions").type
    assert positions.value_type.list_size == 3 and str(positions.value_type.value_type) == "double"
    meta = read_metadata(path)
    assert "positions" not in meta.columns and len(meta) == 50


def test_geometry_round_trip_in_requested_order(tmp_path, records):
    path = tmp_path / "qm9.parquet"
    write_metadata(records, path)
    ids, n_atoms, z, r = read_geometry(path, np.array([5, 1]))
    assert ids.tolist() == [5, 1] and n_atoms.tolist() == [3, 5]
    assert z.tolist() == [6, 7, 1, 6, 1, 1, 1, 1]
    np.testing.assert_array_equal(r[3], records.positions[0])
    with pytest.raises(KeyError, match="999"):
        read_geometry(path, np.array([1, 999]))


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]
