"""Whether a run resumes from the checkpoint in its folder: only one made for the same settings, and whole."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from workflow_scripts.files.atomic import write_text
from workflow_scripts.files.damage import resumable_step

log = logging.getLogger(__name__)

LAST = "last.ckpt"
FINGERPRINT = "fingerprint.txt"


def fingerprint(settings: dict) -> str:
    """Identifies what a checkpoint was trained for; resuming needs it to match."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def resume_step(work_dir: Path, identity: dict, name: str) -> int | None:
    """The step of ``work_dir/last.ckpt`` to resume from, or None to train from scratch.

    ``identity``: what decides the run's result (settings, seed, training molecules, steps). Checkpoints made
    for another identity are removed with a warning, damaged ones too (files/damage.py); the identity is then
    stamped beside the checkpoints this run writes.
    """
    stamp_text = fingerprint(identity)
    last, stamp = work_dir / LAST, work_dir / FINGERPRINT
    resume = last.exists() and stamp.exists() and stamp.read_text().strip() == stamp_text
    if last.exists() and not resume:
        log.warning("checkpoint %s was made for other settings; training %s from scratch", last, name)
        for old in work_dir.glob("*.ckpt"):
            old.unlink()
    step = resumable_step(work_dir) if resume else None  # None: damaged, warned, from scratch
    write_text(stamp, stamp_text)
    return step
