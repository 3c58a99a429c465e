"""Jobs for tests/unit/test_resident.py: light targets the resident trainer can import in a fraction of a second."""

import json
import os
import signal
import sys
import time
from pathlib import Path

from workflow_scripts.files.atomic import write_text
from workflow_scripts.training import resident


def report(job: dict) -> None:
    """Say on stdout and stderr, and in report.json in the working directory, where and how it ran."""
    print(f"out: {job['message']}", flush=True)
    print(f"err: {job['message']}", file=sys.stderr, flush=True)
    Path("report.json").write_text(json.dumps({
        "cwd": os.getcwd(), "variable": os.environ.get("RESIDENT_TEST_VARIABLE"), "argv": sys.argv,
        "pid": os.getpid(), "server_pid": os.getppid(), "job_pid": resident.job_pid(),
        "sigchld": signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL,
    }))


def exit_with(job: dict) -> None:
    sys.exit(job["code"])


def fail(job: dict) -> None:
    raise ValueError(f"bad value {job['value']!r}")


def wait(job: dict) -> None:
    """Write this fork's pid to wait.pid, then wait (until a signal ends it; SIGTERM: exit 7 if asked)."""
    if job.get("exit_on_sigterm"):
        def on_sigterm(signum, frame):
            Path("got_sigterm").write_text("yes")
            sys.exit(7)

        signal.signal(signal.SIGTERM, on_sigterm)
    write_text("wait.pid", str(os.getpid()))  # whole or absent: the test polls for it
    time.sleep(job.get("seconds", 120))
