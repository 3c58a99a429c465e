"""SchNetPack's ASE database of the study's molecule pool (its own data pipeline).

Row ``i`` of the database (SchNetPack index ``_idx = i``) is row ``i`` of the
split table, so training jobs address molecules by split-table position.
The study's target (U0 by default) is stored in its unit with QM9's atom references where QM9 has them, as
SchNetPack's QM9 class does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from ase import Atoms

from workflow_scripts import targets
from workflow_scripts.data.metadata import read_geometry
from workflow_scripts.properties import ZMAX
from workflow_scripts.targets import Target


def build_database(metadata_path, split, db_path, log=None, target: Target | None = None) -> None:
    """Write the molecules of ``split`` (in its row order) with ``target`` (U0 by default) to a new ASE database."""
    from workflow_scripts.training.schnetpack_data import SCHNETPACK_UNITS
    import schnetpack as spk

    db_path = Path(db_path)
    tmp = db_path.with_name(f".{db_path.stem}.tmp.db")  # ASE needs the .db suffix
    tmp.unlink(missing_ok=True)
    gdb_ids = split["gdb_id"].to_numpy()
    ids, n_atoms, numbers, positions = read_geometry(metadata_path, gdb_ids)
    import pyarrow.parquet as pq

    target = target or targets.get(targets.DEFAULT)
    table = pq.read_table(metadata_path, columns=["gdb_id", target.name]).to_pandas().set_index("gdb_id")
    values = table.loc[gdb_ids, target.name].to_numpy()
    offsets = np.concatenate([[0], np.cumsum(n_atoms)])
    atomref = target.atomref_ev()
    dataset = spk.data.ASEAtomsData.create(
        str(tmp), distance_unit="Ang", property_unit_dict={target.key: SCHNETPACK_UNITS[target.unit]},
        atomrefs={target.key: [0.0] * ZMAX if atomref is None else atomref},
    )
    chunk = 2000
    for start in range(0, len(ids), chunk):
        stop = min(start + chunk, len(ids))
        atoms = [Atoms(numbers=numbers[offsets[i]:offsets[i + 1]], positions=positions[offsets[i]:offsets[i + 1]])
                 for i in range(start, stop)]
        dataset.add_systems([{target.key: np.array([values[i]])} for i in range(start, stop)], atoms)
        if log:
            log(f"database: {stop}/{len(ids)} molecules")
    os.replace(tmp, db_path)
