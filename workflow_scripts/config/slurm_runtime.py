"""The wall time a training job asks of SLURM (rule train's ``runtime`` resource, sbatch --time)."""

from __future__ import annotations

import math

from workflow_scripts.config.experiments import scale_settings
from workflow_scripts.properties import N_QM9_CHARACTERIZED

# Minutes of a full-QM9 training epoch budgeted on a cluster GPU. Generous on
# purpose: a job cut off by its time limit loses at most an epoch (it resumes
# from its checkpoint), but one that never finishes an attempt makes no progress.
MINUTES_PER_FULL_EPOCH = 8
RUNTIME_BASE_MINUTES = 30  # start-up, data loading, predicting the test set


def training_runtime_minutes(config: dict, experiment: dict, attempt: int = 1) -> int:
    """Wall time (minutes) a training job asks of the scheduler: grows with epochs and pool, and per retry."""
    # the pool: the scale's, within the first-N-molecules setting, within QM9
    limits = (scale_settings(config)["pool_size"], config["data"].get("max_molecules"), N_QM9_CHARACTERIZED)
    pool = min(limit for limit in limits if limit)
    epochs = experiment["training"]["epochs"]
    per_epoch = MINUTES_PER_FULL_EPOCH * pool / N_QM9_CHARACTERIZED
    return attempt * (RUNTIME_BASE_MINUTES + math.ceil(epochs * per_epoch))
