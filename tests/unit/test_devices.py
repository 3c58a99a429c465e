"""GPU detection for the local `gpu` resource of rule train, and one GPU claimed per training."""

import subprocess
import sys

from tests.conftest import REPO
from workflow_scripts.training.devices import claim_gpu, visible_gpu_ids, visible_gpus


def test_cuda_visible_devices_decides_when_set(tmp_path):
    (tmp_path / "nvidia0").touch()
    (tmp_path / "nvidia1").touch()
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "1"}, tmp_path) == 1
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "0,1"}, tmp_path) == 2
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, tmp_path) == 0
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}, tmp_path) == 0


def test_device_files_count_gpus_not_control_devices(tmp_path):
    assert visible_gpus({}, tmp_path) == 0
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-modeset"):
        (tmp_path / name).touch()
    assert visible_gpus({}, tmp_path) == 2


def test_device_files_count_as_cuda_device_numbers(tmp_path):
    for name in ("nvidia10", "nvidia2", "nvidiactl"):
        (tmp_path / name).touch()
    assert visible_gpu_ids({}, tmp_path) == ["0", "1"]


def test_each_training_claims_its_own_gpu_and_frees_it(tmp_path):
    environs = [{"CUDA_VISIBLE_DEVICES": "3,5"} for _ in range(3)]
    first = claim_gpu(environs[0], lock_dir=tmp_path)
    second = claim_gpu(environs[1], lock_dir=tmp_path)
    assert (first.gpu, second.gpu) == ("3", "5")
    assert [e["CUDA_VISIBLE_DEVICES"] for e in environs[:2]] == ["3", "5"]  # CUDA sees only its own GPU
    first.release()
    third = claim_gpu(environs[2], lock_dir=tmp_path)
    assert third.gpu == "3" and environs[2]["CUDA_VISIBLE_DEVICES"] == "3"
    second.release()
    third.release()


def test_a_training_waits_while_every_gpu_is_held(tmp_path):
    held = claim_gpu({"CUDA_VISIBLE_DEVICES": "0"}, lock_dir=tmp_path)
    # another process (a lock held by a process that ends is freed by the kernel, however it ends)
    waiter = subprocess.Popen(
        [sys.executable, "-c", "import logging, os; from workflow_scripts.training.devices import claim_gpu; "
         "logging.basicConfig(level=logging.INFO); "
         f"c = claim_gpu(lock_dir={str(tmp_path)!r}, poll_seconds=0.1); print(c.gpu, os.environ['CUDA_VISIBLE_DEVICES'])"],
        cwd=REPO, env={"CUDA_VISIBLE_DEVICES": "0", "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )
    waiting = waiter.stderr.readline()  # blocks until the waiter has tried and says it waits
    assert "held by other trainings" in waiting, waiting
    assert waiter.poll() is None  # still waiting
    held.release()
    assert waiter.communicate(timeout=30)[0].split() == ["0", "0"]


def test_device_files_are_numbered_as_cuda_numbers_them(tmp_path):
    (tmp_path / "nvidia2").touch()  # a container given the third GPU alone: CUDA calls it device 0
    claim = claim_gpu({}, dev=tmp_path, lock_dir=tmp_path / "locks")
    assert claim.gpu == "0"
    claim.release()


def test_no_claim_without_gpus_or_under_slurm(tmp_path):
    assert claim_gpu({"CUDA_VISIBLE_DEVICES": ""}, lock_dir=tmp_path) is None
    slurm = {"CUDA_VISIBLE_DEVICES": "2", "SLURM_JOB_ID": "17"}
    assert claim_gpu(slurm, lock_dir=tmp_path) is None and slurm["CUDA_VISIBLE_DEVICES"] == "2"
