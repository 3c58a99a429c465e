"""The target table (workflow_scripts/targets.py): units, aggregation, SchNetPack keys, and the config's check."""

import copy

import pytest
import yaml
from snakemake.utils import validate

from tests.conftest import REPO
from workflow_scripts.config import ConfigError
from workflow_scripts.config.validation import validate_config
from workflow_scripts.properties import EV_TO_MEV, HARTREE_TO_EV, QM9_PROPERTIES
from workflow_scripts.representations import LABELS
from workflow_scripts.targets import TARGETS, anchor, get, target_of

PROPERTIES = ["U0", "U", "H", "G", "zpve", "homo", "lumo", "gap", "alpha", "r2", "Cv", "mu"]


def test_every_property_has_one_entry():
    assert list(TARGETS) == PROPERTIES


@pytest.mark.parametrize("name, unit, display, factor", [
    *[(n, "eV", "meV", EV_TO_MEV) for n in ("U0", "U", "H", "G", "zpve", "homo", "lumo", "gap")],
    ("mu", "D", "D", 1.0), ("alpha", "Bohr^3", "Bohr^3", 1.0), ("r2", "Bohr^2", "Bohr^2", 1.0),
    ("Cv", "cal/mol/K", "cal/mol/K", 1.0),
])
def test_unit_factor(name, unit, display, factor):
    target = TARGETS[name]
    assert (target.unit, target.display_unit, target.factor) == (unit, display, factor)
    stored = QM9_PROPERTIES[name][1]  # the metadata table's stored unit is the target's stored unit
    assert {"Debye": "D", "cal/(mol K)": "cal/mol/K"}.get(stored, stored) == unit


def test_meV_targets_keep_the_column_names():
    assert [n for n, t in TARGETS.items() if t.unit_tag == "meV"] == PROPERTIES[:8]
    assert TARGETS["mu"].unit_tag == "D"


@pytest.mark.parametrize("name, extensive", [
    ("U0", True), ("U", True), ("H", True), ("G", True), ("zpve", True), ("alpha", True), ("r2", True),
    ("Cv", True), ("homo", False), ("lumo", False), ("gap", False), ("mu", False)])
def test_extensive_or_intensive(name, extensive):
    assert TARGETS[name].extensive is extensive


def test_schnetpack_keys_and_outputs():
    import schnetpack as spk

    for name, target in TARGETS.items():
        assert getattr(spk.datasets.QM9, name) == target.key
        assert target.output == ("dipole" if name == "mu" else "atomwise")


def test_qm9_atom_references_only_where_qm9_has_them():
    assert [n for n, t in TARGETS.items() if t.atomref_ev() is not None] == ["U0", "U", "H", "G"]
    assert TARGETS["U0"].atomref_ev()[1] == pytest.approx(-0.500273 * HARTREE_TO_EV)
    assert [n for n, t in TARGETS.items() if t.energy] == ["U0", "U", "H", "G"]


def test_published_anchors():
    assert anchor(TARGETS["U0"], "schnet") == 14.0
    assert anchor(TARGETS["gap"], "painn") == 45.7
    assert anchor(TARGETS["mu"], "schnet") == 0.033
    assert anchor(TARGETS["G"], "schnet") is None
    assert anchor(TARGETS["U0"], "so3net") is None


def test_unknown_target_names_the_key_and_the_choices():
    with pytest.raises(ValueError, match=r"target = 'U1' .*choices: U0, U, H, G, zpve, homo, lumo, gap, alpha"):
        get("U1")
    assert target_of({}).name == "U0"


def test_schema_enums_are_the_table():
    schema = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    assert schema["properties"]["target"]["enum"] == list(TARGETS)
    cross = schema["properties"]["cross_study"]["properties"]
    assert cross["targets"]["items"]["enum"] == list(TARGETS)
    assert cross["representations"]["items"]["enum"] == list(LABELS)


@pytest.mark.parametrize("path, value, expected", [
    (("target",), "U1", r"target = 'U1' is not allowed; expected one of 'U0', 'U', 'H', 'G'"),
    (("cross_study", "targets"), ["U0", "energy"], r"cross_study.targets\[1\] = 'energy' is not allowed"),
    (("cross_study", "representations"), ["schnet", "dimenet"],
     r"cross_study.representations\[1\] = 'dimenet' is not allowed"),
])
def test_config_rejects_an_unknown_target(base_config, path, value, expected):
    config = copy.deepcopy(base_config)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=expected):
        validate_config(config, validate=validate)


@pytest.mark.parametrize("name", PROPERTIES)
def test_every_target_of_the_table_is_a_valid_config(base_config, name):
    config = copy.deepcopy(base_config)
    config["target"] = name
    validate_config(config, validate=validate)


@pytest.mark.parametrize("name, true, pred, mae, mse", [
    ("U0", "U0_true_eV", "U0_pred_eV", "mae_meV", "mse_eV2"),  # the thesis study's names, unchanged
    ("gap", "gap_true_eV", "gap_pred_eV", "mae_meV", "mse_eV2"),
    ("mu", "mu_true_D", "mu_pred_D", "mae_D", "mse_D2"),
    ("alpha", "alpha_true_Bohr3", "alpha_pred_Bohr3", "mae_Bohr3", "mse_Bohr6"),
    ("Cv", "Cv_true_cal_molK", "Cv_pred_cal_molK", "mae_cal_molK", "mse_cal_molK2"),
])
def test_column_names_follow_the_target(name, true, pred, mae, mse):
    target = TARGETS[name]
    assert (target.true_column, target.pred_column, target.metric("mae"), target.mse_column) == (true, pred, mae, mse)
    assert target.metric("mae_ci_low") == mae.replace("mae", "mae_ci_low")
