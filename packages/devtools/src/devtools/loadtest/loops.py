"""Background threads of a load run that each loop until told to stop."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

__all__ = ["Loops"]


class Loops:
    """Daemon threads running `target(*args)`, one per argument tuple; each loop checks
    `stopping` between two requests, so `stop()` returns within one request's timeout."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, target: Callable[..., None], arguments: Iterable[tuple]) -> None:
        self._threads = [threading.Thread(target=target, args=args, daemon=True)
                         for args in arguments]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30) -> None:
        self.stopping.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
