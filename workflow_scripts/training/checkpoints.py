"""Whether a run resumes from the checkpoint in its folder: only one made for the same settings, and whole."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pandas as pd

from workflow_scripts.files.atomic import write_text
from workflow_scripts.files.damage import DamagedFileError, missing_columns, parsed, torch_load
from workflow_scripts.run_files import ANY_TARGET_CURVE_COLUMNS, BEST, LAST, TRAIN_LOG, VAL_LOG

log = logging.getLogger(__name__)

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


def whole_curve(path: Path, step: int) -> None:
    """Raise ValueError unless the curve at ``path`` reads whole up to the checkpoint's ``step``: its columns, no
    cell missing (a file cut short ends in half a row, which pandas reads as one with gaps), and for the training
    curve every step up to the checkpoint's (the curves are written at each validation, before the checkpoint)."""
    frame = pd.read_csv(path)
    missing = missing_columns(ANY_TARGET_CURVE_COLUMNS.get(path.name, ["step"]), frame.columns)
    if missing:
        raise ValueError(f"no column {', '.join(missing)}")
    if frame.isna().any().any():
        raise ValueError("a row is cut short")
    if path.name == TRAIN_LOG and not set(range(1, step + 1)) <= set(frame["step"].astype(int)):
        raise ValueError(f"it lacks steps up to the checkpoint's step {step}")


def resumable_step(work_dir: Path, logs=(TRAIN_LOG, VAL_LOG)) -> int | None:
    """The step of the checkpoint a training resumes from, or None when it cannot be resumed.

    A checkpoint that does not load (cut off by a full disk, overwritten), or whose curves beside it do not
    read, is not resumed: a warning, the checkpoints and curves removed, and the run trains from scratch.
    ``best.ckpt`` is checked too, as the run's model is taken from it at the end.
    """
    work_dir = Path(work_dir)
    try:
        step = parsed(work_dir / LAST, lambda path: int(torch_load(path)["global_step"]))
        if (work_dir / BEST).exists():
            parsed(work_dir / BEST, lambda path: torch_load(path)["state_dict"])
        for name in logs:
            if (work_dir / name).exists():
                parsed(work_dir / name, lambda path: whole_curve(path, step))
        return step
    except DamagedFileError as error:
        log.warning("%s; training from scratch instead of resuming", error)
        for old in [*work_dir.glob("*.ckpt"), *(work_dir / name for name in logs)]:
            old.unlink(missing_ok=True)
        return None
