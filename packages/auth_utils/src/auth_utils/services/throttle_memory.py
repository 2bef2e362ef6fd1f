"""What each process keeps in memory so a flood costs the shared counters little: the
client buckets it has seen over a limit (`OverLimit`: refused from memory until their
window ends) and tallies of attempts that check no password (`JunkTally`: written ten at a
time). Both are bounded and only ever stricter, or at most `batch - 1` looser for junk,
than asking the database (auth_utils.services.throttling says when each is used)."""

from __future__ import annotations

import math
import threading
from datetime import datetime

__all__ = ["JunkTally", "OverLimit", "seconds_left"]


def seconds_left(ends_at: datetime, now: datetime) -> int:
    return max(1, math.ceil((ends_at - now).total_seconds()))


class OverLimit:
    """The IP buckets this process has seen over a limit, each until its window ends.

    Only per-client keys: their count goes down only when an attempt already allowed is
    given back, so a bucket seen over its limit stays over it for the rest of the window
    (refusing it from memory is at worst stricter than asking the database). A username's
    counter is cleared by a successful log-in in any process, so it is always asked.
    At most `max_keys` are remembered (an attacker with many networks cannot grow it
    without bound); past that, the database decides as before.
    """

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._until: dict[str, datetime] = {}
        self._earliest: datetime | None = None  # the soonest end among `_until`
        self._lock = threading.Lock()

    def remember(self, key: str, until: datetime, now: datetime) -> None:
        with self._lock:
            # Full: make room only once some window has ended. Fixed windows end together
            # (every log-in bucket's at one instant), so one pass frees many keys, and a
            # full memory costs no scan per request until then.
            if len(self._until) >= self.max_keys and self._earliest and self._earliest <= now:
                self._until = {k: end for k, end in self._until.items() if end > now}
                self._earliest = min(self._until.values(), default=None)
            if len(self._until) < self.max_keys:
                self._until[key] = until
                self._earliest = min(self._earliest or until, until)

    def wait(self, key: str, now: datetime) -> int | None:
        """Seconds until `key`'s window ends, when it is known to be over its limit."""
        until = self._until.get(key)
        return seconds_left(until, now) if until is not None and until > now else None


class JunkTally:
    """Per-process tallies of attempts that check no password, written to the shared
    counters `batch` at a time per key, or at once when this process's last known count
    and its own tally reach the key's limit (near the limit every attempt is written, so
    the refusal comes when it did). What it gives up: a process may hold up to
    `batch - 1` attempts of a key unwritten (forgotten when the window ends), so junk can
    pass a limit by that many per process; junk costs no hash, so nothing is gained."""

    def __init__(self, batch: int = 10, max_keys: int = 10_000) -> None:
        self.batch = batch
        self.max_keys = max_keys  # past that, every attempt is written (no unbounded growth)
        self._window: int | None = None
        self._pending: dict[str, int] = {}
        self._known: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: int, window: int) -> int:
        """Count one attempt of `key` in window number `window`: how many to write now
        (0: kept in memory for now)."""
        with self._lock:
            if window != self._window:  # a new window: the old tallies are over
                self._window, self._pending, self._known = window, {}, {}
            pending = self._pending.pop(key, 0) + 1
            if (pending >= self.batch or self._known.get(key, 0) + pending >= limit
                    or len(self._pending) >= self.max_keys):
                return pending
            self._pending[key] = pending
            return 0

    def saw(self, key: str, count: int) -> None:
        """The shared count of `key` after this process's last write."""
        with self._lock:
            self._known[key] = count
