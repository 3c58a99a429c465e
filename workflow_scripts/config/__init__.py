"""config.yaml: validated, and everything derived from it."""


class ConfigError(ValueError):
    """A config.yaml mistake; the message says which key and how to fix it."""
