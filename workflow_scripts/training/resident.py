"""Training jobs started as forks of a resident process that has torch, Lightning and SchNetPack imported.

Why: a fresh Python process spends about 6 s importing the field's packages (torch, Lightning's
torch._dynamo, torchmetrics with scipy and matplotlib, SchNetPack with sympy), 15 % of a quick training job
and 43 times per quick study (docs/benchmarks.md, "Per-job overhead"). A fork of a process that has
imported them starts in milliseconds, the way a DataLoader's workers do (also forks of a process with
torch imported). Nothing in torch, Lightning or SchNetPack is changed or bypassed: the fork runs the same
job function an in-process job runs, so the results are the same bit for bit.

The job is still the process Snakemake starts, waits for and kills. That process (the client) hands its
stdin, stdout and stderr, working directory, environment, command line and `snakemake` object to a fresh
fork of the resident process (the server), forwards SIGTERM, SIGINT and SIGHUP to it, and exits with its
exit status, or by the same signal. A fork whose client dies without a word (SIGKILL, as a hard kill of the
workflow sends) kills itself at once, as the training would have died inside the client.

Used where it helps and is safe (`usable`): config `resident_trainer: true`, no GPU visible (a fork would
share its parent's CUDA state, and GPU trainings last minutes, not seconds) and not under SLURM (each job
runs on its own node, with nothing to share). The first job starts the server, which imports the packages
while that job waits. The server exits after `IDLE_SECONDS` without a new job. Its socket's name holds a
fingerprint of the workflow's Python files, so edited code gets a new server instead of running stale code.
Where the job cannot be handed to a fork (a socket folder other users could write to, a server that failed
to start or went away before the fork took the job), it says so on stderr and runs in its own process.

Snakemake's benchmark file for a job measures the client: its `s` (wall) column is the job's, but
cpu_time and max_rss miss the fork. The job's timing.json says where the time went.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import pickle
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from workflow_scripts.training.devices import visible_gpus  # no torch import

JOB = "workflow_scripts.training.job:run"  # what a training job runs, in the client or in a fork
IDLE_SECONDS = 120.0  # the server exits after this long without a new job
START_SECONDS = 300.0  # how long a client waits for a new server's imports before running the job itself
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
_PACKAGE = Path(__file__).resolve().parents[1]  # workflow_scripts/
_client_pid: int | None = None  # in a fork: the client's pid
_server_lock = None  # in the server: its lock file, held for life (and closed in each fork)


def usable(config: dict, environ=None) -> bool:
    """Whether a training job should run in a fork of the resident process (see the module's docstring)."""
    environ = os.environ if environ is None else environ
    return bool(config.get("resident_trainer")) and "SLURM_JOB_ID" not in environ and visible_gpus(environ) == 0


def job_pid() -> int:
    """The pid of the process Snakemake started for this job: the client's in a fork, else this process's."""
    return _client_pid if _client_pid is not None else os.getpid()


def code_fingerprint(package: Path = _PACKAGE) -> str:
    """A digest of the Python that would run (interpreter, every workflow module's path, size and mtime)."""
    digest = hashlib.sha256(sys.executable.encode())
    for path in sorted(package.rglob("*.py")):
        info = path.stat()
        digest.update(f"{path}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:20]


def socket_path(socket_dir: Path | None = None) -> Path:
    """The server's socket for this user and this code (a fresh server whenever the code changes).

    Raises OSError when the folder cannot be made, or is not this user's alone (another user's socket
    there would receive the job's environment and streams).
    """
    socket_dir = Path(socket_dir or Path(tempfile.gettempdir()) / f"qm9-study-trainer-{os.getuid()}")
    socket_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(socket_dir)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{socket_dir} is not a folder that only this user can use")
    return socket_dir / f"{code_fingerprint()}.sock"


# --- client: the job's own process -------------------------------------------------------------------------

def run_job(snakemake, target: str = JOB, socket_dir: Path | None = None, preload: str | None = None,
            idle_seconds: float = IDLE_SECONDS, start_seconds: float = START_SECONDS) -> int | None:
    """Run ``target`` (``module:function``, called with ``snakemake``) in a fork of the server; its exit status.

    Starts the server (which imports ``preload``, default ``target``'s module) when none is listening.
    None when the job could not be handed to a fork (no server, a socket that cannot be made, a server
    that went away): nothing ran, and the caller runs the job itself.
    """
    try:
        path = socket_path(socket_dir)
        connection = _connect(path)
        if connection is None:
            server = _start_server(path, preload or target.split(":")[0], idle_seconds)
            connection = _connect(path, wait=start_seconds, server=server)
    except OSError as error:
        print(f"resident trainer unavailable ({error}); the job runs in its own process", file=sys.stderr)
        return None
    if connection is None:
        print(f"resident trainer: no server on {path} (its log: {path.with_suffix('.log')}); "
              "the job runs in its own process", file=sys.stderr)
        return None
    request = pickle.dumps({
        "target": target, "snakemake": snakemake, "cwd": os.getcwd(), "env": dict(os.environ),
        "sys_path": list(sys.path), "argv": list(sys.argv), "client_pid": os.getpid(),
    })
    _flush()
    with connection:
        try:
            socket.send_fds(connection, [struct.pack("!Q", len(request))], [0, 1, 2])
            connection.sendall(request)
        except OSError:
            fork_pid = None
        else:
            fork_pid = _read_message(connection, b"P")
        if fork_pid is None:  # the fork sends its pid before the job starts: nothing ran
            print("resident trainer: the server went away before the job started; the job runs in its own "
                  "process", file=sys.stderr)
            return None
        received: list[int] = []

        def forward(signum, frame):
            received.append(signum)
            try:
                os.kill(fork_pid, signum)
            except ProcessLookupError:
                pass

        previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
        try:
            status = _read_message(connection, b"X")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if status is not None:
        return status
    if received:  # the fork died of the signal it was sent: so does the job
        os.kill(os.getpid(), received[-1])
    print(f"resident trainer: the job's fork (pid {fork_pid}) ended without an exit status (killed?)",
          file=sys.stderr)
    return 1


def _connect(path: Path, wait: float = 0.0, server: subprocess.Popen | None = None) -> socket.socket | None:
    """A connection to the server on ``path``, waiting up to ``wait`` s while ``server`` (if given) runs."""
    deadline = time.monotonic() + wait
    while True:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(str(path))
            return connection
        except (FileNotFoundError, ConnectionRefusedError):
            connection.close()
            if time.monotonic() >= deadline:
                return None
            # ours exited without listening: wait on only if another server holds the lock (is starting)
            if server is not None and server.poll() is not None and not _server_alive(path):
                return None
            time.sleep(0.05)


def _server_alive(path: Path) -> bool:
    """Whether a server holds the lock of ``path`` (listening, or still importing)."""
    with open(path.with_suffix(".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
        return False


def _start_server(path: Path, preload: str, idle_seconds: float) -> subprocess.Popen:
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with open(path.with_suffix(".log"), "ab") as server_log:
        return subprocess.Popen(
            [sys.executable, "-m", __name__, "serve", str(path), preload, str(idle_seconds)],
            stdin=subprocess.DEVNULL, stdout=server_log, stderr=server_log, env=environ,
            start_new_session=True,  # not in the job's process group: a kill of one job must not stop the server
            cwd="/",
        )


def _read_message(connection: socket.socket, kind: bytes) -> int | None:
    data = b""
    while len(data) < 9:
        try:
            chunk = connection.recv(9 - len(data))
        except OSError:  # reset by a server or fork that went away
            return None
        if not chunk:
            return None
        data += chunk
    if data[:1] != kind:
        raise RuntimeError(f"resident trainer: expected message {kind!r}, got {data[:1]!r}")
    return struct.unpack("!q", data[1:])[0]


# --- server: imports once, forks per job -------------------------------------------------------------------

def serve(path: Path, preload: str, idle_seconds: float = IDLE_SECONDS) -> None:
    """Import ``preload``, then fork one child per connection on ``path`` until ``idle_seconds`` pass unused."""
    global _server_lock
    _server_lock = open(path.with_suffix(".lock"), "a")
    try:
        fcntl.flock(_server_lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held for life: one server per socket
    except BlockingIOError:
        print(f"{time.strftime('%F %T')} pid {os.getpid()}: another server holds {path}'s lock", flush=True)
        return
    started = time.perf_counter()
    importlib.import_module(preload)
    print(f"{time.strftime('%F %T')} pid {os.getpid()}: imported {preload} in "
          f"{time.perf_counter() - started:.1f} s; listening on {path}", flush=True)
    path.unlink(missing_ok=True)  # a dead server's socket: this one holds the lock
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    listener.settimeout(idle_seconds)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the forks; their clients get their status
    try:
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                break
            _flush()  # before fork: nothing buffered is written twice
            if os.fork() == 0:
                listener.close()
                _child(connection)  # does not return
            connection.close()
    finally:
        path.unlink(missing_ok=True)
        print(f"{time.strftime('%F %T')} pid {os.getpid()}: idle for {idle_seconds:.0f} s, exiting", flush=True)


def _child(connection: socket.socket) -> None:
    global _client_pid
    code = 1
    try:
        if _server_lock is not None:
            _server_lock.close()  # the lock is the server's: a fork holding it would keep a new server from starting
        # the signal handling a fresh Python process has
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        connection.settimeout(60)
        header, fds, _, _ = socket.recv_fds(connection, 8, 3)
        while len(header) < 8:
            header += connection.recv(8 - len(header))
        (length,) = struct.unpack("!Q", header)
        payload = bytearray()
        while len(payload) < length:
            chunk = connection.recv(min(1 << 20, length - len(payload)))
            if not chunk:
                raise ConnectionError("the client closed the connection before its request was complete")
            payload += chunk
        for target_fd, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target_fd)
            os.close(fd)
        request = pickle.loads(payload)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[:] = request["sys_path"]
        sys.argv[:] = request["argv"]
        _client_pid = request["client_pid"]
        connection.settimeout(None)
        connection.sendall(b"P" + struct.pack("!q", os.getpid()))
    except BaseException:
        # before the job started (the client then runs it itself): say why, on the job's stderr if it is ours
        traceback.print_exc()
        _flush()
        os._exit(1)
    try:
        threading.Thread(target=_die_with_client, args=(connection,), daemon=True).start()
        module, function = request["target"].split(":")
        try:
            getattr(importlib.import_module(module), function)(request["snakemake"])
            code = 0
        except SystemExit as exit_:  # as Python ends a process: sys.exit("message") prints it, status 1
            if exit_.code is None or isinstance(exit_.code, int):
                code = exit_.code or 0
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
        except BaseException:
            sys.excepthook(*sys.exc_info())  # as Python does when a job dies of it (logs.setup: into the job's log)
            code = 1
        _flush()
        connection.sendall(b"X" + struct.pack("!q", code))
    finally:
        os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        stream.flush()


def _die_with_client(connection: socket.socket) -> None:
    # the client sends nothing after its request: end of file means it died, and its job with it
    try:
        connection.recv(1)
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "serve":
        sys.exit(f"usage: python -m {__spec__.name} serve SOCKET MODULE IDLE_SECONDS")
    # by its package name, not as __main__: the job's modules must see the same module (job_pid)
    from workflow_scripts.training import resident

    resident.serve(Path(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
