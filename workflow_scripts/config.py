"""Validation of config.yaml and everything derived from it.

The JSON schema (schemas/config.schema.yaml) says what each key may hold;
this module turns a schema violation into one sentence that names the key,
the value and what is allowed, and checks what a schema cannot (fractions
that must add up, names that must refer to each other).
"""

from __future__ import annotations

from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


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
    if split["test_fraction"] + split["validation_fraction"] >= 0.9:
        raise ConfigError(
            f"config: split.test_fraction ({split['test_fraction']}) + split.validation_fraction "
            f"({split['validation_fraction']}) = {split['test_fraction'] + split['validation_fraction']:.3g} "
            "leaves less than 10 % of the molecules to train on; make the sum smaller than 0.9"
        )


def load_yaml(path) -> dict:
    with open(path) as handle:
        return yaml.safe_load(handle)


def scale_settings(config: dict) -> dict:
    return config["scales"][config["scale"]]
