"""How long a run trains: its optimizer steps, epochs and validation interval under ``training.budget``."""

from __future__ import annotations

import math
from typing import NamedTuple


class StepBudget(NamedTuple):
    steps: int
    epochs: int
    validate_every: int  # epochs between validations


def step_budget(training: dict, n_train: int, n_training_set: int) -> StepBudget:
    """(optimizer steps, epochs, epochs between validations) of a run under ``training.budget``.

    ``epochs`` (the thesis's rule): ``training.epochs`` passes over the run's own training molecules, so a
    smaller subset gets fewer steps. ``equal_steps``: as many steps as ``training.epochs`` passes over the whole
    training set (``n_training_set`` molecules) take at the run's batch size, so every experiment with the
    baseline's epochs and batch size gets the baseline's steps, however small its subset. A small subset's
    epochs are short, so it validates every few epochs, about once per whole-training-set epoch, as the
    baseline does (early stopping then counts alike). Runs end on a validated epoch (checkpoints are written
    there, and Lightning resumes exactly only from epoch ends), so steps are rounded up to the next one.
    """
    batch, epochs = training["batch_size"], training["epochs"]
    per_epoch = math.ceil(n_train / batch)
    per_full_epoch = math.ceil(n_training_set / batch)
    equal = training["budget"] == "equal_steps"
    steps = epochs * (per_full_epoch if equal else per_epoch)
    every = max(1, per_full_epoch // per_epoch) if equal else 1
    epochs_run = math.ceil(steps / (per_epoch * every)) * every
    return StepBudget(epochs_run * per_epoch, epochs_run, every)
