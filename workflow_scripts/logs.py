"""Logging for rule scripts: plain timestamped lines into the rule's log file."""

from __future__ import annotations

import logging
import sys


def setup(log_path=None, name: str = "qm9study") -> logging.Logger:
    """Log to ``log_path`` (the rule's ``log:``) and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True
    )
    return logging.getLogger(name)


def from_snakemake(snakemake) -> logging.Logger:
    log = snakemake.log[0] if len(snakemake.log) else None
    return setup(log, name=snakemake.rule)
