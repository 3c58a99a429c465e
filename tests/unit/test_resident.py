"""The resident trainer (workflow_scripts/training/resident.py): jobs run in forks of a process that has
imported their modules, with the job's own streams, directory, environment, exit status and signals.

Each test's client is a real separate process (the job Snakemake would start), its server a real resident
process with a socket under the test's tmp_path; the jobs are light (tests/unit/resident_jobs.py). That a real
training gives the same results in a fork as in its own process: tests/workflow/test_workflow_models.py.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import REPO
from workflow_scripts.training import resident

CLIENT = """
import json, os, sys
from workflow_scripts.training import resident
print(f"client pid {os.getpid()}", flush=True)
status = resident.run_job(json.loads(sys.argv[1]), target=sys.argv[2], socket_dir=sys.argv[3],
                          preload="tests.unit.resident_jobs", idle_seconds=float(sys.argv[4]), start_seconds=60)
sys.exit(99 if status is None else status)
"""


def start_client(tmp_path: Path, target: str, job: dict, idle: float = 30.0, **environ) -> subprocess.Popen:
    """A job's process, started in tmp_path/job; its server's socket in tmp_path/sockets."""
    (tmp_path / "job").mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, json.dumps(job), f"tests.unit.resident_jobs:{target}",
         str(tmp_path / "sockets"), str(idle)],
        cwd=tmp_path / "job", env={**os.environ, "PYTHONPATH": str(REPO), **environ},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def run_client(tmp_path: Path, target: str, job: dict, idle: float = 30.0, **environ):
    client = start_client(tmp_path, target, job, idle, **environ)
    out, err = client.communicate(timeout=120)
    return client.returncode, out, err


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # a zombie is dead too
    except psutil.NoSuchProcess:
        return False


def wait_until(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def server_pid(tmp_path):
    """Kills the test's server at the end, so that no test leaves one behind for its idle time."""
    pids = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGTERM)


def test_a_job_runs_in_a_fork_with_the_clients_streams_directory_environment_and_pid(tmp_path, server_pid):
    status, out, err = run_client(tmp_path, "report", {"message": "hello"}, RESIDENT_TEST_VARIABLE="mine")
    assert status == 0, err
    assert "out: hello" in out and "err: hello" in err
    report = json.loads((tmp_path / "job/report.json").read_text())
    server_pid.append(report["server_pid"])
    client_pid = int(out.split("client pid ")[1].split()[0])
    assert report["cwd"] == str(tmp_path / "job")
    assert report["variable"] == "mine"
    assert report["argv"] == ["-c", json.dumps({"message": "hello"}), "tests.unit.resident_jobs:report",
                              str(tmp_path / "sockets"), "30.0"]
    assert report["pid"] != client_pid and report["job_pid"] == client_pid  # start-up counted from the client's start
    assert report["sigchld"]  # the server ignores SIGCHLD; the job's subprocesses must not inherit that
    # a second job: a new fork of the same server
    status, out, _ = run_client(tmp_path, "report", {"message": "again"})
    again = json.loads((tmp_path / "job/report.json").read_text())
    assert status == 0 and "out: again" in out
    assert again["server_pid"] == report["server_pid"] and again["pid"] != report["pid"]


def test_exit_status_and_errors_reach_the_client(tmp_path, server_pid):
    assert run_client(tmp_path, "exit_with", {"code": 3})[0] == 3
    assert run_client(tmp_path, "exit_with", {"code": 0})[0] == 0
    status, _, err = run_client(tmp_path, "fail", {"value": 7})
    assert status == 1
    assert "ValueError: bad value 7" in err  # the traceback, through sys.excepthook, on the job's stderr
    run_client(tmp_path, "report", {"message": "x"})
    server_pid.append(json.loads((tmp_path / "job/report.json").read_text())["server_pid"])


def parent_of(pid: int) -> int:
    return psutil.Process(pid).ppid()


def test_sigterm_to_the_job_reaches_its_fork(tmp_path, server_pid):
    # a job that handles SIGTERM: its handler runs in the fork, and its exit status is the job's
    client = start_client(tmp_path, "wait", {"exit_on_sigterm": True})
    pid_file = tmp_path / "job/wait.pid"
    assert wait_until(pid_file.exists, 120), client.stderr.read()
    server_pid.append(parent_of(int(pid_file.read_text())))
    client.send_signal(signal.SIGTERM)
    client.communicate(timeout=30)
    assert (tmp_path / "job/got_sigterm").exists() and client.returncode == 7
    # a job that does not: the fork dies of it, and so does the job, as an in-process job would
    pid_file.unlink()
    client = start_client(tmp_path, "wait", {})
    assert wait_until(pid_file.exists, 120), client.stderr.read()
    fork = int(pid_file.read_text())
    client.send_signal(signal.SIGTERM)
    client.communicate(timeout=30)
    assert client.returncode == -signal.SIGTERM
    assert wait_until(lambda: not alive(fork))


def test_a_killed_job_takes_its_fork_with_it(tmp_path, server_pid):
    client = start_client(tmp_path, "wait", {})
    pid_file = tmp_path / "job/wait.pid"
    assert wait_until(pid_file.exists, 120), client.stderr.read()
    fork = int(pid_file.read_text())
    server = parent_of(fork)
    server_pid.append(server)
    client.kill()  # SIGKILL: nothing can be forwarded
    client.communicate(timeout=30)
    assert wait_until(lambda: not alive(fork), 5)
    assert alive(server)  # the server outlives its jobs


def test_the_server_exits_when_idle_and_a_new_one_starts(tmp_path, server_pid):
    status, _, err = run_client(tmp_path, "report", {"message": "x"}, idle=1.0)
    assert status == 0, err
    first = json.loads((tmp_path / "job/report.json").read_text())["server_pid"]
    server_pid.append(first)
    assert wait_until(lambda: not alive(first), 20)
    assert not list((tmp_path / "sockets").glob("*.sock"))  # it removed its socket
    status, _, err = run_client(tmp_path, "report", {"message": "y"}, idle=1.0)
    second = json.loads((tmp_path / "job/report.json").read_text())["server_pid"]
    server_pid.append(second)
    assert status == 0 and second != first, err


def test_a_server_gone_idle_while_its_forks_train_is_replaced_at_once(tmp_path, server_pid):
    """The server's lock stays with the server: a fork still training must not keep a new one from starting."""
    client = start_client(tmp_path, "wait", {"seconds": 60}, idle=1.0)
    pid_file = tmp_path / "job/wait.pid"
    assert wait_until(pid_file.exists, 120), client.stderr.read()
    fork = int(pid_file.read_text())
    first = parent_of(fork)
    server_pid.extend([first, fork])
    assert wait_until(lambda: not alive(first), 20)  # idle: gone, its fork still running
    assert alive(fork)
    started = time.monotonic()
    status, _, err = run_client(tmp_path, "report", {"message": "next"}, idle=1.0)
    assert status == 0, err  # not 99: the job ran in a fork of a new server, not in its own process
    second = json.loads((tmp_path / "job/report.json").read_text())["server_pid"]
    server_pid.append(second)
    assert second != first and time.monotonic() - started < 30
    client.kill()


def test_without_a_usable_socket_folder_the_job_runs_in_its_own_process(tmp_path):
    """A socket folder other users can write to could hold their socket: the client does not use it."""
    (tmp_path / "sockets").mkdir(mode=0o777)
    os.chmod(tmp_path / "sockets", 0o777)
    status, _, err = run_client(tmp_path, "report", {"message": "x"})
    assert status == 99  # run_job returned None: nothing ran in a fork
    assert "not a folder that only this user can use" in err and "runs in its own process" in err
    assert not (tmp_path / "job/report.json").exists()


def test_edited_code_gets_a_new_fingerprint(tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    (package / "module.py").write_text("x = 1\n")
    before = resident.code_fingerprint(package)
    assert resident.code_fingerprint(package) == before
    (package / "module.py").write_text("x = 22\n")
    assert resident.code_fingerprint(package) != before


@pytest.mark.parametrize("config, environ, expected", [
    ({"resident_trainer": True}, {"CUDA_VISIBLE_DEVICES": ""}, True),
    ({"resident_trainer": False}, {"CUDA_VISIBLE_DEVICES": ""}, False),
    ({"resident_trainer": True}, {"CUDA_VISIBLE_DEVICES": "0"}, False),  # a GPU: a job's process of its own
    ({"resident_trainer": True}, {"CUDA_VISIBLE_DEVICES": "", "SLURM_JOB_ID": "7"}, False),  # a job per node
])
def test_used_only_on_one_machine_without_gpus(config, environ, expected):
    assert resident.usable(config, environ) is expected
