"""A per-process cache of sessions, as a decorator of any SessionStore.

It answers `peek` from memory and reads through on `get`. It trusts an entry only while
the store's invalidation feed (a MongoDB change stream of deletions) is open, for at
most `ttl` seconds, and only while the feed has shown it is alive within
`max_silence` seconds. The revoking process evicts at once; every other process evicts
when the feed tells it. A broken or stalled feed flushes the cache and leaves every
lookup to the store until a new feed is open; where there is no feed at all it turns
itself off. Only `peek` ever answers from memory, and the session manager takes no
write decision on a peeked record, so a stale copy costs a read, never a wrong answer:
apart from deletion (which the feed reports) a session only ever moves forward.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

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
                 max_entries: int = 100_000, max_silence: float = 2.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.inner = inner
        self.feed = feed
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_silence = max_silence
        self.monotonic = monotonic
        # Oldest first: a full cache drops its oldest tenth, not everything.
        self._entries: OrderedDict[str, tuple[StoredSession, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._healthy = False  # True only while a feed is open
        self._heard_at = float("-inf")  # when the feed last proved it is alive
        self._generation = 0  # bumped on every eviction or flush
        self.disabled_reason: str | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.stream_restarts = 0

    @property
    def active(self) -> bool:
        """True while entries may be served (the feed is open and recently heard)."""
        self._ensure_watcher()
        if not self._healthy:
            return False
        if time.monotonic() - self._heard_at > self.max_silence:
            if self._entries:  # a stalled feed may be holding back a deletion
                self.flush()
            return False
        return True

    # -- the SessionStore interface -----------------------------------------------------

    def peek(self, session_id: str) -> StoredSession | None:
        if not self.active:
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
                expires_at: datetime | None = None) -> None:
        self.inner.refresh(session_id, last_seen_at=last_seen_at, expires_at=expires_at)
        self.evict(session_id)  # the next `get` caches the new times

    def delete(self, session_id: str) -> bool:
        deleted = self.inner.delete(session_id)
        self.evict(session_id)
        return deleted

    def delete_for_user(self, user_id: str, *, keep: str | None = None) -> int:
        count = self.inner.delete_for_user(user_id, keep=keep)
        self.evict_user(user_id, keep=keep)
        return count

    def trim_for_user(self, user_id: str, keep_newest: int) -> int:
        count = self.inner.trim_for_user(user_id, keep_newest)
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
            self._generation += 1
            self._entries.clear()

    def _watch(self) -> None:
        backoff = 0.1
        poll = min(0.5, self.max_silence / 4)
        while not self._stop.is_set():
            try:
                with self.feed.watch(max_await=poll) as invalidations:
                    # Entries are only cached from here on: every later change is seen.
                    with self._lock:
                        self._healthy = True
                        self._heard_at = time.monotonic()
                    backoff = 0.1
                    for event in invalidations:
                        if self._stop.is_set():
                            break
                        if isinstance(event, Flush):
                            log.warning("session feed ended (%s); cache off until it is back",
                                        event.reason)
                            break
                        if isinstance(event, Evict):
                            self.evict(event.session_id)
                        self._heard_at = time.monotonic()
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
            self._stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)

    def close(self) -> None:
        self._stop.set()
        self._set_unhealthy()
        if self._thread is not None:
            self._thread.join(timeout=5)
