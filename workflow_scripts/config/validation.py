"""Validation of config.yaml: schema, duplicate keys, the checks a schema cannot make, and their wording.

The JSON schema (schemas/config.schema.yaml) says what each key may hold;
this module turns a schema violation into one sentence that names the key,
the value and what is allowed, and checks what a schema cannot (fractions
that must add up, names that must refer to each other, a key stated twice).
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from workflow_scripts.config import ConfigError
from workflow_scripts.config.experiments import expand_experiments, scale_settings
from workflow_scripts.data.splits import check_test_size, pool_counts
from workflow_scripts.data.subsets import RANDOM_KEYS, is_random, size_range
from workflow_scripts.properties import N_QM9_CHARACTERIZED
from workflow_scripts.representations import LABELS

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"
# Keys an older config.yaml may still state: old name -> new name (same values).
RENAMED_KEYS = {"data_path": "data_pipeline"}


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


def _renamed_key(error) -> str | None:
    """The sentence for a key stated under its old name (a setting, or a sweep's dotted key), or None."""
    where = key_path(error.absolute_path)
    if error.validator == "additionalProperties":
        old = sorted(set(error.instance) & set(RENAMED_KEYS))
        if old:
            return f"config: {where}.{old[0]} was renamed to {where}.{RENAMED_KEYS[old[0]]} (same values); rename it"
    elif error.validator == "enum" and list(error.absolute_path)[-1:] == ["sweep"]:
        section, dot, key = str(error.instance).rpartition(".")
        if key in RENAMED_KEYS:
            return (f"config: {where} sweeps {error.instance}, which was renamed to {section}{dot}{RENAMED_KEYS[key]} "
                    "(same values); rename it")
    return None


def describe_validation_error(error) -> str:
    """One readable sentence for a jsonschema ValidationError."""
    renamed = _renamed_key(error)
    if renamed:
        return renamed
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


# --config values: Snakemake parses a nested value with YAML's BaseLoader, so
# `predict={seed: 0}` arrives as the string '0'. Those strings get the type the
# schema asks for; a config file's strings keep theirs (they are typed by YAML).
NOT_PARSED = object()
_PYTHON_TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def parse_as(text: str, types) -> object:
    """``text`` as the first of the schema ``types`` it parses cleanly as (YAML's reading), else NOT_PARSED."""
    types = types if isinstance(types, list) else [types]
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return NOT_PARSED
    if isinstance(value, str) and "number" in types:  # YAML 1.1 reads 1e-3 as text
        try:
            value = float(value)
        except ValueError:
            return NOT_PARSED
    matches = [t for t in types if t in _PYTHON_TYPES and _PYTHON_TYPES[t](value)]
    return value if matches else NOT_PARSED


def stated_in(command_line: dict, path) -> bool:
    """Whether the --config values state the value at ``path`` (keys and list positions)."""
    node = command_line
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
    return True


def _type_errors(error):
    """The type errors in ``error`` and in the branches of a oneOf/anyOf it stands for."""
    if error.validator == "type":
        yield error
    for branch in error.context or ():
        yield from _type_errors(branch)


def _set_at(config: dict, path, value) -> None:
    node = config
    for part in list(path)[:-1]:
        node = node[part]
    node[list(path)[-1]] = value


def _schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def typed_command_line_values(config: dict, command_line: dict) -> dict:
    """Give the --config values in ``config`` the types the schema asks for, in place.

    Only a string that fails its schema type, parses cleanly as that type and
    was given on the command line (``command_line``, Snakemake's overwrite
    config) changes: a config file's deliberate string stays a string.
    """
    if not command_line:  # nothing given on the command line: nothing to type (spares a schema pass per load)
        return config
    import jsonschema

    schema = _schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    for _ in range(100):  # a coerced mapping or list may reveal values inside it
        changes = {}
        for error in validator.iter_errors(config):
            for failed in _type_errors(error):
                path = tuple(failed.absolute_path)
                if path in changes or not isinstance(failed.instance, str) or not stated_in(command_line, path):
                    continue
                value = parse_as(failed.instance, failed.validator_value)
                if value is not NOT_PARSED:
                    changes[path] = value
        if not changes:
            break
        for path, value in changes.items():
            _set_at(config, path, value)
    typed_sweep_values(config, command_line, schema)
    return config


def typed_sweep_values(config: dict, command_line: dict, schema: dict) -> None:
    """A --config sweep's values get the type of the setting they sweep.

    The schema lets a sweep's values be text (a sweep over subsets), so they
    pass it as strings; the swept setting's own schema says what they are.
    """
    experiments = command_line.get("experiments")
    for name, entry in (experiments.items() if isinstance(experiments, dict) else ()):
        sweep = entry.get("sweep") if isinstance(entry, dict) else None
        for key in (sweep if isinstance(sweep, dict) else ()):
            section, _, setting = key.rpartition(".")
            types = schema["$defs"].get(section, {}).get("properties", {}).get(setting, {}).get("type", "string")
            values = config["experiments"][name]["sweep"][key]
            if "string" in types or not isinstance(values, list):
                continue
            for i, value in enumerate(values):
                parsed = parse_as(value, types) if isinstance(value, str) else NOT_PARSED
                if parsed is not NOT_PARSED:
                    values[i] = parsed


def validate_config(config: dict, validate=None, command_line: dict | None = None) -> dict:
    """Validate ``config`` in place (schema defaults filled in) and check it.

    ``validate`` is ``snakemake.utils.validate`` inside the workflow; tests may
    pass it too. ``command_line``: the --config values (see
    typed_command_line_values). Raises :class:`ConfigError` with a one-line
    explanation.
    """
    if validate is None:
        from snakemake.utils import validate
    if command_line:
        typed_command_line_values(config, command_line)
    try:
        validate(config, schema=str(SCHEMA_PATH))
    except Exception as exc:  # snakemake wraps the jsonschema error in a WorkflowError
        error = validation_error_from(exc)
        if error is None:
            raise
        raise ConfigError(describe_validation_error(error)) from None
    check_semantics(config)
    return config


def in_file_order(config: dict, configfiles) -> None:
    """Put ``config``'s keys, at every depth, in the order the config files state them (others after, as they came).

    Snakemake's merged config has the --config values' keys first, and Snakemake compares a rule's params by their
    repr: without this, ``--config target=U0`` (config.yaml's own value) would read as changed settings and train
    the baseline again.
    """
    from snakemake.utils import update_config

    stated: dict = {}
    for path in configfiles:
        update_config(stated, load_yaml(path))

    def ordered(value, reference):
        if not isinstance(value, dict) or not isinstance(reference, dict):
            return value
        keys = [k for k in reference if k in value] + [k for k in value if k not in reference]
        return {k: ordered(value[k], reference.get(k)) for k in keys}

    reordered = ordered(config, stated)
    config.clear()
    config.update(reordered)


def check_semantics(config: dict) -> None:
    split = config["split"]
    for name, subset in config["subsets"].items():
        low, high = size_range(subset)
        if low > high:
            raise ConfigError(
                f"config: subsets.{name} has min_atoms = {low} > max_atoms = {high}; it would select no molecule"
            )
        check_random_subset(name, config["subsets"])
    settings_blocks = {"defaults": config["defaults"],
                       **{f"scales.{n}.defaults": s.get("defaults", {}) for n, s in config["scales"].items()},
                       **{f"scales.{n}.target_defaults.{t}": block for n, s in config["scales"].items()
                          for t, block in s.get("target_defaults", {}).items()}}
    for where, block in settings_blocks.items():
        if "budget" in block.get("training", {}):
            raise ConfigError(
                f"config: {where}.training.budget is not allowed: the study's budget rule is training_budget "
                f"(now {config['training_budget']!r}); set that, or training.budget in one experiment"
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
        representation = experiment["model"].get("representation")
        if representation not in LABELS:  # a sweep's values are not typed by the schema
            raise ConfigError(
                f"config: {experiment['source']} sets model.representation = {representation!r}; "
                f"allowed: {', '.join(LABELS)}"
            )
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
    check_scale_test_size(config)


def check_scale_test_size(config: dict) -> None:
    """The scale's test_size fits QM9 (within data.max_molecules) around its pool; rule split checks it exactly."""
    n_molecules = min(config["data"]["max_molecules"] or N_QM9_CHARACTERIZED, N_QM9_CHARACTERIZED)
    scale = scale_settings(config)
    pool, pool_test = pool_counts(n_molecules, scale["pool_size"], config["split"]["test_fraction"])
    check_test_size(scale["test_size"], config["scale"], n_molecules, pool, pool_test)


def check_random_subset(name: str, subsets: dict) -> None:
    """A random subset takes one key, and the subset it matches in size exists and has a size of its own."""
    subset = subsets[name]
    if not is_random(subset):
        return
    if len(subset) > 1:
        raise ConfigError(
            f"config: subsets.{name} states {', '.join(sorted(subset))}; a random subset ({' or '.join(RANDOM_KEYS)}) "
            "draws from the whole training set and takes no other key"
        )
    target = subset.get("same_size_as")
    if target is not None and target not in subsets:
        raise ConfigError(
            f"config: subsets.{name}.same_size_as = {target!r} is not a subset; defined subsets: {', '.join(subsets)}"
        )
    if target is not None and "same_size_as" in subsets[target]:
        what = "the subset itself" if target == name else \
            f"{target!r}, which is matched in size to {subsets[target]['same_size_as']!r} in turn"
        raise ConfigError(f"config: subsets.{name}.same_size_as names {what}; name a subset with a size of its own "
                          "(a cap, a size range, a fraction)")


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
