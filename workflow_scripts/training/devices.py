"""The GPUs of the machine running Snakemake, and one GPU per local training, without importing torch.

Rule train asks for one `gpu` resource where Snakemake's machine has a GPU, and common.smk sets the local
limit to the number of GPUs (unless `--resources gpu=N` says otherwise): as many trainings at once as there are
GPUs, none on a CPU-only machine, where trainings share `--cores`. Snakemake counts GPUs but does not say which
one a job gets, so each training claims one (`claim_gpu`): a lock file per GPU, held for the job's life
(released by the kernel however the job ends), and CUDA_VISIBLE_DEVICES narrowed to the claimed GPU before
torch starts CUDA. On a cluster, SLURM pins each job's GPUs itself (profiles/slurm sets `gpu: 1` per training
whatever the login node has) and no claim is made.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)


def visible_gpus(environ=None, dev: Path = Path("/dev")) -> int:
    """Number of NVIDIA GPUs this process may use: CUDA_VISIBLE_DEVICES when set, else the /dev/nvidiaN files."""
    return len(visible_gpu_ids(environ, dev))


def visible_gpu_ids(environ=None, dev: Path = Path("/dev")) -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES would name them."""
    environ = os.environ if environ is None else environ
    selected = environ.get("CUDA_VISIBLE_DEVICES")
    if selected is not None:
        # "" and "-1" hide every GPU (CUDA's own convention)
        devices = [d.strip() for d in selected.split(",") if d.strip()]
        return [] if not devices or devices[0] == "-1" else devices
    # CUDA numbers the GPUs it can see from 0, whatever their /dev/nvidiaN numbers (a container given GPU 2
    # alone sees /dev/nvidia2 as CUDA device 0)
    count = sum(1 for p in dev.glob("nvidia*") if p.name.removeprefix("nvidia").isdigit())
    return [str(n) for n in range(count)]


@dataclass
class GpuClaim:
    """A GPU held by this process until ``release``, the process's end or this object's (keep it referenced)."""

    gpu: str
    lock: IO

    def release(self) -> None:
        self.lock.close()


def torch_device():
    """The device trainings and predictions run on: the (claimed) GPU where CUDA sees one, else the CPU."""
    import torch  # here: Snakemake imports this module to count GPUs, and importing torch takes seconds

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_lock_dir(environ) -> Path:
    """QM9_STUDY_GPU_LOCKS if set (tests), else per machine and user: the locks stand for this machine's GPUs."""
    return Path(environ.get("QM9_STUDY_GPU_LOCKS") or Path(tempfile.gettempdir()) / f"qm9-study-gpus-{os.getuid()}")


def claim_gpu(environ=None, dev: Path = Path("/dev"), lock_dir: Path | None = None,
              poll_seconds: float = 5.0, report_every: float = 300.0) -> GpuClaim | None:
    """Claim a free visible GPU for this training and make it the only one CUDA sees; None if none to claim.

    Call before anything starts CUDA. ``environ`` (default os.environ) gets CUDA_VISIBLE_DEVICES set to the
    claimed GPU. Under SLURM (SLURM_JOB_ID set) the job's GPUs are its own already: no claim. When every GPU is
    held (more trainings than GPUs were let run), waits for one and says so in the log.
    """
    environ = os.environ if environ is None else environ
    gpus = visible_gpu_ids(environ, dev)
    if not gpus or "SLURM_JOB_ID" in environ:
        return None
    lock_dir = default_lock_dir(environ) if lock_dir is None else Path(lock_dir)
    lock_dir.mkdir(parents=True, exist_ok=True)
    waited = 0.0
    while True:
        for gpu in gpus:
            lock = open(lock_dir / f"gpu{gpu}.lock", "a")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            environ["CUDA_VISIBLE_DEVICES"] = gpu
            return GpuClaim(gpu, lock)
        if waited % report_every < poll_seconds:
            log.warning("all %d GPUs (%s) are held by other trainings; waiting for one (locks in %s)",
                        len(gpus), ",".join(gpus), lock_dir)
        time.sleep(poll_seconds)
        waited += poll_seconds
