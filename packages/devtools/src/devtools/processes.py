"""Run the apps as real server processes and stop them with everything they spawned."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

__all__ = ["AppProcess", "interrupt_on", "wait_until_answers"]


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def interrupt_on(*signums: signal.Signals) -> None:
    """Turn these signals into KeyboardInterrupt, so one `except` stops everything cleanly
    (a shell that starts a command in the background makes it ignore SIGINT)."""
    for signum in signums:
        signal.signal(signum, _interrupt)


def wait_until_answers(url: str, timeout: float = 30.0, process: AppProcess | None = None
                       ) -> bool:
    """Poll `url` until any HTTP answer comes back (or the process dies)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and not process.alive():
            return False
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(url, timeout=1.0)
            return True
        time.sleep(0.1)
    return False


class AppProcess:
    """`python -m <module>` in its own process group, so a reloader's children stop too."""

    def __init__(self, module: str, env: Mapping[str, str], *, args: tuple[str, ...] = (),
                 log_path: Path | None = None, cwd: Path | None = None) -> None:
        self.module = module
        self.env = dict(env)
        self.args = args
        self.log_path = log_path
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> AppProcess:
        out = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module, *self.args], env=self.env, cwd=self.cwd,
            stdout=out, stderr=subprocess.STDOUT if out else None, start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        # Whatever is left of the group (a reloader's worker) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.process = None
