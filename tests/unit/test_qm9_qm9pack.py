"""Parsing the qm9pack CSVs, against values read by hand from the first rows."""

import numpy as np
import pytest

from workflow_scripts.properties import HARTREE_TO_EV
from workflow_scripts.data.metadata import element_counts, to_table
from workflow_scripts.data.qm9_qm9pack import frame_to_records, qm9pack_data_dir, read_csvs, read_qm9pack
from workflow_scripts.data.raw_molecules import DataError


@pytest.fixture(scope="module")
def first_ten():
    return read_qm9pack(max_molecules=10)


def test_first_molecules_by_hand(first_ten):
    # qm9pack row 1: methane CH4, row 2: ammonia NH3, row 3: water H2O
    assert first_ten.gdb_id[:3].tolist() == [1, 2, 3]
    assert first_ten.n_atoms[:3].tolist() == [5, 4, 3]
    assert first_ten.atomic_numbers[:12].tolist() == [6, 1, 1, 1, 1, 7, 1, 1, 1, 8, 1, 1]
    np.testing.assert_allclose(first_ten.positions[0], [-0.0126981359, 1.0858041578, 0.0080009958])
    assert first_ten.properties["U0"][0] == -40.47893
    assert first_ten.smiles[:3].tolist() == ["C", "N", "O"]
    # acetylene is written with tokens like "0." and "1." that JSON rejects
    np.testing.assert_allclose(first_ten.positions[12], [0.5995394918, 0.0, 1.0])


def test_unit_conversion_and_counts(first_ten):
    table = to_table(first_ten).to_pandas()
    methane = table.iloc[0]
    assert methane["U0"] == pytest.approx(-40.47893 * 27.211386246, rel=1e-12)
    assert methane["U0"] == pytest.approx(-1101.487799, abs=1e-5)  # computed by hand
    assert methane["homo"] == pytest.approx(-0.3877 * HARTREE_TO_EV)
    assert methane["alpha"] == 13.21  # Bohr^3 stays as is
    counts = element_counts(first_ten)
    assert [int(counts[f"n_{e}"][0]) for e in "HCNOF"] == [4, 1, 0, 0, 0]
    assert [int(counts[f"n_{e}"][5]) for e in "HCNOF"] == [2, 1, 0, 1, 0]  # formaldehyde
    assert table["n_heavy"].iloc[:3].tolist() == [1, 1, 1]


def test_counts_agree_with_stoichiometry_column():
    frame = read_csvs([qm9pack_data_dir() / "qm9_part1.csv"], max_molecules=2000)
    records = frame_to_records(frame)
    counts = element_counts(records)
    stoich = np.array([[int(x) for x in s.strip("[]").split(",")] for s in frame["Stoichiometry"]])
    for k, e in enumerate("HCNOF"):
        np.testing.assert_array_equal(counts[f"n_{e}"], stoich[:, k])


def _bad_frame(column, value, row=3):
    frame = read_csvs([qm9pack_data_dir() / "qm9_part1.csv"], max_molecules=6)
    frame.loc[row, column] = value
    return frame


def test_unparseable_coordinates_name_the_row():
    with pytest.raises(DataError, match="XYZ_Ang.*row 3"):
        frame_to_records(_bad_frame("XYZ_Ang", "[[1.0,__import__('os')],[2,3,4]]"))


def test_atom_count_mismatch_names_the_molecule():
    with pytest.raises(DataError, match="gdb_id=4: Elements lists 3 atoms but N_atoms is 4"):
        frame_to_records(_bad_frame("Elements", "['C','C','H']"))


def test_unknown_element_is_rejected():
    with pytest.raises(DataError, match="unknown element 'Cl'"):
        frame_to_records(_bad_frame("Elements", "['C','C','H','Cl']"))


def test_list_columns_are_never_evaluated(tmp_path):
    """Code in a list column is an error, never run: the payload evaluates to the row's own coordinates (it would
    pass every check if evaluated) and creates a marker file on the way; the parser must refuse it, and the marker
    must not exist."""
    marker = tmp_path / "evaluated"
    frame = read_csvs([qm9pack_data_dir() / "qm9_part1.csv"], max_molecules=6)
    original = frame.loc[3, "XYZ_Ang"]
    first = original.lstrip("[").split(",")[0]
    payload = original.replace(first, f"(__import__('pathlib').Path({str(marker)!r}).touch() or {first})", 1)
    assert eval(payload.replace(".touch()", ".exists()")) == eval(original)  # the row itself, to eval
    frame.loc[3, "XYZ_Ang"] = payload
    with pytest.raises(DataError, match="XYZ_Ang.*row 3"):
        frame_to_records(frame)
    assert not marker.exists(), "the parser evaluated the column's text"


def test_max_molecules_takes_the_first_by_gdb_id():
    records = read_qm9pack(max_molecules=25)
    assert records.gdb_id.tolist() == list(range(1, 26))
