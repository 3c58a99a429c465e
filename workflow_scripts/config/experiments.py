"""The experiments config.yaml states, in full: scale settings, defaults, overrides and sweeps expanded, the
runs that reuse another's training, and the run rule predict uses."""

from __future__ import annotations

import copy
import json

from workflow_scripts.config import ConfigError
from workflow_scripts import targets
from workflow_scripts.properties import LINEAR_REFERENCE
from workflow_scripts.representations import keep_own_settings


# The parts of the study whose runs the hypotheses H1-H4 compare (the placebo and the caps' random draws of the
# same size are their controls).
VERDICT_PARTS = ("baseline", "balancing", "balancing_control", "targeted", "placebo")

# The series of the learning curve (results/<study>/tables/learning_curve.csv and its figure): the baseline on random
# fractions of the training set and on all of it, the capped arms, and their random controls of the same size.
LEARNING_CURVE = "learning curve"
CAPPED = "capped per size"
SIZE_CONTROL = "random, as many as a cap"


def in_parts(experiments: dict, *parts: str) -> list[str]:
    """The experiments (name -> settings) of the given parts of the study, in config order."""
    return [name for name, e in experiments.items() if e["part"] in parts]


def baseline_of(experiments: dict) -> str | None:
    """The baseline experiment, the one every remedy is compared with (None if not run)."""
    return next(iter(in_parts(experiments, "baseline")), None)


def matched_controls(experiments: dict, subsets: dict) -> dict[str, str]:
    """Each balancing arm's data-size control: arm -> the balancing_control experiment whose subset is drawn
    ``same_size_as`` the arm's (balanced-T2000 -> balanced_control-T2000_random).

    Arms without one (balanced_sampler trains on the whole training set) are left out; of two controls of one
    subset, the first in config order.
    """
    controls = {}
    for name in in_parts(experiments, "balancing_control"):
        controls.setdefault(subsets[experiments[name]["subset"]].get("same_size_as"), name)
    return {arm: controls[experiments[arm]["subset"]] for arm in in_parts(experiments, "balancing")
            if experiments[arm]["subset"] in controls}


def learning_curve_arms(experiments: dict, subsets: dict) -> list[tuple[str, str]]:
    """(experiment, series) of the learning curve: the baseline first, the learning_curve experiments, the capped
    balancing arms, the balancing controls (those that run)."""
    capped = [n for n in in_parts(experiments, "balancing") if "cap_per_size" in subsets[experiments[n]["subset"]]]
    curve = [n for n in [baseline_of(experiments), *in_parts(experiments, "learning_curve")] if n]
    return ([(n, LEARNING_CURVE) for n in curve]
            + [(n, CAPPED) for n in capped] + [(n, SIZE_CONTROL) for n in in_parts(experiments, "balancing_control")])


def scale_settings(config: dict) -> dict:
    return config["scales"][config["scale"]]


# The thesis's target and model: a study of them is named by its scale alone.
THESIS_TARGET, THESIS_REPRESENTATION = targets.DEFAULT, "schnet"


def study_name(config: dict) -> str:
    """The study's folder under results/: its scale, then its target and representation where they differ from the
    thesis's (U0, SchNet): ``quick``, ``thesis``, ``quick-gap``, ``quick-painn``, ``quick-gap-painn``.

    A split, a model or a report belongs to one scale, target and representation; in their own folders, studies
    of several run side by side and a second one re-trains nothing of the first.
    """
    target = config.get("target", THESIS_TARGET)
    representation = config["defaults"]["model"].get("representation", THESIS_REPRESENTATION)
    parts = [config["scale"]] + [p for p, thesis in ((target, THESIS_TARGET),
                                                      (representation, THESIS_REPRESENTATION)) if p != thesis]
    return "-".join(str(p) for p in parts)


def cross_studies(config: dict) -> list[dict]:
    """The studies of the cross-study (config ``cross_study``): each target x representation at this scale, with
    its folder's name and the config values that make the study (given to Snakemake as --config)."""
    studies = []
    for target in config["cross_study"]["targets"]:
        for representation in config["cross_study"]["representations"]:
            overrides = {"target": target, "defaults": {"model": {"representation": representation}}}
            named = {**config, "target": target,
                     "defaults": {**config["defaults"], "model": {**config["defaults"]["model"],
                                                                  "representation": representation}}}
            studies.append({"target": target, "representation": representation, "study": study_name(named),
                            "overrides": overrides})
    return studies


def baseline_seeds(config: dict) -> list[int]:
    """The baseline's seeds at the config's scale (the same in every study of the cross-study)."""
    return next(e["seeds"] for e in expand_experiments(config, select=False) if e["part"] == "baseline")


def cross_study_files(study: str, seeds) -> dict:
    """What the cross-study reads of the study in results/``study``: the baseline's metrics per seed, the linear
    reference's."""
    runs = f"results/{study}/experiments"
    return {
        "by_size": [f"{runs}/baseline/seed{s}/metrics_by_size.csv" for s in seeds],
        "by_element": [f"{runs}/baseline/seed{s}/metrics_by_element.csv" for s in seeds],
        "reference": f"{runs}/{LINEAR_REFERENCE}/seed0/metrics_overall.csv",
    }


def training_identity(experiment: dict, subsets: dict) -> str:
    """What decides a training's result, apart from its seed: the subset's definition and every setting."""
    return json.dumps({"subset": subsets[experiment["subset"]], "model": experiment["model"],
                       "training": experiment["training"], "loss": experiment["loss"]}, sort_keys=True)


def reused_runs(experiments: list[dict], subsets: dict) -> dict[tuple[str, int], tuple[str, int]]:
    """Runs whose settings and seed equal another run's: (experiment, seed) -> the run that trains for both.

    A sweep point with the baseline's value (say hp_lr-0.001, seed 0) is the baseline's training again; it
    reuses the baseline's results instead of training. The baseline trains first, then config order.
    """
    ordered = sorted(experiments, key=lambda e: e["part"] != "baseline")
    trains, reused = {}, {}
    for experiment in ordered:
        identity = training_identity(experiment, subsets)
        for seed in experiment["seeds"]:
            run = (experiment["name"], seed)
            if (identity, seed) in trains:
                reused[run] = trains[(identity, seed)]
            else:
                trains[(identity, seed)] = run
    return reused


def prediction_run(config: dict, experiments: dict) -> tuple[str, int]:
    """(experiment, seed) whose model rule predict uses: ``predict.experiment`` among ``experiments`` (those run)."""
    name, seed = config["predict"]["experiment"], config["predict"]["seed"]
    if name not in experiments:
        raise ConfigError(
            f"config: predict.experiment = {name!r} is not a trained experiment of this study; choose one of "
            f"{sorted(experiments)}" + (" (only_experiments leaves out the others)" if config["only_experiments"] else "")
        )
    seeds = experiments[name]["seeds"]
    if seed is None:
        return name, seeds[0]
    if seed not in seeds:
        raise ConfigError(f"config: predict.seed = {seed} is not a seed of {name} at scale {config['scale']}; "
                          f"choose one of {seeds} (or null: the first)")
    return name, seed


def _set_dotted(target: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = value


def _value_label(value) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def scale_experiment(experiment: dict, scale: dict) -> dict:
    """The experiment's settings at ``scale``: fewer epochs, smaller batches, narrower model, larger steps."""
    model, training = experiment["model"], experiment["training"]
    model["n_atom_basis"] = max(4, round(model["n_atom_basis"] * scale["width_factor"]))
    if scale["max_interactions"] is not None:
        model["n_interactions"] = min(model["n_interactions"], scale["max_interactions"])
    training["epochs"] = max(1, round(training["epochs"] * scale["epochs_factor"]))
    training["batch_size"] = max(2, round(training["batch_size"] * scale["batch_size_factor"]))
    training["lr"] = min(1.0, float(f"{training['lr'] * scale['lr_factor']:.6g}"))  # rounded: 1e-3 * 30 is 0.03
    if scale["max_seeds"] is not None:
        experiment["seeds"] = experiment["seeds"][: scale["max_seeds"]]
    return experiment


def expand_experiments(config: dict, apply_scale: bool = True, select: bool = True) -> list[dict]:
    """Every experiment with its full settings: defaults, overrides, sweeps, scale.

    Each item: ``name``, ``base`` (the config entry it comes from), ``source``
    (where in config.yaml), ``part``, ``subset``, ``seeds``, ``model``,
    ``training``, ``loss``, and ``sweep_key`` / ``sweep_value`` for sweeps.
    """
    experiments = []
    defaults = copy.deepcopy(config["defaults"])
    if apply_scale:  # a scale's own defaults (what makes a short run converge) replace the study's, key by key,
        # then what the study's target needs at that scale
        scale = scale_settings(config)
        target_defaults = scale.get("target_defaults", {}).get(config.get("target", targets.DEFAULT), {})
        for overlay in (scale.get("defaults", {}), target_defaults):
            for section, values in overlay.items():
                defaults[section].update(copy.deepcopy(values))
    defaults["training"]["budget"] = config["training_budget"]
    for base, entry in config["experiments"].items():
        settings = copy.deepcopy(defaults)
        for key in ("subset", "seeds"):
            if key in entry:
                settings[key] = entry[key]
        for key in ("model", "training", "loss"):
            settings[key].update(copy.deepcopy(entry.get(key, {})))
        sweep = entry.get("sweep")
        variants = [(None, None)]
        if sweep:
            key, values = next(iter(sweep.items()))
            variants = [(key, v) for v in values]
        for key, value in variants:
            experiment = copy.deepcopy(settings)
            name = base if key is None else f"{base}-{_value_label(value)}"
            if key is not None:
                _set_dotted(experiment, key, value)
            keep_own_settings(experiment["model"])
            experiment.update(
                name=name, base=base, part=entry["part"], source=f"experiments.{base}",
                description=entry.get("description", ""), sweep_key=key, sweep_value=value,
            )
            if config.get("target", targets.DEFAULT) != targets.DEFAULT:  # U0's settings stay as they were
                experiment["target"] = config["target"]
            if apply_scale:
                scale_experiment(experiment, scale_settings(config))
            experiments.append(experiment)
    selected = config.get("only_experiments") if select else None
    if selected:
        experiments = [e for e in experiments if e["name"] in selected or e["base"] in selected]
    return experiments
