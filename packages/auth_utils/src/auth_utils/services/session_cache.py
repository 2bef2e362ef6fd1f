"""A per-process cache of sessions, as a decorator of any SessionStore.

It answers `peek` from memory and reads through on `get`. The store's invalidation feed
(a MongoDB change stream of deletions) evicts what other processes delete; the revoking
process evicts at once. Whatever happens, an entry lives at most `ttl` seconds.

The guarantee: once the response to a revocation has been sent, no process serves the
revoked session. Two halves make it:
- a process serves entries only while its feed has come back *empty* from a wait that
  began less than `max_lag` seconds ago (so every deletion committed before that wait
  began has been applied here); a slow, stalled or broken feed stops the serving within
  `max_lag`, and the process reads the store instead;
- a revoking call returns only `max_lag` seconds after the store acknowledged the
  deletion, so by then any process still serving has applied it.
Only `peek` ever answers from memory, and the session manager takes no write decision on a
peeked record, so a stale copy costs a read, never a wrong answer: apart from deletion
(which the feed reports) a session only ever moves forward.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from auth_utils.services.metrics import CACHE_ENTRIES, FEED_LAG, FEED_RESTARTS
from auth_utils.storage import (
    Evict,
    FeedUnsupported,
    Flush,
    InvalidationFeed,
    SessionStore,
    StoredSession,
)

__all__ = ["CachedSessionStore"]

log = logging.getLogger("auth_utils.session_cache")


class CachedSessionStore:
    def __init__(self, inner: SessionStore, feed: InvalidationFeed, *, ttl: float = 5.0,
                 max_entries: int = 100_000, max_lag: float = 0.3,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self.feed = feed
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_lag = max_lag
        self.monotonic = monotonic
        # Oldest first: a full cache drops its oldest tenth, not everything.
        self._entries: OrderedDict[str, tuple[StoredSession, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._healthy = False  # True only while a feed is open
        # When the last wait that came back empty began: every deletion committed before
        # it has been applied here.
        self._caught_up_at = float("-inf")
        self._generation = 0  # bumped on every eviction or flush
        self.disabled_reason: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.stream_restarts = 0  # times the cache stopped trusting its feed

    def _caught_up(self) -> bool:
        """The feed is open and caught up within `max_lag`: entries may be served."""
        return self._healthy and time.monotonic() - self._caught_up_at <= self.max_lag

    @property
    def active(self) -> bool:
        """True while entries may be served (the feed is open and caught up recently)."""
        self._ensure_watcher()
        if self._caught_up():
            return True
        if self._healthy and self._entries:
            self.flush()  # fell behind: what it holds may be revoked; start afresh
            self.stream_restarts += 1  # (pymongo may resume the stream itself)
            FEED_RESTARTS.inc()
        return False

    def _settle(self) -> None:
        """Wait until every other process has either applied a deletion just acknowledged
        or stopped serving from its cache (see the module's docstring)."""
        if self.disabled_reason is None:  # no feed anywhere: nobody caches
            time.sleep(self.max_lag)

    # -- the SessionStore interface -----------------------------------------------------

    def peek(self, session_id: str) -> StoredSession | None:
        # The common case first (every validation asks); `active` also starts the
        # watcher and flushes a cache that fell behind.
        if not self._caught_up() and not self.active:
            return None
        entry = self._entries.get(session_id)
        if entry is None:
            return None
        record, stored_at = entry
        if self.monotonic() - stored_at > self.ttl:
            self._entries.pop(session_id, None)
            return None
        return record

    def get(self, session_id: str) -> StoredSession | None:
        generation = self._generation
        record = self.inner.get(session_id)
        if record is not None:
            self._put(record, generation)
        return record

    def insert(self, **fields: object) -> StoredSession:
        return self.inner.insert(**fields)  # type: ignore[arg-type]

    def refresh(self, session_id: str, *, last_seen_at: datetime,
                expires_at: datetime | None = None,
                verified_at: datetime | None = None) -> None:
        self.inner.refresh(session_id, last_seen_at=last_seen_at, expires_at=expires_at,
                           verified_at=verified_at)
        self.evict(session_id)  # the next `get` caches the new times

    def delete(self, session_id: str, *, revoke: bool = True) -> bool:
        deleted = self.inner.delete(session_id, revoke=revoke)
        self.evict(session_id)
        if deleted and revoke:
            self._settle()
        return deleted

    def delete_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        count = self.inner.delete_for_user(user_id, keep=keep)
        self.evict_user(user_id, keep=keep)
        if count:
            self._settle()
        return count

    def trim_for_user(self, user_id: str, keep_newest: int, *, pending: bool = False) -> int:
        # No `_settle()`: the cap bounds storage, it is not a revocation anybody asked for
        # and waits on. Other processes still drop the trimmed sessions through the feed
        # within `max_lag`; a log-in at the cap must not cost every user `max_lag`.
        count = self.inner.trim_for_user(user_id, keep_newest, pending=pending)
        if count:
            self.evict_user(user_id)
        return count

    def list_for_user(self, user_id: str, now: datetime) -> list[StoredSession]:
        return self.inner.list_for_user(user_id, now)

    def delete_expired(self, now: datetime) -> int:
        return self.inner.delete_expired(now)

    def count(self, now: datetime | None = None) -> int:
        return self.inner.count(now)

    # -- entries ------------------------------------------------------------------------

    def _put(self, record: StoredSession, generation: int) -> None:
        """Cache a record read from the store, unless anything was evicted since the
        read began (`generation`): that eviction may have been for this very session."""
        with self._lock:
            if not self._healthy or generation != self._generation:
                return
            if len(self._entries) >= self.max_entries:
                for _ in range(max(1, self.max_entries // 10)):
                    self._entries.popitem(last=False)
            self._entries[record.id] = (record, self.monotonic())

    def evict(self, session_id: str) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(session_id, None)

    def evict_user(self, user_id: str, *, keep: str | None = None) -> None:
        with self._lock:
            self._generation += 1
            for key in [k for k, (r, _) in self._entries.items()
                        if r.user_id == user_id and k != keep]:
                del self._entries[key]

    def flush(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    # -- the watcher --------------------------------------------------------------------

    def _ensure_watcher(self) -> None:
        if self._thread is None and self.disabled_reason is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._watch, name="session-cache-watcher", daemon=True)
                    self._thread.start()

    def _set_unhealthy(self) -> None:
        with self._lock:
            self._healthy = False
            self._caught_up_at = float("-inf")
            self._generation += 1
            self._entries.clear()

    def _watch(self) -> None:
        backoff = 0.1
        poll = self.max_lag / 3  # an empty wait comes back at least this often
        while not self._stop.is_set():
            try:
                with self.feed.watch(max_await=poll) as invalidations:
                    # Entries are only cached from here on: every later change is seen.
                    with self._lock:
                        self._healthy = True
                    backoff = 0.1
                    while not self._stop.is_set():
                        began = time.monotonic()
                        event = next(invalidations, Flush("the feed ended"))
                        if isinstance(event, Flush):
                            log.warning("session feed ended (%s); cache off until it is back",
                                        event.reason)
                            break
                        if isinstance(event, Evict):
                            self.evict(event.session_id)
                        else:  # None: came back empty from a wait that began at `began`
                            self._caught_up_at = began
                        CACHE_ENTRIES.set(len(self._entries))
                        FEED_LAG.set(time.monotonic() - self._caught_up_at)
            except FeedUnsupported as exc:
                self._set_unhealthy()
                self.disabled_reason = str(exc)
                log.warning("no invalidation feed; session cache off: %s", exc)
                return
            except Exception as exc:  # never let the watcher die with the cache on
                log.warning("session feed failed; cache off until it is back: %s", exc)
            # However the feed ended: flush and serve direct lookups until it reopens.
            self._set_unhealthy()
            self.stream_restarts += 1
            FEED_RESTARTS.inc()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def close(self) -> None:
        self._stop.set()
        self._set_unhealthy()
        if self._thread is not None:
            self._thread.join(timeout=5)
