"""SchNetPack's ASE database of the study's molecule pool (its own data pipeline).

Row ``i`` of the database (SchNetPack index ``_idx = i``) is row ``i`` of the
split table, so training jobs address molecules by split-table position.
U0 is stored in eV with the QM9 atom references, as SchNetPack's QM9 class does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from ase import Atoms

from workflow_scripts.properties import U0, atomref_u0_ev
from workflow_scripts.data.metadata import read_geometry


def build_database(metadata_path, split, db_path, log=None) -> None:
    """Write the molecules of ``split`` (in its row order) to a new ASE database."""
    import schnetpack as spk

    db_path = Path(db_path)
    tmp = db_path.with_name(f".{db_path.stem}.tmp.db")  # ASE needs the .db suffix
    tmp.unlink(missing_ok=True)
    gdb_ids = split["gdb_id"].to_numpy()
    ids, n_atoms, numbers, positions = read_geometry(metadata_path, gdb_ids)
    import pyarrow.parquet as pq

    table = pq.read_table(metadata_path, columns=["gdb_id", "U0"]).to_pandas().set_index("gdb_id")
    energies = table.loc[gdb_ids, "U0"].to_numpy()
    offsets = np.concatenate([[0], np.cumsum(n_atoms)])
    dataset = spk.data.ASEAtomsData.create(
        str(tmp), distance_unit="Ang", property_unit_dict={U0: "eV"}, atomrefs={U0: atomref_u0_ev()}
    )
    chunk = 2000
    for start in range(0, len(ids), chunk):
        stop = min(start + chunk, len(ids))
        atoms = [Atoms(numbers=numbers[offsets[i]:offsets[i + 1]], positions=positions[offsets[i]:offsets[i + 1]])
                 for i in range(start, stop)]
        dataset.add_systems([{U0: np.array([energies[i]])} for i in range(start, stop)], atoms)
        if log:
            log(f"database: {stop}/{len(ids)} molecules")
    os.replace(tmp, db_path)
