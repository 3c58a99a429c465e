"""Bad config stops the run before any job, with a message naming key and fix."""

import copy
import re
import subprocess
import sys

import pytest
import yaml
from snakemake.utils import validate

from tests.conftest import REPO, run_snakemake
from workflow_scripts.config import ConfigError
from workflow_scripts.config.experiments import (CAPPED, LEARNING_CURVE, SIZE_CONTROL, VERDICT_PARTS,
                                                 expand_experiments, learning_curve_arms, matched_controls,
                                                 prediction_run, reused_runs, study_name)
from workflow_scripts.config.slurm_runtime import training_runtime_minutes
from workflow_scripts.config.validation import in_file_order, validate_config


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
        (("split", "validation_fraction"), -0.1, r"split.validation_fraction = -0.1 .* > 0"),
        (("defaults", "loss", "rate"), -1, r"defaults.loss.rate = -1 .* >= 0 and <= 30"),
        (("defaults", "loss", "alpha"), 9, r"defaults.loss.alpha = 9 .* <= 5"),
        (("defaults", "loss", "weighting"), "cubic", r"defaults.loss.weighting = 'cubic' .* one of 'none', 'size'"),
        (("subsets", "T2000", "cap_per_size"), 0, r"subsets.T2000.cap_per_size = 0 .* >= 1"),
        (("subsets", "sizes_13_to_23", "max_atoms"), 40, r"subsets.sizes_13_to_23.max_atoms = 40 .* <= 29"),
        (("defaults", "model", "data_cutoff"), 0, r"defaults.model.data_cutoff = 0 .* > 0 and <= 20"),
        (("defaults", "model", "model_cutoff"), 100, r"defaults.model.model_cutoff = 100 .* <= 20"),
        (("defaults", "model", "n_atom_basis"), 0, r"defaults.model.n_atom_basis = 0 .* >= 1"),
        (("defaults", "training", "batch_size"), 1, r"defaults.training.batch_size = 1 .* >= 2 and <= 65536"),
        (("defaults", "training", "epochs"), 0, r"defaults.training.epochs = 0 .* >= 1"),
        (("defaults", "training", "lr"), 5, r"defaults.training.lr = 5 .* > 0 and <= 1"),
        (("defaults", "seeds"), [], r"defaults.seeds = \[\] .* at least 1 item"),
        (("experiments", "custom", "training", "lr"), -1, r"experiments.custom.training.lr = -1 .* > 0"),
        (("training_budget",), "minutes", r"training_budget = 'minutes' .* one of 'equal_steps', 'epochs'"),
        (("defaults", "model", "energy_reference"), "free_atoms", r"energy_reference = 'free_atoms' .* 'qm9_atoms'"),
        (("defaults", "training", "sampler"), "by_size", r"training.sampler = 'by_size' .* 'stratified_by_size'"),
        (("defaults", "training", "scheduler"), {"kind": "cosine", "warmup_fraction": 0.1},
         r"defaults.training.scheduler lacks a required key: 'final_lr_fraction'"),
        (("defaults", "training", "scheduler"), {"kind": "plateau", "factor": 0.5},
         r"defaults.training.scheduler lacks a required key: 'patience'"),
        (("evaluation", "min_seeds_per_arm"), 1, r"evaluation.min_seeds_per_arm = 1 .* >= 2"),
        (("evaluation", "non_inferiority_margin"), 0, r"evaluation.non_inferiority_margin = 0 .* > 0"),
        (("evaluation", "failure", "divergence_factor"), 1, r"evaluation.failure.divergence_factor = 1 .* > 1"),
        (("evaluation", "convergence"), {"final_fraction": 0.25, "max_improvement": 0.05},
         r"evaluation.convergence lacks a required key: 'min_lr_fraction'"),
        (("scales", "quick", "training_threads"), 0, r"scales.quick.training_threads = 0 .* >= 1"),
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


def test_a_renamed_key_names_its_new_name(base_config):
    config = copy.deepcopy(base_config)
    config["defaults"]["training"]["data_path"] = "schnetpack"  # an overlay written before the rename
    with pytest.raises(ConfigError, match=r"^config: defaults.training.data_path was renamed to "
                                          r"defaults.training.data_pipeline \(same values\); rename it$"):
        check(config)
    config = copy.deepcopy(base_config)
    config["experiments"]["custom"]["sweep"] = {"training.data_path": ["packed", "schnetpack"]}
    with pytest.raises(ConfigError, match=r"^config: experiments.custom.sweep sweeps training.data_path, which was "
                                          r"renamed to training.data_pipeline \(same values\); rename it$"):
        check(config)


def test_split_fractions_must_leave_training_data(base_config):
    config = with_change(base_config, ("split", "test_fraction"), 0.6)
    config["split"]["validation_fraction"] = 0.35
    with pytest.raises(ConfigError, match=r"split.test_fraction \(0.6\) \+ split.validation_fraction \(0.35\)"):
        check(config)


def test_a_test_size_beyond_the_molecules_outside_the_pool_stops_the_run(base_config):
    """The quick scale's 12,000 test molecules need 11,200 from outside its pool of 4,000."""
    config = with_change(base_config, ("data", "max_molecules"), 14000)
    with pytest.raises(ConfigError, match=r"^config: scales.quick.test_size = 12000 needs 11200 test molecules from "
                                          r"outside the pool, but only 10000 .* lower it to at most 10800, set it to "
                                          r"null \(the pool's test part alone\), or raise data.max_molecules$"):
        check(config)
    config["scales"]["quick"]["test_size"] = None
    check(config)


@pytest.mark.workflow
def test_snakemake_stops_before_any_job(tmp_path):
    result = run_snakemake(tmp_path, {"data": {"source": "zenodo"}}, "--cores", "1", check=False)
    assert result.returncode != 0
    assert "data.source = 'zenodo' is not allowed; expected one of 'qm9pack', 'figshare'" in result.stderr
    assert not (tmp_path / "results").exists()


def rename_subset(config):
    config["experiments"]["custom"]["subset"] = "nonexistent"


def typo_in_final_comparison(config):
    config["final_comparison"]["Custom"] = "typo"


def leave_out_the_baseline(config):
    config["only_experiments"] = ["custom"]


def inverted_size_range(config):
    config["subsets"]["inverted"] = {"min_atoms": 20, "max_atoms": 10}


def sweep_an_unknown_setting(config):
    config["experiments"]["custom"]["sweep"] = {"training.momentum": [1, 2]}


def sweep_a_value_twice(config):
    config["experiments"]["hp_lr"]["sweep"] = {"training.lr": [0.001, 0.0005, 0.001]}


def select_an_unknown_experiment(config):
    config["only_experiments"] = ["baseline", "basline"]


def two_placebos(config):
    config["experiments"]["placebo2"] = {"part": "placebo", "seeds": [7]}


def match_an_unknown_subset(config):
    config["subsets"]["T2000_random"] = {"same_size_as": "T3000"}


def match_a_matched_subset(config):
    config["subsets"]["again"] = {"same_size_as": "T2000_random"}


def match_itself(config):
    config["subsets"]["loop"] = {"same_size_as": "loop"}


def match_in_a_cycle(config):
    config["subsets"]["a"] = {"same_size_as": "b"}
    config["subsets"]["b"] = {"same_size_as": "a"}


def cap_a_random_subset(config):
    config["subsets"]["fraction_25"] = {"fraction": 0.25, "cap_per_size": 100}


@pytest.mark.parametrize(
    "change, expected",
    [
        (rename_subset, r"experiments.custom uses subset 'nonexistent', which is not defined; defined subsets: full"),
        (typo_in_final_comparison, r"final_comparison.Custom = 'typo' is not an experiment"),
        (leave_out_the_baseline, r"leaves out the baseline 'baseline'"),
        (inverted_size_range, r"subsets.inverted has min_atoms = 20 > max_atoms = 10; it would select no molecule"),
        (sweep_an_unknown_setting, r"experiments.custom.sweep"),
        (sweep_a_value_twice, r"experiments.hp_lr.sweep.training.lr = \[0.001, 0.0005, 0.001\] is not allowed; "
                              r"expected a list without repeated values"),
        (select_an_unknown_experiment, r"only_experiments names 'basline', which is not an experiment"),
        (two_placebos, r"at most one experiment may have part: placebo"),
        (match_an_unknown_subset, r"subsets.T2000_random.same_size_as = 'T3000' is not a subset; defined subsets: "
                                  r"full, T2000"),
        (match_a_matched_subset, r"subsets.again.same_size_as names 'T2000_random', which is matched in size to "
                                 r"'T2000' in turn; name a subset with a size of its own"),
        (match_itself, r"subsets.loop.same_size_as names the subset itself"),
        (match_in_a_cycle, r"subsets.a.same_size_as names 'b', which is matched in size to 'a' in turn"),
        (cap_a_random_subset, r"subsets.fraction_25 states cap_per_size, fraction; a random subset \(same_size_as "
                              r"or fraction\) draws from the whole training set and takes no other key"),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_names_that_refer_to_nothing_or_collide(base_config, change, expected):
    config = copy.deepcopy(base_config)
    change(config)
    with pytest.raises(ConfigError, match=expected):
        check(config)


def leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, (*path, key))
    else:
        yield path


SETTINGS = list(leaves(yaml.safe_load((REPO / "config.yaml").read_text())))


@pytest.mark.parametrize("path", SETTINGS, ids=[".".join(map(str, p)) for p in SETTINGS])
def test_every_setting_rejects_a_wrong_type(base_config, path):
    """Every setting of the shipped config, given a mapping where a value or list belongs, is named."""
    with pytest.raises(ConfigError, match=rf"^config: {re.escape('.'.join(map(str, path)))} = "):
        check(with_change(base_config, path, {"wrong": "type"}))


@pytest.mark.workflow
def test_a_key_stated_twice_stops_the_run(tmp_path):
    """Two experiments with the same name in YAML: the loader would keep the second silently."""
    (tmp_path / "overlay.yaml").write_text(
        "experiments:\n  custom:\n    part: final\n    subset: full\n  custom:\n    part: extra\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(tmp_path / "overlay.yaml"), "-n"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )
    assert result.returncode != 0
    assert (f"config: {tmp_path / 'overlay.yaml'} states experiments.custom twice (lines 2 and 5); "
            "YAML would keep only the last one") in result.stdout + result.stderr
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("where", [("defaults",), ("scales", "quick", "defaults"),
                                   ("scales", "quick", "target_defaults", "gap")])
def test_the_study_budget_rule_is_stated_once(base_config, where):
    config = copy.deepcopy(base_config)
    node = config
    for key in where:
        node = node[key]
    node.setdefault("training", {})["budget"] = "epochs"
    with pytest.raises(ConfigError, match=rf"{'.'.join(where)}.training.budget is not allowed: the study's budget "
                                          r"rule is training_budget \(now 'equal_steps'\)"):
        check(config)


def test_a_target_default_applies_to_its_target_at_its_scale_only(base_config):
    """The orbital energies train at half the quick scale's learning rate; U0 (the thesis's study) and the thesis
    scale keep theirs, and an experiment's own value still wins."""
    def lr(scale, target, experiment="baseline", config=base_config):
        every = expand_experiments({**config, "scale": scale, "target": target})
        return next(e for e in every if e["name"] == experiment)["training"]["lr"]
    assert lr("quick", "U0") == 0.03
    assert lr("quick", "gap") == lr("quick", "homo") == lr("quick", "lumo") == 0.015
    assert lr("quick", "G") == 0.03
    assert lr("thesis", "gap") == lr("thesis", "U0") == 1e-3
    own = copy.deepcopy(base_config)
    own["experiments"]["baseline"]["training"] = {"lr": 2e-4}
    assert lr("quick", "gap", config=own) == 0.006
    check({**base_config, "target": "gap"})
    bad = copy.deepcopy(base_config)
    bad["scales"]["quick"]["target_defaults"]["gapp"] = {"training": {"lr": 1e-4}}
    with pytest.raises(ConfigError, match="gapp"):
        check(bad)


def test_scale_defaults_and_reused_runs(base_config):
    quick = {e["name"]: e for e in expand_experiments({**base_config, "scale": "quick"})}
    thesis = {e["name"]: e for e in expand_experiments({**base_config, "scale": "thesis"})}
    assert quick["baseline"]["model"]["energy_reference"] == "fitted"
    assert quick["baseline"]["training"]["scheduler"]["kind"] == "cosine"
    assert thesis["baseline"]["model"]["energy_reference"] == "qm9_atoms"
    assert thesis["baseline"]["training"]["scheduler"]["kind"] == "plateau"
    # the study's rule, except the experiment that states its own (Custom under the thesis's rule, for Table 2)
    assert {e["training"]["budget"] for n, e in quick.items() if n != "custom_thesis_budget"} == {"equal_steps"}
    assert quick["custom_thesis_budget"]["training"]["budget"] == "epochs"
    assert {**quick["custom_thesis_budget"]["training"], "budget": "equal_steps"} == quick["custom"]["training"]
    for key in ("model", "loss", "subset", "seeds"):
        assert quick["custom_thesis_budget"][key] == quick["custom"][key]
    every_epochs = expand_experiments({**base_config, "training_budget": "epochs"})
    assert {e["training"]["budget"] for e in every_epochs} == {"epochs"}
    # an experiment's own setting still wins over the scale's defaults, then the scale's factors apply
    assert quick["hp_lr-0.0001"]["training"]["lr"] == 1e-4 * 30  # scaled as every learning rate at quick
    for experiments in (quick, thesis):
        reused = reused_runs(list(experiments.values()), base_config["subsets"])
        assert reused == {(name, 0): ("baseline", 0) for name in (
            "hp_batch_size-512", "hp_epochs-22", "hp_lr-0.001", "hp_data_cutoff-5", "hp_model_cutoff-5",
            "hp_n_atom_basis-128")}
    verdict_arms = [n for n, e in thesis.items() if e["part"] in VERDICT_PARTS]
    assert all(len(thesis[n]["seeds"]) >= 3 and len(quick[n]["seeds"]) >= 2 for n in verdict_arms)


def test_each_cap_has_its_random_control_of_the_same_size(base_config):
    """matched_controls pairs an arm with the control whose subset is drawn same_size_as the arm's."""
    for scale in ("quick", "thesis"):
        experiments = {e["name"]: e for e in expand_experiments({**base_config, "scale": scale})}
        controls = matched_controls(experiments, base_config["subsets"])
        assert controls == {f"balanced-T{t}": f"balanced_control-T{t}_random" for t in (2000, 4000, 6000)}
        # the controls train as the baseline does, on another subset; at quick, with the caps' 2 seeds
        for arm, control in controls.items():
            assert experiments[control]["part"] == "balancing_control"
            assert experiments[control]["seeds"] == experiments[arm]["seeds"] == experiments["baseline"]["seeds"]
            assert {k: experiments[control][k] for k in ("model", "training", "loss")} == \
                {k: experiments["baseline"][k] for k in ("model", "training", "loss")}
    # matched through the subsets' definitions, not their names; a control not run matches nothing
    config = copy.deepcopy(base_config)
    config["subsets"]["same_as_T4000"] = {"same_size_as": "T4000"}
    config["experiments"]["balanced_control"]["sweep"] = {"subset": ["same_as_T4000", "T2000_random"]}
    config["only_experiments"] = ["baseline", "balanced", "balanced_sampler", "balanced_control-same_as_T4000"]
    experiments = {e["name"]: e for e in expand_experiments(check(config))}
    assert matched_controls(experiments, config["subsets"]) == {"balanced-T4000": "balanced_control-same_as_T4000"}


def test_the_learning_curve_shows_the_baseline_the_fractions_the_caps_and_their_controls(base_config):
    experiments = {e["name"]: e for e in expand_experiments(base_config)}
    assert learning_curve_arms(experiments, base_config["subsets"]) == [
        ("baseline", LEARNING_CURVE), *((f"learning_curve-fraction_{p}", LEARNING_CURVE) for p in (25, 50, 75)),
        *((f"balanced-T{t}", CAPPED) for t in (2000, 4000, 6000)),  # not balanced_sampler: not a cap
        *((f"balanced_control-T{t}_random", SIZE_CONTROL) for t in (2000, 4000, 6000))]
    assert all(len(experiments[f"learning_curve-fraction_{p}"]["seeds"]) == 1 for p in (25, 50, 75))
    assert learning_curve_arms({"baseline": experiments["baseline"]}, base_config["subsets"]) == [
        ("baseline", LEARNING_CURVE)]


def test_training_runtime_grows_with_epochs_pool_and_attempt(base_config):
    thesis = {**copy.deepcopy(base_config), "scale": "thesis"}
    baseline = next(e for e in expand_experiments(thesis) if e["name"] == "baseline")
    # 30 min + 8 min per full-QM9 epoch: 22 epochs over all 130,831 molecules
    assert baseline["training"]["epochs"] == 22
    assert training_runtime_minutes(thesis, baseline) == 30 + 176
    assert training_runtime_minutes(thesis, baseline, attempt=2) == 2 * 206
    # 4,000 molecules of the quick scale: 22 * 8 * 4000 / 130831 = 5.4 -> 6
    quick = {**copy.deepcopy(base_config), "scale": "quick"}
    assert training_runtime_minutes(quick, baseline) == 36
    # the first-N-molecules setting bounds the pool too
    thesis["data"] = {**thesis["data"], "max_molecules": 13083}
    assert training_runtime_minutes(thesis, baseline) == 30 + 18


def test_predict_names_a_trained_experiment_and_one_of_its_seeds(base_config):
    def run_of(**predict):
        config = check({**base_config, "predict": {**base_config["predict"], **predict}})
        return prediction_run(config, {e["name"]: e for e in expand_experiments(config)})

    assert run_of() == ("baseline", 0)
    assert run_of(experiment="hp_lr-0.001", seed=0) == ("hp_lr-0.001", 0)
    with pytest.raises(ConfigError, match=r"^config: predict.experiment = 'linear_reference' is not a trained "
                                          r"experiment of this study; choose one of \["):
        run_of(experiment="linear_reference")
    # the quick scale keeps the baseline's 3 seeds
    with pytest.raises(ConfigError, match=r"^config: predict.seed = 3 is not a seed of baseline at scale quick; "
                                          r"choose one of \[0, 1, 2\]"):
        run_of(seed=3)
    with pytest.raises(ConfigError, match=r"^config: predict.molecules = \[\] is not allowed"):
        run_of(molecules=[])


def test_each_study_has_its_own_folder(base_config):
    """Scale, target and representation name a study's folder; the thesis's target and model stay unnamed."""
    def named(scale, target=None, representation=None):
        config = with_change(base_config, ["scale"], scale)
        if target is not None:
            config["target"] = target
        if representation is not None:
            config["defaults"]["model"]["representation"] = representation
        return study_name(config)

    assert named("quick") == "quick" and named("thesis") == "thesis"
    assert named("quick", "U0", "schnet") == "quick"
    assert named("quick", "gap") == "quick-gap"
    assert named("thesis", representation="painn") == "thesis-painn"
    assert named("quick", "gap", "painn") == "quick-gap-painn"


def test_command_line_values_take_the_config_files_key_order_so_equal_settings_are_equal_params(tmp_path):
    """Snakemake puts --config keys first and compares params by repr: the same values must give the same repr."""
    config_file, overlay = tmp_path / "config.yaml", tmp_path / "overlay.yaml"
    config_file.write_text("scale: quick\ndefaults:\n  model: {width: 32}\n  training: {lr: 0.001, epochs: 3}\n")
    overlay.write_text("defaults:\n  training: {ema: 0.99}\n")
    # as Snakemake merges `--config 'defaults={training: {epochs: 3}}'`: the command line's keys first
    merged = {"defaults": {"training": {"epochs": 3, "lr": 0.001, "ema": 0.99}, "model": {"width": 32}},
              "scale": "quick", "only_experiments": ["baseline"]}
    in_file_order(merged, [config_file, overlay])
    assert repr(merged) == repr({"scale": "quick", "defaults": {"model": {"width": 32},
                                                                "training": {"lr": 0.001, "epochs": 3, "ema": 0.99}},
                                 "only_experiments": ["baseline"]})
