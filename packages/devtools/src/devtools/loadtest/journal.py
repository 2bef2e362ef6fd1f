"""Every request of a load run, with its wall-clock start, duration and status, and what
was acknowledged (sign-ups and log-outs answered 303): what the fault checkers judge.

One JSON object a line, so the locust process (which writes it) and the load-test
command (which reads it while the run goes on) share nothing but a file; the suite's
small in-process client keeps the same records in memory.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

__all__ = ["CONNECTION_ERROR", "Journal", "Request"]

CONNECTION_ERROR = 0  # the status recorded when no HTTP answer came back


@dataclass(frozen=True)
class Request:
    at: float  # wall-clock start (time.time())
    seconds: float
    app: str  # "landing" or "web"
    name: str  # e.g. "POST /signup"
    status: int  # CONNECTION_ERROR when there was no answer

    @property
    def end(self) -> float:
        return self.at + self.seconds

    def overlaps(self, start: float, end: float) -> bool:
        return self.at <= end and self.end >= start


@dataclass
class Journal:
    """Thread-safe records; written through to `path` when given, or read from `source`
    (a journal another process writes) by `follow()`."""

    path: Path | None = None
    source: Path | None = None
    requests: list[Request] = field(default_factory=list)
    signups: list[tuple[str, float]] = field(default_factory=list)  # (username, answered)
    logouts: list[tuple[str, float]] = field(default_factory=list)  # (token, answered)
    # reset requests answered 200 for an account with a verified address (what, answered)
    resets: list[tuple[str, float]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _file: IO[str] | None = field(default=None, repr=False)
    _offset: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        if self.path is not None:
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def _write(self, line: dict) -> None:
        if self._file is not None:
            self._file.write(json.dumps(line) + "\n")
            self._file.flush()  # the reader follows the file during the run

    def request(self, at: float, seconds: float, app: str, name: str, status: int) -> None:
        with self._lock:
            self.requests.append(Request(at, seconds, app, name, status))
            self._write({"t": at, "s": seconds, "app": app, "name": name, "status": status})

    def signed_up(self, username: str, answered: float) -> None:
        with self._lock:
            self.signups.append((username, answered))
            self._write({"signup": username, "t": answered})

    def logged_out(self, token: str, answered: float) -> None:
        with self._lock:
            self.logouts.append((token, answered))
            self._write({"logout": token, "t": answered})

    def reset_asked(self, identifier: str, answered: float) -> None:
        with self._lock:
            self.resets.append((identifier, answered))
            self._write({"reset": identifier, "t": answered})

    def revoked_tokens(self) -> list[str]:
        with self._lock:
            return [token for token, _ in self.logouts]

    def follow(self) -> Journal:
        """Read what was appended to `source` since the last call."""
        assert self.source is not None
        with self._lock:  # one reader at a time: the offset moves with what was read
            if not self.source.exists():
                return self
            with open(self.source, "rb") as f:
                f.seek(self._offset)
                data = f.read()
            complete = data[:data.rfind(b"\n") + 1]  # a line being written: next time
            self._offset += len(complete)
            self._add(complete.decode("utf-8").splitlines())
        return self

    def _add(self, lines: Iterable[str]) -> None:
        for line in lines:
            item = json.loads(line)
            if "signup" in item:
                self.signups.append((item["signup"], item["t"]))
            elif "logout" in item:
                self.logouts.append((item["logout"], item["t"]))
            elif "reset" in item:
                self.resets.append((item["reset"], item["t"]))
            else:
                self.requests.append(Request(item["t"], item["s"], item["app"], item["name"],
                                             item["status"]))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
