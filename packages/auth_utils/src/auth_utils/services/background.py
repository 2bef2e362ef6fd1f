"""Work done after the answer: one daemon thread per process with a bounded queue.

For what must not show in a response's timing, e.g. whether a password-reset request
named a real account (looking it up, issuing the token and storing the mail cost
database round trips that an unknown name would not). A job starts `start_after`
seconds after it was submitted, so that the answer it must not show in is written first
(on the same cores, in the same process). A full queue drops the job with a warning
rather than block the request; a job that fails is logged, never raised.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

__all__ = ["Background"]

log = logging.getLogger("auth_utils.background")


class Background:
    def __init__(self, name: str, max_waiting: int = 1000, start_after: float = 0.1, *,
                 retry_on: tuple[type[Exception], ...] = (), attempts: int = 3,
                 retry_every: float = 1.0) -> None:
        self.name = name
        self.start_after = start_after
        # A job that fails with one of `retry_on` (the database not answering for a
        # moment) runs again, `attempts` times in all, `retry_every` seconds apart: the
        # request it came from was answered already, so nobody else would try again.
        self.retry_on = retry_on
        self.attempts = attempts
        self.retry_every = retry_every
        self._jobs: queue.Queue[tuple[float, Callable[[], None]] | None] = queue.Queue(
            max_waiting)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job: Callable[[], None]) -> bool:
        """Run `job` soon on the worker; False (and a warning) when too many wait."""
        self._start()
        try:
            self._jobs.put_nowait((time.monotonic() + self.start_after, job))
        except queue.Full:
            log.warning("%s: %d jobs waiting; one dropped", self.name, self._jobs.qsize())
            return False
        return True

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until every job submitted so far has run (tests, a graceful stop)."""
        done = threading.Event()
        if not self.submit(done.set):
            return False
        return done.wait(timeout)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name,
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            not_before, job = item
            if (wait := not_before - time.monotonic()) > 0:
                time.sleep(wait)
            for attempt in range(1, self.attempts + 1):
                try:
                    job()
                    break
                except self.retry_on as exc:
                    if attempt == self.attempts:
                        log.warning("%s: a job failed %d times (%s); dropped", self.name,
                                    attempt, exc)
                    else:
                        time.sleep(self.retry_every)
                except Exception:  # the worker never dies: log and go on
                    log.exception("%s: a job failed", self.name)
                    break

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            try:
                self._jobs.put(None, timeout=1)
            except queue.Full:
                return
            self._thread.join(5)
        self._thread = None
