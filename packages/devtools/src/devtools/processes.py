"""Run the apps as real server processes and stop them with everything they spawned.

Every child started here dies with the thread that started it, even when that parent is
killed with SIGKILL (Linux: `prctl(PR_SET_PDEATHSIG)`), so no server outlives its parent.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

__all__ = ["AppProcess", "CommandParser", "ProgramProcess", "describe_exit", "die_with_parent",
           "interrupt_on", "start_answering", "stop_interrupting", "wait_answering",
           "wait_until_answers"]

_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})
_PR_SET_PDEATHSIG = 1
_prctl = getattr(ctypes.CDLL(None), "prctl", None) if sys.platform == "linux" else None
_stopping = False


def _interrupt(*_: object) -> None:
    # Only the first signal interrupts: uv forwards to its child the SIGTERM that the
    # whole process group already got, and people press Ctrl-C twice; a second
    # KeyboardInterrupt would abort the cleanup that the first one started.
    global _stopping
    if not _stopping:
        _stopping = True
        raise KeyboardInterrupt


def interrupt_on(*signums: signal.Signals) -> None:
    """Turn the first of these signals into KeyboardInterrupt, so one `except` stops
    everything cleanly, and ignore the ones after it (a shell that starts a command in the
    background makes it ignore SIGINT, hence SIGINT here too)."""
    global _stopping
    _stopping = False
    for signum in signums:
        signal.signal(signum, _interrupt)


def stop_interrupting() -> None:
    """From now on the signals given to `interrupt_on` are ignored: call it before a
    cleanup that must not be cut short. (At most one KeyboardInterrupt is ever raised,
    so a cleanup that retries once after one is complete.)"""
    global _stopping
    _stopping = True


@contextlib.contextmanager
def _stop_signals_deferred() -> Iterator[frozenset[int]]:
    """Hold SIGINT/SIGTERM while a child is started, so that a KeyboardInterrupt cannot
    land between fork and the parent recording the child's pid (which would leak it)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield frozenset(previous)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _child_setup(parent: int, mask: frozenset[int], death_signal: int) -> Callable[[], None]:
    def setup() -> None:  # runs in the child between fork and exec: no imports, no locks
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, death_signal)
            if os.getppid() != parent:  # the parent died before prctl: nobody will tell us
                os._exit(1)
    return setup


# Python with no site (starts in ~20 ms) that asks for the death signal and becomes the
# real command, keeping the pid: for children whose Popen is not ours (LocalDatabase).
_SHIM = ("import ctypes,os,sys;p,s=int(sys.argv[1]),int(sys.argv[2]);"
         "ctypes.CDLL(None).prctl(1,s);"
         "os.getppid()==p or os._exit(1);os.execv(sys.argv[3],sys.argv[3:])")


def die_with_parent(command: list[str], death_signal: int = signal.SIGTERM) -> list[str]:
    """`command`, run so that it gets `death_signal` when this process dies (Linux)."""
    if _prctl is None:
        return command
    return [sys.executable, "-I", "-S", "-c", _SHIM, str(os.getpid()), str(int(death_signal)),
            *command]


def describe_exit(returncode: int) -> str:
    """'exit code 1' or 'killed by SIGKILL', for a Popen returncode."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-returncode).name}"
        return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


def _status(url: str, timeout: float) -> int | None:
    """The status of a GET of `url` (http only), None when nothing answers. The standard
    library's client: httpx would add a tenth of a second to `dev`'s start."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                            timeout=timeout)
    try:
        connection.request("GET", parts.path or "/")
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_until_answers(url: str, timeout: float = 30.0, process: AppProcess | None = None,
                       *, status: int | None = None) -> bool:
    """Poll `url` until an HTTP answer comes back (only `status`, when given: a health
    check's 200 rather than its 503), or the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            return False
        answer = _status(url, 1.0)
        if answer is not None and status in (None, answer):
            return True
        time.sleep(0.05)
    return False


class AppProcess:
    """`python -m <module>` in its own process group, so a reloader's children stop too;
    it gets SIGTERM if the thread that started it dies (so start it from the main thread).
    """

    def __init__(self, module: str, env: Mapping[str, str], *, args: tuple[str, ...] = (),
                 log_path: Path | None = None, cwd: Path | None = None) -> None:
        self.module = module
        self.env = dict(env)
        self.args = args
        self.log_path = log_path
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None  # once it has exited and been stopped

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]

    def start(self) -> AppProcess:
        out = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        with _stop_signals_deferred() as mask:
            self.process = subprocess.Popen(
                self.command(), env=self.env, cwd=self.cwd,
                stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True,
                preexec_fn=_child_setup(os.getpid(), mask, signal.SIGTERM),
            )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def terminate(self) -> None:
        """SIGTERM to the whole group, without waiting (`stop` waits)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def stop(self, timeout: float = 10.0) -> None:
        """Idempotent, so a cleanup interrupted once can simply run again."""
        if self.process is None:
            return
        self.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        # Whatever is left of the group (a reloader's worker) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.returncode = self.process.returncode
        self.process = None


class ProgramProcess(AppProcess):
    """A program that is no Python module (`module` is its path: nginx in the bench),
    started, and stopped with its group, as AppProcess does."""

    def command(self) -> list[str]:
        return [self.module, *self.args]


def start_answering(apps: Sequence[tuple[AppProcess, str]], timeout: float = 60.0, *,
                    status: int | None = None) -> AppProcess | None:
    """Start each app (all at once), then wait until each answers at its URL (e.g. its
    /healthz; with `status`, answers that status): None once they all do, else the first
    that did not (it exited, or gave no such answer within `timeout` seconds). Stopping
    them stays the caller's job."""
    for app, _ in apps:
        app.start()
    return wait_answering(apps, timeout, status=status)


def wait_answering(apps: Sequence[tuple[AppProcess, str]], timeout: float = 60.0, *,
                   status: int | None = None) -> AppProcess | None:
    """`start_answering` for apps already started."""
    deadline = time.monotonic() + timeout
    for app, url in apps:
        if not wait_until_answers(url, max(deadline - time.monotonic(), 0.1), app,
                                  status=status):
            return app
    return None


class CommandParser(argparse.ArgumentParser):
    """A command's parser whose bad arguments are one line (and exit 2), never the usage
    block: what every `uv run` command of devtools answers."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")
