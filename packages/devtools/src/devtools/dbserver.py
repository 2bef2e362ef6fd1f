"""Start and stop a local SecantusDB server (a MongoDB wire-protocol server) as a process.

Used by `uv run db`, `uv run dev`, the test fixtures and the benchmarks, so every one of
them runs the database the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["DATA_DIR", "LocalDatabase", "data_dir_holder", "describe_process", "free_port",
           "listener_of", "local_address", "port_answers"]

DATA_DIR = Path(".data")  # `uv run db` and `uv run dev` keep the local data here (git-ignored)
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1", "[::1]"}


def local_address(mongo_uri: str) -> tuple[str, int] | None:
    """(host, port) when the URI names one server on this machine, else None."""
    if not mongo_uri.startswith("mongodb://"):
        return None
    netloc = urlsplit(mongo_uri).netloc.rsplit("@", 1)[-1]
    if "," in netloc:
        return None
    host, _, port = netloc.rpartition(":") if netloc.count(":") == 1 or "]" in netloc \
        else (netloc, "", "")
    host = host or netloc
    if host.lower() not in LOOPBACK_NAMES:
        return None
    return host.strip("[]"), int(port or 27017)


def port_answers(host: str, port: int, timeout: float = 0.3) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=timeout):
        return True
    return False


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def data_dir_holder(storage_path: Path) -> int | None:
    """The pid of the process whose database has `storage_path` open (WiredTiger holds a
    POSIX lock on its WiredTiger.lock while it runs), from /proc/locks; None when free
    (or not on Linux). A second server on the same directory would only exit with
    "Device or resource busy" in its log."""
    try:
        stat = (Path(storage_path) / "WiredTiger.lock").stat()
        locks = Path("/proc/locks").read_text(encoding="ascii")
    except OSError:
        return None
    file = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    for line in locks.splitlines():
        fields = line.split()
        if file in fields and "POSIX" in fields and fields[fields.index(file) - 1].isdigit():
            return int(fields[fields.index(file) - 1])
    return None


def listener_of(port: int) -> int | None:
    """The pid listening on TCP `port` on this machine, when this user may see it."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.Error, OSError):
        return None
    return next((c.pid for c in connections if c.status == psutil.CONN_LISTEN
                 and c.laddr and c.laddr.port == port and c.pid), None)


def _on_port(pid: int) -> str:
    """" on port N" for a database server process started with --port N, else ""."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        return f" on port {int(args[args.index('--port') + 1])}"
    except (OSError, ValueError, IndexError):
        return ""


# The commands of this workspace that start servers, as their console scripts are named.
_COMMANDS = {"dev", "db", "mail", "landing", "web", "bench", "loadtest", "pytest"}


def describe_process(pid: int) -> str:
    """Who `pid` is, for a one-line message: the workspace command that started it and
    where (`uv run dev` in /path/to/checkout, pid 123), or its command line."""
    import psutil

    try:
        process = psutil.Process(pid)
        for candidate in (process, *process.parents()):
            script = next((Path(arg).name for arg in candidate.cmdline()[:2]
                           if Path(arg).name in _COMMANDS), None)
            if script:
                return f"`uv run {script}` in {candidate.cwd()} (pid {candidate.pid})"
        command = " ".join(process.cmdline()) or process.name()
    except psutil.AccessDenied:
        return f"another user's process (pid {pid})"
    except psutil.Error:
        return f"pid {pid}"
    return f"pid {pid} ({command[:80]})"


class LocalDatabase:
    """One `python -m secantus` process on loopback, data kept in `storage_path`."""

    def __init__(
        self,
        storage_path: Path,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        sync_on_commit: bool = True,
        test_commands: bool = False,
        standalone: bool = False,
        log_path: Path | None = None,
    ) -> None:
        self.storage_path = Path(storage_path)
        self.host = host
        self.port = port or free_port(host)
        self.sync_on_commit = sync_on_commit
        self.test_commands = test_commands
        self.standalone = standalone
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return (f"mongodb://{self.host}:{self.port}/monorepo_auth"
                "?retryWrites=false&directConnection=true")

    def command(self) -> list[str]:
        self.storage_path.mkdir(parents=True, exist_ok=True)
        # An explicit (empty) config stops the server auto-loading a secantusd.toml from
        # the working directory or the home folder.
        config = self.storage_path.parent / "secantusd.toml"
        if not config.exists():
            config.write_text("# monorepo-auth: every setting is passed on the command line\n")
        cmd = [
            sys.executable, "-m", "secantus", "--config", str(config), "--host", self.host,
            "--port", str(self.port), "--storage-path", str(self.storage_path),
            "--log-level", "WARNING",
        ]
        if self.sync_on_commit:
            cmd.append("--sync-on-commit")  # nothing acknowledged is lost on a crash
        if self.test_commands:
            cmd.append("--enable-test-commands")
        if self.standalone:  # no replica set: no change streams, like a plain `mongod`
            cmd.append("--standalone")
        return cmd

    def start(self, timeout: float = 20.0) -> LocalDatabase:
        """Start the server and wait until it answers (RuntimeError if it does not)."""
        return self.launch().wait_answering(timeout)

    def launch(self) -> LocalDatabase:
        """Start the server without waiting for it (`wait_answering` waits), so a caller
        can start its clients meanwhile: `uv run dev` starts the apps at the same time."""
        if port_answers(self.host, self.port):
            raise RuntimeError(f"port {self.host}:{self.port} is already in use")
        if (holder := data_dir_holder(self.storage_path)) is not None:
            raise RuntimeError(f"its data directory {self.storage_path} is in use by the "
                               f"database{_on_port(holder)} of {describe_process(holder)}; "
                               "stop it, or point MONGO_URI at it")
        command = self.command()
        if self.log_path:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        return self

    def wait_answering(self, timeout: float = 20.0) -> LocalDatabase:
        """Until the launched server answers; RuntimeError (the server stopped) if it exits
        or stays silent for `timeout` seconds."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"database server exited with code {self.process.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            if port_answers(self.host, self.port, 0.1):
                return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"database server did not answer on {self.host}:{self.port} "
                           f"within {timeout:.0f} s")

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM and wait (a clean stop takes ~2 s); SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            self.process = None
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self.process = None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    def __enter__(self) -> LocalDatabase:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
