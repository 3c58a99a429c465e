"""Bad config stops the run before any job, with a message naming key and fix."""

import copy

import pytest
from snakemake.utils import validate

from tests.conftest import run_snakemake
from workflow_scripts.config import ConfigError, validate_config


def check(config):
    return validate_config(copy.deepcopy(config), validate=validate)


def with_change(base, path, value):
    config = copy.deepcopy(base)
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return config


def test_shipped_config_is_valid(base_config):
    check(base_config)


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (("scale",), "huge", r"scale = 'huge' is not allowed; expected one of 'tiny', 'quick', 'thesis'"),
        (("data", "source"), "zenodo", r"data.source = 'zenodo' .* one of 'qm9pack', 'figshare'"),
        (("data", "max_molecules"), "many", r"data.max_molecules = 'many' .* an integer or null"),
        (("data", "max_molecules"), 3, r"data.max_molecules = 3 .* >= 10"),
        (("plots", "dpi"), 5000, r"plots.dpi = 5000 .* <= 1200"),
        (("split", "test_fraction"), 1.5, r"split.test_fraction = 1.5 .* < 1"),
        (("scales", "quick", "epochs_factor"), 0, r"scales.quick.epochs_factor = 0 .* > 0"),
        (("data", "figshare", "mirrors"), ["ftp://x/"], r"data.figshare.mirrors\[0\] = 'ftp://x/'.*matching"),
        (("data", "figshare", "checksums", "xyz"), "abc", r"checksums.xyz = 'abc'"),
        (("analysis", "frequent_bin_fraction"), -0.1, r"analysis.frequent_bin_fraction = -0.1 .* >= 0"),
    ],
)
def test_bad_values_are_named(base_config, path, value, expected):
    with pytest.raises(ConfigError, match=expected):
        check(with_change(base_config, path, value))


def test_unknown_key_lists_the_allowed_ones(base_config):
    config = copy.deepcopy(base_config)
    config["data"]["sorce"] = "qm9pack"
    with pytest.raises(ConfigError, match=r"unknown key data.sorce; allowed at data: figshare, max_molecules, source"):
        check(config)
    config = copy.deepcopy(base_config)
    config["epochs"] = 3
    with pytest.raises(ConfigError, match=r"unknown key epochs; allowed at \(top level\):"):
        check(config)


def test_split_fractions_must_leave_training_data(base_config):
    config = with_change(base_config, ("split", "test_fraction"), 0.6)
    config["split"]["validation_fraction"] = 0.35
    with pytest.raises(ConfigError, match=r"split.test_fraction \(0.6\) \+ split.validation_fraction \(0.35\)"):
        check(config)


@pytest.mark.workflow
def test_snakemake_stops_before_any_job(tmp_path):
    result = run_snakemake(tmp_path, {"data": {"source": "zenodo"}}, "--cores", "1", check=False)
    assert result.returncode != 0
    assert "data.source = 'zenodo' is not allowed; expected one of 'qm9pack', 'figshare'" in result.stderr
    assert not (tmp_path / "results").exists()


def test_cross_references_are_checked(base_config):
    config = copy.deepcopy(base_config)
    config["experiments"]["custom"]["subset"] = "nonexistent"
    with pytest.raises(ConfigError, match="experiments.custom uses subset 'nonexistent', which is not defined"):
        check(config)
    config = copy.deepcopy(base_config)
    config["final_comparison"]["Custom"] = "typo"
    with pytest.raises(ConfigError, match="final_comparison.Custom = 'typo' is not an experiment"):
        check(config)
    config = copy.deepcopy(base_config)
    config["only_experiments"] = ["custom"]
    with pytest.raises(ConfigError, match="leaves out the baseline 'baseline'"):
        check(config)
    config = copy.deepcopy(base_config)
    config["subsets"]["inverted"] = {"min_atoms": 20, "max_atoms": 10}
    with pytest.raises(ConfigError, match="subsets.inverted has min_atoms = 20 > max_atoms = 10"):
        check(config)
    config = copy.deepcopy(base_config)
    config["experiments"]["custom"]["sweep"] = {"training.momentum": [1, 2]}
    with pytest.raises(ConfigError, match="experiments.custom.sweep"):
        check(config)
