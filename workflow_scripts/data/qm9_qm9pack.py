"""Read QM9 from the CSV files shipped inside the ``qm9pack`` wheel.

``import qm9pack`` fails on current setuptools (it imports ``pkg_resources``),
so the package is located with ``importlib`` and its CSVs are read by path.
Coordinates hold tokens such as ``0.`` that JSON rejects, and list-like text
columns are untrusted: they are parsed as numbers and symbols, never evaluated.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd

from workflow_scripts.properties import ATOMIC_NUMBERS, ELEMENTS
from workflow_scripts.data.raw_molecules import DataError, RawMolecules

CSV_FILES = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")

# qm9pack column -> QM9 property name (raw units, see properties.QM9_PROPERTIES)
PROPERTY_COLUMNS = {
    "RotA_GHz": "A",
    "RotB_GHz": "B",
    "RotC_GHz": "C",
    "Dipole_debye": "mu",
    "Polarizability_bohr3": "alpha",
    "HOMO_au": "homo",
    "LUMO_au": "lumo",
    "HOMO_LUMO_gap_au": "gap",
    "R2_bohr2": "r2",
    "ZPVE_au": "zpve",
    "InternalEnergy_0K_au": "U0",
    "InternalEnergy_298K_au": "U",
    "Enthalphy_298K_au": "H",
    "GibbsFreeEnergy_298K_au": "G",
    "Heatcapacity_Cv_cal_mol_K": "Cv",
}
USECOLS = ["Index", "SMILES", "N_atoms", "Stoichiometry", "Elements", "XYZ_Ang", *PROPERTY_COLUMNS]

_SYMBOL = re.compile(r"[A-Z][a-z]?")
_BRACKETS_AND_COMMAS = str.maketrans("[],", "   ")


def qm9pack_data_dir() -> Path:
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(
            "the qm9pack package is not installed: run the README's set-up command "
            "(it installs qm9pack==1.0.3) or set data.source: figshare in config.yaml"
        )
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "data"
    missing = [f for f in CSV_FILES if not (data_dir / f).is_file()]
    if missing:
        raise DataError(f"qm9pack is installed at {data_dir.parent} but lacks {missing}; reinstall qm9pack==1.0.3")
    return data_dir


def read_csvs(paths: list[Path], max_molecules: int | None = None) -> pd.DataFrame:
    frames = []
    remaining = max_molecules
    for path in paths:
        frame = pd.read_csv(path, usecols=USECOLS, nrows=remaining)
        frames.append(frame)
        if remaining is not None:
            remaining -= len(frame)
            if remaining <= 0:
                break
    frame = pd.concat(frames, ignore_index=True).sort_values("Index", kind="stable")
    if max_molecules is not None:
        frame = frame.iloc[:max_molecules]
    return frame.reset_index(drop=True)


def parse_number_lists(texts: pd.Series, name: str) -> np.ndarray:
    """All numbers of a column of list-like strings (``[[1.,2],[3,4.]]``), flat.

    One ``split`` over the joined column instead of one parse per row: this is
    what keeps the full 130k-molecule read to a few seconds.
    """
    joined = " ".join(texts.tolist()).translate(_BRACKETS_AND_COMMAS)
    try:
        return np.array(joined.split(), dtype=np.float64)
    except ValueError as err:
        bad = _first_unparseable(texts)
        raise DataError(f"column {name!r}: {bad}") from err


def _first_unparseable(texts: pd.Series) -> str:
    for row, text in texts.items():
        try:
            np.array(str(text).translate(_BRACKETS_AND_COMMAS).split(), dtype=np.float64)
        except ValueError:
            return f"row {row} does not parse as a list of numbers: {str(text)[:80]!r}"
    return "unparseable content"


def frame_to_records(frame: pd.DataFrame) -> RawMolecules:
    """Normalize qm9pack rows into :class:`RawMolecules` (raw QM9 units)."""
    gdb_id = frame["Index"].to_numpy(np.int64)
    n_atoms = frame["N_atoms"].to_numpy(np.int64)

    symbols_per_molecule = [_SYMBOL.findall(s) for s in frame["Elements"].tolist()]
    counts = np.fromiter((len(s) for s in symbols_per_molecule), dtype=np.int64, count=len(frame))
    _check_per_molecule(gdb_id, counts, n_atoms, "Elements lists {got} atoms but N_atoms is {want}")
    try:
        atomic_numbers = np.array(
            [ATOMIC_NUMBERS[s] for symbols in symbols_per_molecule for s in symbols], dtype=np.uint8
        )
    except KeyError as err:
        raise DataError(f"unknown element {err.args[0]!r} in the Elements column (QM9 has {ELEMENTS})") from err

    coordinates = parse_number_lists(frame["XYZ_Ang"], "XYZ_Ang")
    if len(coordinates) != 3 * int(n_atoms.sum()):
        coords_per_molecule = np.array(
            [len(t.translate(_BRACKETS_AND_COMMAS).split()) for t in frame["XYZ_Ang"].tolist()]
        )
        _check_per_molecule(gdb_id, coords_per_molecule, 3 * n_atoms, "XYZ_Ang holds {got} numbers, expected {want}")

    stoichiometry = parse_number_lists(frame["Stoichiometry"], "Stoichiometry").reshape(-1, len(ELEMENTS))
    _check_per_molecule(
        gdb_id, stoichiometry.sum(axis=1).astype(np.int64), n_atoms, "Stoichiometry sums to {got} atoms, N_atoms is {want}"
    )

    properties = {}
    for column, name in PROPERTY_COLUMNS.items():
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(np.float64)
        if np.isnan(values).any():
            bad = int(gdb_id[np.isnan(values)][0])
            raise DataError(f"molecule gdb_id={bad}: column {column!r} is not a number")
        properties[name] = values

    records = RawMolecules(
        gdb_id=gdb_id,
        n_atoms=n_atoms,
        atomic_numbers=atomic_numbers,
        positions=coordinates.reshape(-1, 3),
        smiles=frame["SMILES"].astype(object).to_numpy(),
        properties=properties,
    )
    records.validate()
    return records


def _check_per_molecule(gdb_id, got, want, message):
    bad = np.flatnonzero(got != want)
    if len(bad):
        i = bad[0]
        raise DataError(f"molecule gdb_id={gdb_id[i]}: " + message.format(got=got[i], want=want[i]))


def read_qm9pack(max_molecules: int | None = None, data_dir: Path | None = None) -> RawMolecules:
    """The 130,831 characterized QM9 molecules (or the first ``max_molecules``)."""
    data_dir = Path(data_dir) if data_dir else qm9pack_data_dir()
    return frame_to_records(read_csvs([data_dir / f for f in CSV_FILES], max_molecules))
