"""A per-process cache of validated sessions that keeps log-out immediate everywhere.

Every process watches the `sessions` collection through a MongoDB change stream and
evicts a session as soon as it is deleted or updated anywhere; the process that revokes
evicts at once. Whatever happens, an entry lives at most `ttl` seconds. Any stream
error flushes the cache and turns it off (direct lookups) until a new stream is open.
Where change streams are not available (a standalone `mongod`) it turns itself off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from db_utils import SessionRecord
from db_utils import sessions as store

__all__ = ["SessionCache"]

log = logging.getLogger("auth_utils.session_cache")

# "The $changeStream stage is only supported on replica sets" and friends.
_UNSUPPORTED_CODES = frozenset({40573, 40324, 136})


class SessionCache:
    def __init__(self, *, ttl: float = 5.0, max_entries: int = 100_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.monotonic = monotonic
        self._entries: dict[str, tuple[SessionRecord, float]] = {}
        self._lock = threading.Lock()
        self._healthy = False  # True only while a change stream is open
        self._generation = 0  # bumped on every eviction or flush
        self._disabled_reason: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.stream_restarts = 0

    # -- used by SessionManager -------------------------------------------------------

    @property
    def active(self) -> bool:
        self._ensure_watcher()
        return self._healthy

    def generation(self) -> int:
        return self._generation

    def get(self, session_id: str) -> SessionRecord | None:
        """A cached record, only while the stream is open (callers ask `active` first)."""
        if not self._healthy:
            return None
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        record, stored_at = entry
        if self.monotonic() - stored_at > self.ttl:
            self._entries.pop(session_id, None)
            return None
        return record

    def put(self, record: SessionRecord, generation: int) -> None:
        """Cache a record read from MongoDB, unless anything was evicted since the read
        began (`generation`): that eviction may have been for this very session."""
        with self._lock:
            if not self._healthy or generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[record.id] = (record, self.monotonic())

    def evict(self, session_id: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(session_id, None)

    def evict_user(self, user_id: str) -> None:
        with self._lock:
            self._generation += 1
            for key in [k for k, (r, _) in self._entries.items() if r.user_id == user_id]:
                del self._entries[key]

    def flush(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # -- the watcher ----------------------------------------------------------------------

    def _ensure_watcher(self) -> None:
        if self._thread is None and self._disabled_reason is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._watch, name="session-cache-watcher", daemon=True)
                    self._thread.start()

    def _set_unhealthy(self) -> None:
        with self._lock:
            self._healthy = False
            self._generation += 1
            self._entries.clear()

    def _watch(self) -> None:
        from pymongo.errors import OperationFailure, PyMongoError

        backoff = 0.1
        while not self._stop.is_set():
            try:
                with store.open_session_change_stream(max_await_ms=500) as stream:
                    # Entries are only cached from here on: every later change is seen.
                    with self._lock:
                        self._healthy = True
                    backoff = 0.1
                    while not self._stop.is_set() and stream.alive:
                        change = stream.try_next()
                        if change is None:
                            continue
                        key = change.get("documentKey", {}).get("_id")
                        if key is None:  # drop, invalidate, ...: trust nothing
                            self.flush()
                        else:
                            self.evict(key)
            except OperationFailure as exc:
                if exc.code in _UNSUPPORTED_CODES:
                    self._set_unhealthy()
                    self._disabled_reason = str(exc)
                    log.warning("change streams unavailable; session cache off: %s", exc)
                    return
                log.warning("session change stream failed; cache off until it is back: %s", exc)
            except PyMongoError as exc:
                log.warning("session change stream failed; cache off until it is back: %s", exc)
            except Exception:  # never let the watcher die silently with the cache on
                log.exception("session cache watcher crashed; retrying")
            # However the stream ended: flush and serve direct lookups until it reopens.
            self._set_unhealthy()
            self.stream_restarts += 1
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def close(self) -> None:
        self._stop.set()
        self._set_unhealthy()
        if self._thread is not None:
            self._thread.join(timeout=5)
