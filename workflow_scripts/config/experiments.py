"""Validation of config.yaml and everything derived from it.

The JSON schema (schemas/config.schema.yaml) says what each key may hold;
this module turns a schema violation into one sentence that names the key,
the value and what is allowed, and checks what a schema cannot (fractions
that must add up, names that must refer to each other).
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from workflow_scripts.data.subsets import size_range
from workflow_scripts.properties import N_QM9_CHARACTERIZED

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """A config.yaml mistake; the message says which key and how to fix it."""


def key_path(path) -> str:
    parts = []
    for part in path:
        parts.append(f"[{part}]" if isinstance(part, int) else (f".{part}" if parts else str(part)))
    return "".join(parts) or "(top level)"


def _allowed(error) -> str:
    """What the schema allows at the failing place, in words."""
    validator, value, schema = error.validator, error.validator_value, error.schema
    if validator == "enum":
        return "one of " + ", ".join(repr(v) for v in value)
    if validator == "type":
        types = value if isinstance(value, list) else [value]
        words = {"null": "null", "integer": "an integer", "number": "a number", "string": "a string",
                 "object": "a mapping", "array": "a list", "boolean": "true or false"}
        text = " or ".join(words.get(t, t) for t in types)
        return text + _range_text(schema)
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return "a value" + _range_text(schema)
    if validator == "additionalProperties":
        return "only the keys " + ", ".join(sorted(schema.get("properties", {})))
    if validator == "required":
        return "all of " + ", ".join(value)
    if validator == "pattern":
        return f"text matching {value!r}"
    if validator in ("minItems", "maxItems"):
        return f"a list with {'at least' if validator == 'minItems' else 'at most'} {value} items"
    if validator == "uniqueItems":
        return "a list without repeated values (each value names one experiment or seed)"
    if validator in ("minProperties", "maxProperties"):
        return f"a mapping with {'at least' if validator == 'minProperties' else 'at most'} {value} keys"
    return f"{validator}: {value}"


def _range_text(schema) -> str:
    bounds = []
    for key, symbol in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<")):
        if key in schema:
            bounds.append(f"{symbol} {schema[key]}")
    if "$ref" in schema and not bounds:
        return ""
    return (" " + " and ".join(bounds)) if bounds else ""


def describe_validation_error(error) -> str:
    """One readable sentence for a jsonschema ValidationError."""
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - allowed)
        where = key_path(error.absolute_path)
        names = ", ".join(
            f"{where}.{k}" if error.absolute_path else k for k in unknown
        )
        return f"config: unknown key {names}; allowed at {where}: {', '.join(sorted(allowed))}"
    if error.validator == "required":
        return f"config: {key_path(error.absolute_path)} lacks a required key: {error.message}"
    description = error.schema.get("description")
    text = (
        f"config: {key_path(error.absolute_path)} = {error.instance!r} is not allowed; "
        f"expected {_allowed(error)}"
    )
    return text + (f" ({description})" if description else "")


def validation_error_from(exc: BaseException):
    """The jsonschema ValidationError inside whatever snakemake.utils.validate raised."""
    import jsonschema

    seen = set()
    stack = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, jsonschema.ValidationError):
            return item
        stack.extend(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))
        for attr in ("__cause__", "__context__"):
            if getattr(item, attr, None) is not None:
                stack.append(getattr(item, attr))
    return None


def validate_config(config: dict, validate=None) -> dict:
    """Validate ``config`` in place (schema defaults filled in) and check it.

    ``validate`` is ``snakemake.utils.validate`` inside the workflow; tests may
    pass it too. Raises :class:`ConfigError` with a one-line explanation.
    """
    if validate is None:
        from snakemake.utils import validate
    try:
        validate(config, schema=str(SCHEMA_PATH))
    except Exception as exc:  # snakemake wraps the jsonschema error in a WorkflowError
        error = validation_error_from(exc)
        if error is None:
            raise
        raise ConfigError(describe_validation_error(error)) from None
    check_semantics(config)
    return config


def check_semantics(config: dict) -> None:
    split = config["split"]
    for name, subset in config["subsets"].items():
        low, high = size_range(subset)
        if low > high:
            raise ConfigError(
                f"config: subsets.{name} has min_atoms = {low} > max_atoms = {high}; it would select no molecule"
            )
    names = {}
    every = expand_experiments(config, apply_scale=False, select=False)
    for experiment in every:
        if experiment["name"] in names:
            raise ConfigError(
                f"config: experiments {names[experiment['name']]} and {experiment['source']} both define "
                f"an experiment named {experiment['name']!r}; rename one"
            )
        names[experiment["name"]] = experiment["source"]
        if experiment["subset"] not in config["subsets"]:
            raise ConfigError(
                f"config: {experiment['source']} uses subset {experiment['subset']!r}, which is not defined; "
                f"defined subsets: {', '.join(config['subsets'])}"
            )
    expanded = set(names)
    sweeps = {e["base"] for e in every}
    for label, name in config["final_comparison"].items():
        if name not in expanded:
            raise ConfigError(f"config: final_comparison.{label} = {name!r} is not an experiment; choose one of {sorted(expanded)}")
    for name in config["only_experiments"] or []:
        if name not in expanded and name not in sweeps:
            raise ConfigError(
                f"config: only_experiments names {name!r}, which is not an experiment; choose from {sorted(expanded)}"
            )
    baselines = [n for n, e in config["experiments"].items() if e["part"] == "baseline"]
    if len(baselines) != 1:
        raise ConfigError(f"config: exactly one experiment needs part: baseline (the reference of every figure); found {baselines}")
    placebos = [n for n, e in config["experiments"].items() if e["part"] == "placebo"]
    if len(placebos) > 1:
        raise ConfigError(f"config: at most one experiment may have part: placebo (the verdicts' control); found {placebos}")
    selected = config["only_experiments"]
    if selected and baselines[0] not in selected:
        raise ConfigError(
            f"config: only_experiments = {selected} leaves out the baseline {baselines[0]!r}, which every figure and "
            "verdict compares against; add it"
        )
    if split["test_fraction"] + split["validation_fraction"] >= 0.9:
        raise ConfigError(
            f"config: split.test_fraction ({split['test_fraction']}) + split.validation_fraction "
            f"({split['validation_fraction']}) = {split['test_fraction'] + split['validation_fraction']:.3g} "
            "leaves less than 10 % of the molecules to train on; make the sum smaller than 0.9"
        )


def check_duplicate_keys(path) -> None:
    """Reject a YAML file that states a key twice in one mapping.

    YAML loaders (Snakemake's too) keep the last value silently: two
    experiments with the same name would become one, and a study would run
    without the first. Raises ConfigError naming the file, the key and both lines.
    """
    with open(path) as handle:
        root = yaml.compose(handle)

    def walk(node, where):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                dotted = f"{where}.{name}" if where else str(name)
                if name is not None and name in seen:
                    raise ConfigError(
                        f"config: {path} states {dotted} twice (lines {seen[name] + 1} and {key.start_mark.line + 1}); "
                        "YAML would keep only the last one: rename or remove one"
                    )
                seen[name] = key.start_mark.line
                walk(value, dotted)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{where}[{i}]")

    walk(root, "")


def load_yaml(path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)


def scale_settings(config: dict) -> dict:
    return config["scales"][config["scale"]]


# Minutes of a full-QM9 training epoch budgeted on a cluster GPU. Generous on
# purpose: a job cut off by its time limit loses at most an epoch (it resumes
# from its checkpoint), but one that never finishes an attempt makes no progress.
MINUTES_PER_FULL_EPOCH = 8
RUNTIME_BASE_MINUTES = 30  # start-up, data loading, predicting the test set


def training_runtime_minutes(config: dict, experiment: dict, attempt: int = 1) -> int:
    """Wall time (minutes) a training job asks of the scheduler: grows with epochs and pool, and per retry."""
    # the pool: the scale's, within the first-N-molecules setting, within QM9
    limits = (scale_settings(config)["pool_size"], config["data"].get("max_molecules"), N_QM9_CHARACTERIZED)
    pool = min(limit for limit in limits if limit)
    epochs = experiment["training"]["epochs"]
    per_epoch = MINUTES_PER_FULL_EPOCH * pool / N_QM9_CHARACTERIZED
    return attempt * (RUNTIME_BASE_MINUTES + math.ceil(epochs * per_epoch))


def training_identity(experiment: dict, subsets: dict) -> str:
    """What decides a training's result, apart from its seed: the subset's definition and every setting."""
    import json

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
    import copy

    experiments = []
    defaults = copy.deepcopy(config["defaults"])
    if apply_scale:  # a scale's own defaults (what makes a short run converge) replace the study's, key by key
        for section, values in scale_settings(config).get("defaults", {}).items():
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
            experiment.update(
                name=name, base=base, part=entry["part"], source=f"experiments.{base}",
                description=entry.get("description", ""), sweep_key=key, sweep_value=value,
            )
            if apply_scale:
                scale_experiment(experiment, scale_settings(config))
            experiments.append(experiment)
    selected = config.get("only_experiments") if select else None
    if selected:
        experiments = [e for e in experiments if e["name"] in selected or e["base"] in selected]
    return experiments
