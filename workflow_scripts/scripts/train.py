"""Rule train: one experiment, one seed; then its predictions for the held-out test set (training/job.py)."""

import sys

from workflow_scripts.training import resident

# on one machine without GPUs: in a fork of a process that has torch, Lightning and SchNetPack imported
if resident.usable(snakemake.config):
    status = resident.run_job(snakemake)
    if status is not None:
        sys.exit(status)

from workflow_scripts.training.devices import claim_gpu  # noqa: E402

# this training's own GPU on a multi-GPU machine, before anything can start CUDA; held while `gpu` lives
gpu = claim_gpu()

from workflow_scripts.training.job import run  # noqa: E402

run(snakemake, gpu)
