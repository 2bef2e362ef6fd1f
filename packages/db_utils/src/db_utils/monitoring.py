"""Counting the database commands a piece of code sends (pymongo's command monitoring),
for the benchmarks and the tests that promise "one round trip"."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

from pymongo import monitoring

__all__ = ["READS", "WRITES", "CommandCounter", "round_trips_per_call"]

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
