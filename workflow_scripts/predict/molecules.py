"""A user's molecules through one trained run: its target (U0, the gap, ...), with the error the study measured for
molecules like them.

Molecules come as xyz files (one or more molecules each, ASE's extended xyz reader) or ASE databases. Each gets
its predicted value and the run's own test-set metrics for its stratum: the MAE (with its 95 % bootstrap interval)
of the test molecules of its size and of each element group it belongs to. A molecule outside what the run was
trained on (a size no training molecule has, an element no training molecule holds) is flagged: the study's
errors say nothing about it, and an element the model never saw makes its prediction meaningless.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from ase import Atoms
from ase.data import chemical_symbols

from workflow_scripts import targets
from workflow_scripts.evaluation.units import decimals
from workflow_scripts.properties import ELEMENTS, U0, contains
from workflow_scripts.targets import Target

MOLECULE_SUFFIXES = (".xyz", ".extxyz", ".db")


class MoleculeInputError(ValueError):
    """The molecules to predict cannot be found or read; the message names the file and what to give instead."""

    user_facing = True  # logs.py: the message alone, no traceback


def molecule_files(entries, search=(".",)) -> list[str]:
    """The files ``predict.molecules`` names: files as given, folders as their xyz files and ASE databases.

    A relative path is looked up in each folder of ``search`` in turn (the working directory, then the
    workflow's folder, which holds the shipped examples).
    """
    entries = [entries] if isinstance(entries, str) else list(entries)
    folders = list(dict.fromkeys(str(Path(b).resolve()) for b in search))  # run in the workflow's folder: one
    files = []
    for entry in entries:
        found = next((Path(base) / entry for base in search if (Path(base) / entry).exists()), None)
        if found is None:
            raise MoleculeInputError(
                f"predict.molecules: {entry} does not exist (looked in {', '.join(folders)}); "
                "give xyz files, folders of them, or ASE databases (.db)"
            )
        if found.is_dir():
            inside = sorted(p for p in found.iterdir() if p.suffix in MOLECULE_SUFFIXES)
            if not inside:
                raise MoleculeInputError(f"predict.molecules: the folder {found} holds no {', '.join(MOLECULE_SUFFIXES)} files")
            files += inside
        elif found.suffix in MOLECULE_SUFFIXES:
            files.append(found)
        else:
            raise MoleculeInputError(
                f"predict.molecules: {found} is neither an xyz file nor an ASE database; "
                f"expected one of {', '.join(MOLECULE_SUFFIXES)}"
            )
    return [str(f) for f in files]


def readable_molecule_files(entries, search=(".",)) -> list[str]:
    """molecule_files, each file read once: one that cannot be read stops the run before rule predict_molecules.

    Snakemake removes a job's outputs when it starts and when it fails, so a bad file found in the job would
    cost the run's last good predictions.csv; found while Snakemake plans the jobs, it costs nothing.
    """
    files = molecule_files(entries, search)
    read_molecules(files)
    return files


def read_molecules(paths) -> list[tuple[str, str, Atoms]]:
    """(name, file, atoms) of every molecule in ``paths``; a molecule's name is its ``name`` entry, else the file's."""
    import ase.db
    import ase.io

    molecules = []
    for path in map(Path, paths):
        try:
            if path.suffix == ".db":
                with ase.db.connect(str(path)) as database:
                    found = [(row.get("name") or f"{path.stem}#{row.id}", row.toatoms()) for row in database.select()]
            else:
                frames = ase.io.read(str(path), index=":", format="extxyz")
                found = [(a.info.get("name") or (path.stem if len(frames) == 1 else f"{path.stem}#{k + 1}"), a)
                         for k, a in enumerate(frames)]
        except Exception as error:  # ASE's readers raise many kinds on a malformed file
            raise MoleculeInputError(f"predict.molecules: cannot read {path} ({type(error).__name__}: {error}); "
                                     "give extended xyz or an ASE database") from None
        if not found:
            raise MoleculeInputError(f"predict.molecules: {path} holds no molecule")
        molecules += [(str(name), str(path), atoms) for name, atoms in found]
    return molecules


def predict_property(model, data_cutoff: float, molecules: list[Atoms], batch_size: int = 100,
                     key: str = U0) -> np.ndarray:
    """The model's output ``key`` (its target, stored unit: U0 in eV) for each molecule: SchNetPack's
    AtomsConverter (ASE's neighbor list) and the model, as trained.

    The model keeps its float32 weights and its energy reference's dtype, so a study molecule gets the value in
    its predictions.parquet (within float rounding of the pair order).
    """
    # here, not at the top: the Snakefile imports this module for molecule_files, and torch takes seconds
    import schnetpack as spk
    import schnetpack.transform as trn
    import torch

    max_z = model.representation.embedding.num_embeddings - 1
    for atoms in molecules:
        if atoms.numbers.max() > max_z:
            raise MoleculeInputError(f"a molecule holds atomic number {atoms.numbers.max()}; the model knows 0 to {max_z}")
    converter = spk.interfaces.AtomsConverter(neighbor_list=trn.ASENeighborList(cutoff=data_cutoff), dtype=torch.float32)
    model = model.eval()
    with torch.no_grad():
        values = [model(converter(molecules[start:start + batch_size]))[key].double()
                  for start in range(0, len(molecules), batch_size)]
    return torch.cat(values).numpy()


def _symbols(atoms: Atoms) -> list[str]:
    """The molecule's elements, QM9's in the study's order first."""
    order = {s: i for i, s in enumerate(ELEMENTS)}
    return sorted({chemical_symbols[z] for z in atoms.numbers}, key=lambda s: (order.get(s, len(order)), s))


def _interval(row, mae: tuple[str, str, str], decimals: int) -> str:
    return f"{row[mae[0]]:.{decimals}f} [{row[mae[1]]:.{decimals}f}, {row[mae[2]]:.{decimals}f}]"


def expected_errors(molecules: list[tuple[str, str, Atoms]], predicted: np.ndarray, by_size: pd.DataFrame,
                    by_element: pd.DataFrame, trained_on: pd.DataFrame, target: Target | None = None) -> pd.DataFrame:
    """One row per molecule: prediction, its size bin's and element groups' test MAE (display unit, 95 % CI), flags.

    ``by_size`` and ``by_element`` are the run's metrics_by_size.csv and metrics_by_element.csv; ``trained_on``
    its training molecules (``n_atoms``, ``n_H`` .. ``n_F``). ``element_group`` is the molecule's element
    group with the largest MAE (every molecule holding that element, so groups overlap); ``element_groups``
    lists each of its groups. ``in_training_domain`` is false when its size or one of its elements occurs in
    no training molecule; ``note`` says which. Columns are named after ``target`` (U0 by default):
    ``U0_pred_eV``, ``size_mae_meV``; ``mu_pred_D``, ``size_mae_D``.
    """
    target = target or targets.get(targets.DEFAULT)
    mae = tuple(target.metric(m) for m in ("mae", "mae_ci_low", "mae_ci_high"))
    sizes = by_size.assign(group=by_size["group"].astype(int)).set_index("group")
    groups = by_element.set_index("group")
    train_sizes = set(trained_on["n_atoms"].astype(int))
    train_elements = {e for e in ELEMENTS if contains(trained_on, e).any()}
    rows = []
    for (name, path, atoms), value in zip(molecules, predicted):
        n, symbols = len(atoms), _symbols(atoms)
        row = {"molecule": name, "file": Path(path).name, "formula": atoms.get_chemical_formula(), "n_atoms": n,
               target.pred_column: float(value)}
        size = sizes.loc[n] if n in sizes.index else None
        row.update({**{f"size_{k}": (np.nan if size is None else size[k]) for k in mae},
                    "size_test_count": 0 if size is None else int(size["count"])})
        known = [s for s in symbols if s in groups.index]
        worst = max(known, key=lambda s: groups.loc[s, mae[0]]) if known else None
        row.update({"element_group": worst or "",
                    **{f"element_{k}": (groups.loc[worst, k] if worst else np.nan) for k in mae},
                    "element_groups": "; ".join(f"{s} {_interval(groups.loc[s], mae, decimals(target.display_unit))}" for s in known)})
        notes = []
        if n not in train_sizes:
            notes.append(f"size {n} is not among the training sizes ({min(train_sizes)} to {max(train_sizes)} atoms)")
        unseen = [s for s in symbols if s not in train_elements]
        if unseen:
            notes.append(f"{', '.join(unseen)} in no training molecule: the prediction is meaningless")
        if size is None:
            notes.append(f"no test molecule has {n} atoms: no error estimate for its size")
        row["in_training_domain"] = not (n not in train_sizes or unseen)
        row["note"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows)
