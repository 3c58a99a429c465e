"""Logging for rule scripts: plain timestamped lines into the rule's log file."""

from __future__ import annotations

import logging
import os
import sys
import time


def setup(log_path=None, name: str = "qm9study") -> logging.Logger:
    """Log to ``log_path`` (the rule's ``log:``) and to stderr."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True
    )
    logger = logging.getLogger(name)

    def log_uncaught(kind, error, trace):
        # the reason a job failed belongs in its log (show-failed-logs prints it;
        # on a cluster it is the file a user opens), not only on stderr
        if getattr(error, "user_facing", False):  # the message says what is wrong and how to recover
            logger.error("failed: %s", error)
        elif not issubclass(kind, KeyboardInterrupt):
            logger.error("failed: %s: %s", kind.__name__, error, exc_info=(kind, error, trace))
        else:
            sys.__excepthook__(kind, error, trace)

    sys.excepthook = log_uncaught
    return logger


def from_snakemake(snakemake) -> logging.Logger:
    """The job's logger; the job's inputs made by the workflow are checked for damage first (damage.py)."""
    from workflow_scripts.files.damage import check_inputs

    log = snakemake.log[0] if len(snakemake.log) else None
    logger = setup(log, name=snakemake.rule)
    check_inputs(snakemake.input)
    return logger


def seconds_since_process_start(pid: int | None = None) -> float | None:
    """Wall seconds since process ``pid`` (default: this one) started (Linux /proc; None elsewhere).

    The start-up cost of a job: of its own process, or of its client when it runs in a fork (resident.py).
    """
    try:
        fields = open(f"/proc/{pid or 'self'}/stat").read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22 of stat(5): start time after boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return None
