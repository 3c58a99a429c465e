"""The GPUs the machine running Snakemake can see, without importing torch.

Rule train asks for the `gpu` resource only where there is a GPU, so that a
local limit of one training per GPU (profiles/local: `resources: gpu=1`)
serializes trainings on a GPU workstation and leaves CPU-only machines to
`--cores` alone. On a cluster, profiles/slurm sets `gpu: 1` for every training
whatever the login node has.
"""

from __future__ import annotations

import os
from pathlib import Path


def visible_gpus(environ=None, dev: Path = Path("/dev")) -> int:
    """Number of NVIDIA GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else the /dev/nvidiaN files."""
    environ = os.environ if environ is None else environ
    selected = environ.get("CUDA_VISIBLE_DEVICES")
    if selected is not None:
        # "" and "-1" hide every GPU (CUDA's own convention)
        devices = [d.strip() for d in selected.split(",") if d.strip()]
        return 0 if not devices or devices[0] == "-1" else len(devices)
    return sum(1 for p in dev.glob("nvidia*") if p.name.removeprefix("nvidia").isdigit())
