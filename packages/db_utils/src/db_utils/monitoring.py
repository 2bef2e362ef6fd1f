"""pymongo's monitoring: counting the database commands a piece of code sends (for the
benchmarks and the tests that promise "one round trip"), and telling when the process's
client loses its primary (so callers can stop waiting for it)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from pymongo import monitoring

__all__ = ["PRIMARY_WATCH", "READS", "WRITES", "CommandCounter", "PrimaryWatch",
           "round_trips_per_call"]

READS = ("find", "aggregate", "getMore")
WRITES = ("insert", "update", "delete", "findAndModify")


class CommandCounter(monitoring.CommandListener):
    """Counts commands as they start; register it before any client exists
    (`monitoring.register`) or give it to one client (`event_listeners=[...]`)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.commands: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.counts[event.command_name] += 1
        self.commands.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def round_trips_per_call(counter: CommandCounter, call: Callable[[], object],
                         requests: int) -> list[float]:
    """[reads, writes] per call of `call`, after one warm-up call (indexes, streams)."""
    call()
    time.sleep(0.3)
    counter.counts.clear()
    for _ in range(requests):
        call()
    counter.counts["getMore"] = 0  # a change stream's getMores are its watcher's, not a call's
    return [sum(counter.counts[c] for c in READS) / requests,
            sum(counter.counts[c] for c in WRITES) / requests]


class PrimaryWatch(monitoring.TopologyListener):
    """Calls its subscribers when the topology goes from having a writable server to
    having none (the server died, or the primary stepped down): pymongo's monitor finds a
    crash by itself (0.7-1 s after a SIGKILL of the local server) and at once when any
    operation meets a dead connection, while other operations would each wait the whole
    server-selection timeout (1 s) to find out."""

    def __init__(self) -> None:
        self._subscribers: list[Callable[[str], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call `callback(reason)` on every loss; returns the unsubscribe function."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def opened(self, event: monitoring.TopologyOpenedEvent) -> None:
        pass

    def description_changed(self, event: monitoring.TopologyDescriptionChangedEvent) -> None:
        if event.previous_description.has_writable_server() and \
                not event.new_description.has_writable_server():
            servers = event.new_description.server_descriptions().values()
            reason = "; ".join(str(s.error) for s in servers if s.error) or "no primary"
            with self._lock:
                subscribers = list(self._subscribers)
            for callback in subscribers:
                callback(f"the driver lost the primary: {reason}")

    def closed(self, event: monitoring.TopologyClosedEvent) -> None:
        pass


PRIMARY_WATCH = PrimaryWatch()  # on the process's client (db_utils.connect)
