"""The thread of a sender that drains a queue shared by every process (the mail outbox,
the back-channel log-outs): started once per process, never dead of an error, stopped
after the item in hand. Each sender says what one pass does; this says when passes run."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["DrainThread"]

log = logging.getLogger("auth_utils.worker")


class DrainThread:
    """Runs `drain(resource)` (how many items it handled) again at once while there was
    work; otherwise waits for `wakeup` (set when this process enqueues) or `poll_every`
    seconds (what other processes enqueued). `open_resource` gives what every pass of
    the thread uses (an HTTP client), closed when the thread ends. `stopping` is set by
    `stop`; a pass checks it between items, so a stop waits for the item in hand only."""

    def __init__(self, name: str, drain: Callable[[Any], int], wakeup: threading.Event, *,
                 poll_every: float,
                 open_resource: Callable[[], Any] = contextlib.nullcontext) -> None:
        self.name = name
        self.identity = f"{socket.gethostname()}:{os.getpid()}:{name}"  # in leases, logs
        self.drain = drain
        self.wakeup = wakeup
        self.poll_every = poll_every
        self.open_resource = open_resource
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start the thread unless it runs; whether this call started it."""
        if self.running:
            return False
        self.stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return True

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, join_timeout: float) -> None:
        self.stopping.set()
        self.wakeup.set()
        if self._thread is not None:
            self._thread.join(join_timeout)
            self._thread = None

    def _run(self) -> None:
        with self.open_resource() as resource:
            while not self.stopping.is_set():
                self.wakeup.clear()
                try:
                    handled = self.drain(resource)
                except Exception:  # the sender never dies: log, wait, go on
                    log.exception("%s: unexpected error; trying again in %.1f s", self.name,
                                  self.poll_every)
                    handled = 0
                if not handled:
                    self.wakeup.wait(self.poll_every)
