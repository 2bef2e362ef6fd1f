"""Whether the database is known to be down, for this process: fail fast, probe once.

Without it every storage call during an outage waits the driver's server-selection
timeout and sync workers queue behind one another (7 s seen). With it, the first
call that fails marks the database down; until it answers again every later call raises
the storage's `Unavailable` at once (a 503 in both apps through their existing error
paths), and one background thread at a time pings it every `probe_every` seconds.

A down database can only make requests fail, never succeed: nothing here answers in the
database's place, so a revoked session stays revoked (the session cache obeys its own
rule, auth_utils.services.session_cache).
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from auth_utils.services.metrics import DATABASE_DOWN, DATABASE_OUTAGES
from auth_utils.storage import Storage

__all__ = ["Availability", "GuardedStorage"]

log = logging.getLogger("auth_utils.availability")

T = TypeVar("T")

PROBE_EVERY = 0.25  # seconds between pings while down: recovery is seen this soon
PROBE_TIMEOUT = 1.0  # one ping's bound (it also wakes the driver's own server monitor)


class Availability:
    """The per-process "database down" state and its single prober."""

    def __init__(self, ping: Callable[[float], bool], unavailable: type[Exception], *,
                 probe_every: float = PROBE_EVERY, probe_timeout: float = PROBE_TIMEOUT
                 ) -> None:
        self._ping = ping
        self.unavailable = unavailable
        self.probe_every = probe_every
        self.probe_timeout = probe_timeout
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._reason = ""
        self._epoch = 0  # bumped at every recovery: older failures are not news
        self._prober: threading.Thread | None = None
        self._closed = threading.Event()
        self.outages = 0  # times the database was marked down (for tests and logs)
        self.on_down: list[Callable[[], None]] = []  # told when an outage becomes known

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def check(self) -> None:
        """Raise `Unavailable` at once while the database is known to be down."""
        since = self._down_since
        if since is not None:
            raise self.unavailable(f"the database is down (for {time.monotonic() - since:.1f}"
                                   f" s: {self._reason}); re-checked every "
                                   f"{self.probe_every} s")

    def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call(*args, **kwargs)` unless the database is known down; a failure with
        `Unavailable` marks it down."""
        self.check()
        epoch = self._epoch
        try:
            return call(*args, **kwargs)
        except self.unavailable as exc:
            self.failed(exc, epoch)
            raise

    def failed(self, exc: BaseException, epoch: int | None = None) -> None:
        """Mark the database down (unless the failure began before the latest recovery,
        e.g. a wait that started during the outage) and start the prober."""
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                return
            if self._down_since is None:
                self._down_since, self._reason = time.monotonic(), str(exc)[:200]
                self.outages += 1
                DATABASE_OUTAGES.inc()
                DATABASE_DOWN.set(1)
                log.warning("database unavailable (%s); answering 503 at once until it "
                            "answers a ping again", self._reason)
                for listener in self.on_down:
                    listener()
            if self._prober is None and not self._closed.is_set():
                self._prober = threading.Thread(target=self._probe, name="database-probe",
                                                daemon=True)
                self._prober.start()

    def _probe(self) -> None:
        while not self._closed.is_set():
            try:
                answered = self._ping(self.probe_timeout)
            except Exception:  # a probe never dies: it is the only way back up
                answered = False
            if answered:
                with self._lock:
                    since = self._down_since
                    self._down_since, self._prober = None, None
                    self._epoch += 1
                    DATABASE_DOWN.set(0)
                if since is not None:
                    log.warning("database answers again after %.2f s; serving resumes",
                                time.monotonic() - since)
                return
            self._closed.wait(self.probe_every)
        with self._lock:
            self._prober = None

    def ping(self, timeout: float = 1.0) -> bool:
        """A health check: False at once while known down, else a real ping (a failed
        one marks the database down too)."""
        if self.down:
            return False
        epoch = self._epoch
        if self._ping(timeout):
            return True
        self.failed(self.unavailable("no answer to a ping"), epoch)
        return False

    def close(self) -> None:
        self._closed.set()


class _GuardedStore:
    """Any store, its methods run through `Availability.run` (except `unguarded`,
    which do no I/O). Wrapped methods are kept, so each is built once."""

    def __init__(self, inner: object, availability: Availability,
                 unguarded: frozenset[str] = frozenset()) -> None:
        self._inner, self._availability, self._unguarded = inner, availability, unguarded

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name.startswith("_") or name in self._unguarded or not callable(attr):
            return attr
        guarded = functools.partial(self._availability.run, attr)
        functools.update_wrapper(guarded, attr)
        setattr(self, name, guarded)
        return guarded


class GuardedStorage:
    """A `Storage` whose stores fail fast while the database is known down. The
    invalidation feed keeps its own client and its own backoff (the session cache)."""

    def __init__(self, inner: Storage, availability: Availability | None = None) -> None:
        self.inner = inner
        self.availability = availability or Availability(inner.ping, inner.Unavailable)
        self.Unavailable = inner.Unavailable
        guard = self.availability
        self.sessions = _GuardedStore(inner.sessions, guard, frozenset({"peek"}))
        self.users = _GuardedStore(inner.users, guard)
        self.counters = _GuardedStore(inner.counters, guard)
        self.second_factors = _GuardedStore(inner.second_factors, guard)
        self.events = _GuardedStore(inner.events, guard)
        self.passkeys = _GuardedStore(inner.passkeys, guard)
        self.outbox = _GuardedStore(inner.outbox, guard)
        self.identities = _GuardedStore(inner.identities, guard)
        self.oauth = _GuardedStore(inner.oauth, guard)
        self.invalidations = inner.invalidations
        # Learn of a crash from the driver's monitor too (within ~1 s, even with no
        # request), and from any call that finds a dead connection, not only from a call
        # that waited out the server-selection timeout.
        subscribe = getattr(inner, "on_unreachable", None)
        self._unsubscribe = subscribe(
            lambda reason: guard.failed(self.Unavailable(reason))) if subscribe else None

    def prepare(self) -> None:
        self.availability.run(self.inner.prepare)

    def ping(self, timeout: float = 1.0) -> bool:
        return self.availability.ping(timeout)

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.availability.close()
