"""A user's molecules for rule predict: finding and reading them, and the study's errors attached to each."""

import numpy as np
import pandas as pd
import pytest
from ase import Atoms
from ase.build import molecule
from ase.db import connect
from ase.io import write

from tests.unit.tiny_training import SETTINGS
from workflow_scripts.evaluation.stratum_metrics import METRIC_COLUMNS
from workflow_scripts.predict.molecules import (
    MoleculeInputError, expected_errors, molecule_files, predict_property, read_molecules,
    readable_molecule_files,
)
from workflow_scripts.training.model import build_model


def test_molecule_files_expands_folders_and_names_what_is_missing(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    for name in ("b.xyz", "a.xyz", "c.db", "notes.txt"):
        (folder / name).write_text("")
    elsewhere = tmp_path / "workflow"
    (elsewhere / "examples").mkdir(parents=True)
    (elsewhere / "examples/x.xyz").write_text("")
    files = molecule_files(["mine", "examples"], search=[tmp_path, elsewhere])
    assert files == [str(folder / "a.xyz"), str(folder / "b.xyz"), str(folder / "c.db"),
                     str(elsewhere / "examples/x.xyz")]
    with pytest.raises(MoleculeInputError, match=r"predict.molecules: nowhere.xyz does not exist \(looked in "):
        molecule_files(["nowhere.xyz"], search=[tmp_path])
    with pytest.raises(MoleculeInputError, match="neither an xyz file nor an ASE database"):
        molecule_files(["mine/notes.txt"], search=[tmp_path])
    (tmp_path / "empty").mkdir()
    with pytest.raises(MoleculeInputError, match="holds no .xyz"):
        molecule_files(["empty"], search=[tmp_path])


def test_a_missing_file_names_each_folder_once(tmp_path, monkeypatch):
    """Run in the workflow's folder, the working directory and the Snakefile's are one folder: named once."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MoleculeInputError) as error:
        molecule_files(["nowhere.xyz"], search=[".", str(tmp_path)])
    assert f"(looked in {tmp_path.resolve()});" in str(error.value)


def test_an_unreadable_file_is_named_before_any_job(tmp_path):
    (tmp_path / "good.xyz").write_text("1\n\nH 0 0 0\n")
    (tmp_path / "bad.xyz").write_text("3\n\nC 0 0 0\n")
    assert readable_molecule_files(["good.xyz"], search=[tmp_path]) == [str(tmp_path / "good.xyz")]
    with pytest.raises(MoleculeInputError, match=rf"cannot read {tmp_path / 'bad.xyz'} "):
        readable_molecule_files(["good.xyz", "bad.xyz"], search=[tmp_path])


def test_xyz_files_and_ase_databases_are_read_with_names(tmp_path):
    water, methane = molecule("H2O"), molecule("CH4")
    methane.info["name"] = "methane"
    write(tmp_path / "two.xyz", [water, methane], format="extxyz")
    write(tmp_path / "one.xyz", water, format="xyz")  # plain xyz
    with connect(tmp_path / "mols.db") as db:
        db.write(water, name="water")
        db.write(methane)
    read = read_molecules([tmp_path / "two.xyz", tmp_path / "one.xyz", tmp_path / "mols.db"])
    assert [(name, len(atoms)) for name, _, atoms in read] == [
        ("two#1", 3), ("methane", 5), ("one", 3), ("water", 3), ("mols#2", 5)]
    (tmp_path / "bad.xyz").write_text("3\n\nC 0 0\n")
    with pytest.raises(MoleculeInputError, match=r"cannot read .*bad.xyz .*give extended xyz or an ASE database"):
        read_molecules([tmp_path / "bad.xyz"])


def metrics(groups, mae):
    rows = [{"group": g, "count": 10, **{c: m for c in METRIC_COLUMNS[1:]}} for g, m in zip(groups, mae)]
    frame = pd.DataFrame(rows)
    frame["mae_ci_low_meV"], frame["mae_ci_high_meV"] = frame["mae_meV"] - 5, frame["mae_meV"] + 5
    return frame


def test_each_molecule_gets_its_strata_errors_and_a_flag_outside_the_training_domain():
    by_size = metrics([3, 9, 12], [100.0, 200.0, 300.0])
    by_element = metrics(["H", "C", "O", "F"], [150.0, 160.0, 170.0, 400.0])
    trained_on = pd.DataFrame({"n_atoms": [3, 9, 9, 20], "n_H": [2, 6, 6, 10], "n_C": [0, 2, 2, 8],
                               "n_N": 0, "n_O": [1, 1, 1, 0], "n_F": 0})
    ethanol, thiophene, benzene = molecule("CH3CH2OH"), molecule("C4H4S"), molecule("C6H6")
    fluorinated = Atoms("CHF3", positions=np.zeros((5, 3)))
    table = expected_errors([("ethanol", "e.xyz", ethanol), ("thiophene", "t.xyz", thiophene),
                             ("benzene", "b.xyz", benzene), ("CHF3", "f.xyz", fluorinated)],
                            np.array([-1.0, -2.0, -3.0, -4.0]), by_size, by_element, trained_on).set_index("molecule")
    assert table.loc["ethanol", "size_mae_meV"] == 200.0 and table.loc["ethanol", "size_test_count"] == 10
    assert table.loc["ethanol", "element_group"] == "O" and table.loc["ethanol", "element_mae_meV"] == 170.0
    assert table.loc["ethanol", "element_groups"] == "H 150.0 [145.0, 155.0]; C 160.0 [155.0, 165.0]; O 170.0 [165.0, 175.0]"
    assert table.loc["ethanol", "in_training_domain"] and table.loc["ethanol", "note"] == ""
    # sulfur: no element group, and no training molecule holds it
    assert not table.loc["thiophene", "in_training_domain"]
    assert table.loc["thiophene", "note"] == "S in no training molecule: the prediction is meaningless"
    assert table.loc["thiophene", "element_group"] == "C"
    # 12 atoms: a test bin exists, but no training molecule has that size
    assert table.loc["benzene", "size_mae_meV"] == 300.0 and not table.loc["benzene", "in_training_domain"]
    assert table.loc["benzene", "note"] == "size 12 is not among the training sizes (3 to 20 atoms)"
    # 5 atoms: neither a training size nor a test bin; F: a test group, but in no training molecule
    row = table.loc["CHF3"]
    assert np.isnan(row["size_mae_meV"]) and row["size_test_count"] == 0
    assert row["element_group"] == "F" and row["element_mae_meV"] == 400.0 and not row["in_training_domain"]
    assert row["note"] == ("size 5 is not among the training sizes (3 to 20 atoms); F in no training molecule: the "
                           "prediction is meaningless; no test molecule has 5 atoms: no error estimate for its size")


def test_an_element_beyond_the_models_embedding_is_named():
    model = build_model(SETTINGS["model"])
    fermium = Atoms(numbers=[100, 8], positions=[[0, 0, 0], [1.8, 0, 0]])
    with pytest.raises(MoleculeInputError, match="atomic number 100; the model knows 0 to 99"):
        predict_property(model, 4.0, [fermium])
    assert np.isfinite(predict_property(model, 4.0, [molecule("H2O"), molecule("CH4")])).all()
