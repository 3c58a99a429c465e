"""config.yaml: validated, and everything derived from it."""
