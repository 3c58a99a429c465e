"""--config as users type it: nested values arrive as text and get the schema's types before validation."""

import copy
import re
import shlex

import pytest
import yaml
from snakemake.cli import parse_config
from snakemake.utils import update_config, validate

from tests.conftest import REPO, run_snakemake
from workflow_scripts.config import ConfigError
from workflow_scripts.config.validation import parse_as, validate_config

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# --config followed by its values: quoted ones or key=value words (a placeholder like key=value is left out)
CONFIG_ARGUMENTS = re.compile(r"--config((?:\s+(?:'[^']*'|[A-Za-z_]\w*=[^\s`|#']+))+)")
# The brief's own failing example: a nested number in an experiment's overrides
EXTRA_LINES = ["'experiments={targeted: {training: {lr: 0.0005}}}'"]


def documented_config_arguments() -> list[str]:
    """Every --config the README and docs show, as typed (shell quoting kept)."""
    found = []
    for document in DOCUMENTS:
        for match in CONFIG_ARGUMENTS.finditer(document.read_text()):
            arguments = match.group(1).strip()
            if arguments != "key=value" and arguments not in found:
                found.append(arguments)
    return found


def typed_config(*entries: str) -> dict:
    """config.yaml with the --config ``entries`` merged the way Snakemake merges them, then validated."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    command_line = parse_config(list(entries))
    update_config(config, command_line)
    return validate_config(config, validate=validate, command_line=command_line)


def test_the_documents_show_the_examples_tested_here():
    shown = documented_config_arguments()
    assert "'predict={molecules: [my_xyz_folder, my.db], experiment: custom, seed: 0}'" in shown
    assert "scale=thesis" in shown and len(shown) >= 5


def write_users_molecules(workdir):
    """The README's my_xyz_folder and my.db, in the working directory."""
    import ase.db
    import ase.io

    (workdir / "my_xyz_folder").mkdir(parents=True, exist_ok=True)
    ethanol = ase.io.read(REPO / "examples/molecules/ethanol.xyz")
    ase.io.write(workdir / "my_xyz_folder/ethanol.xyz", ethanol, format="extxyz")
    with ase.db.connect(str(workdir / "my.db")) as database:
        database.write(ethanol, name="ethanol")


@pytest.mark.workflow
@pytest.mark.parametrize("arguments", documented_config_arguments() + EXTRA_LINES)
def test_each_documented_config_line_runs(tmp_path, arguments):
    """A real dry run with each documented --config; the predict examples ask for rule predict."""
    write_users_molecules(tmp_path)
    entries = shlex.split(arguments)
    target = ["predict"] if any(e.startswith("predict=") for e in entries) else []
    result = run_snakemake(tmp_path, None, "-n", *target, "--config", *entries, timeout=300)
    if "seed: 0" in arguments:  # the seed arrived as the integer 0 (a string fails the schema), in the path
        assert "results/quick/predict/custom/seed0/predictions.csv" in result.stdout
    if "scale=thesis" in arguments:
        assert re.search(r"stratum_metrics\s+6\d", result.stdout)


def test_nested_values_get_the_schemas_types():
    config = typed_config("predict={molecules: [examples/molecules], experiment: custom, seed: 0}",
                          "experiments={targeted: {training: {lr: 0.0005, early_stopping_patience: null}}}",
                          "tensorboard=false", "evaluation={failure: {divergence_factor: 1e1}}")
    assert config["predict"]["seed"] == 0 and type(config["predict"]["seed"]) is int
    assert config["experiments"]["targeted"]["training"]["lr"] == 0.0005
    assert config["experiments"]["targeted"]["training"]["early_stopping_patience"] is None
    assert config["tensorboard"] is False
    assert config["evaluation"]["failure"]["divergence_factor"] == 10.0


def test_a_sweep_on_the_command_line_sweeps_numbers():
    config = typed_config("experiments={hp_lr: {sweep: {training.lr: [0.001, 5e-4]}}, "
                          "balanced: {sweep: {subset: [T2000, T4000]}}}")
    assert config["experiments"]["hp_lr"]["sweep"]["training.lr"] == [0.001, 0.0005]
    assert config["experiments"]["balanced"]["sweep"]["subset"] == ["T2000", "T4000"]


def test_a_chunk_size_of_either_kind():
    config = typed_config("defaults={training: {chunk_size: 64}}")
    assert config["defaults"]["training"]["chunk_size"] == 64
    assert typed_config("defaults={training: {chunk_size: auto}}")["defaults"]["training"]["chunk_size"] == "auto"


def test_text_the_schema_wants_as_text_stays_text():
    """An experiment named like a number, from the command line or a config file, is not turned into one."""
    assert typed_config("predict={experiment: '0'}")["predict"]["experiment"] == "0"
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["experiments"]["targeted"]["description"] = "1"
    validate_config(config, validate=validate, command_line=parse_config(["tensorboard=true"]))
    assert config["experiments"]["targeted"]["description"] == "1"


def test_a_config_files_deliberate_string_is_not_coerced():
    """Only --config values change: a quoted number in a config file still stops the run, named."""
    config = yaml.safe_load((REPO / "config.yaml").read_text())
    config["experiments"]["targeted"]["training"] = {"lr": "0.0005"}
    with pytest.raises(ConfigError, match=r"experiments.targeted.training.lr = '0.0005' is not allowed"):
        validate_config(copy.deepcopy(config), validate=validate, command_line=parse_config(["scale=quick"]))


@pytest.mark.parametrize("entry, expected", [
    ("predict={seed: zero}", r"predict.seed = 'zero' is not allowed; expected an integer or null"),
    ("predict={seed: 1.5}", r"predict.seed = '1.5' is not allowed; expected an integer or null"),
    ("experiments={targeted: {training: {lr: fast}}}", r"lr = 'fast' is not allowed; expected a number"),
])
def test_a_value_that_does_not_parse_keeps_its_message(entry, expected):
    with pytest.raises(ConfigError, match=expected):
        typed_config(entry)


@pytest.mark.parametrize("text, types, value", [
    ("0", ["integer", "null"], 0), ("null", ["integer", "null"], None), ("1e-3", "number", 0.001),
    ("false", "boolean", False), ("1.5", "integer", "not parsed"), (".nan", "number", "not parsed"),
    ("[a", "array", "not parsed"),
])
def test_parse_as(text, types, value):
    parsed = parse_as(text, types)
    assert parsed == value if value != "not parsed" else parsed is not None and parsed.__class__ is object
