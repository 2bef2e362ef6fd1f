"""Events stored after the answer: a failed log-in of a real user is written by a thread
of its own, so the request that failed takes as long as one for an unknown name (which
stores nothing). Readers of the log see those writes first (`FlushedEventStore`)."""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime

from auth_utils.storage import EventStore, StoredEvent

__all__ = ["EventWriter", "FlushedEventStore"]

log = logging.getLogger("auth.events")


class EventWriter:
    """Stores events from one daemon thread of this process, so the request that records
    one does not wait for the write. The queue is bounded: when it is full (the database
    far slower than the events) an event is logged as not stored, and the request never
    blocks. `flush()` waits for what is queued; `close()` drains the queue and stops."""

    def __init__(self, store_one: Callable[[str, dict], None], *,
                 max_queued: int = 10_000) -> None:
        self._store_one = store_one
        self.max_queued = max_queued
        self._queue: queue.Queue[tuple[str, dict] | None] = queue.Queue(max_queued)
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._at_exit = False

    def submit(self, kind: str, event: dict) -> None:
        """Queue one event to store; never blocks (a full queue logs and drops it)."""
        self._ensure_thread()
        try:
            self._queue.put_nowait((kind, event))
        except queue.Full:
            log.warning("could not store security event %s: %d events already waiting",
                        kind.value, self.max_queued)

    def _ensure_thread(self) -> None:
        thread = self._thread
        if thread is not None and self._pid == os.getpid() and thread.is_alive():
            return
        with self._lock:
            if self._pid != os.getpid():  # a forked worker: the parent's thread is not here
                self._queue = queue.Queue(self.max_queued)
                self._thread = None
            if self._thread is None or not self._thread.is_alive():
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="security-events",
                                                daemon=True)
                self._thread.start()
                if not self._at_exit:  # what is queued at exit is still stored
                    atexit.register(self.flush, 2.0)
                    self._at_exit = True

    def _run(self) -> None:
        events = self._queue
        while True:
            item = events.get()
            try:
                if item is None:
                    return
                self._store_one(*item)
            except Exception:  # the writer never dies with events still to come
                log.exception("could not store a security event")
            finally:
                events.task_done()

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait (at most `timeout` s) until every event queued so far is stored (or its
        failure logged): a read in this process then sees them. False on a timeout."""
        events = self._queue
        deadline = time.monotonic() + timeout
        with events.all_tasks_done:
            while events.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                events.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Store what is queued, then stop the thread."""
        thread = self._thread
        if thread is None or not thread.is_alive() or self._pid != os.getpid():
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        thread.join(timeout)
        self._thread = None


class FlushedEventStore:
    """An EventStore whose every read and change first waits for this process's queued
    events: a user's page, a count of failures, an account's anonymization (which must
    not miss an event that still carries the name) see all of them."""

    def __init__(self, store: EventStore, writer: EventWriter) -> None:
        self.inner = store
        self.writer = writer

    def add(self, **fields: object) -> None:
        self.inner.add(**fields)  # type: ignore[arg-type]

    def for_user(self, user_id: str, skip: int, limit: int) -> list[StoredEvent]:
        self.writer.flush()
        return self.inner.for_user(user_id, skip, limit)

    def count_for_user(self, user_id: str, kinds: list[str], since: datetime, *,
                       not_session_ref: str = "") -> int:
        self.writer.flush()
        return self.inner.count_for_user(user_id, kinds, since,
                                         not_session_ref=not_session_ref)

    def query(self, *, user_id: str | None, since: datetime | None, kind: str | None,
              limit: int) -> list[StoredEvent]:
        self.writer.flush()
        return self.inner.query(user_id=user_id, since=since, kind=kind, limit=limit)

    def anonymize(self, user_id: str, name_kinds: list[str]) -> int:
        self.writer.flush()
        return self.inner.anonymize(user_id, name_kinds)
