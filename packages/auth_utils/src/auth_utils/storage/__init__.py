"""The storage interface the auth core needs, in the spirit of Lucia's `Adapter`.

The core (sessions, accounts, throttling, the session cache) talks only to these
protocols; `auth_utils.storage.mongo` implements them on MongoDB and is the one
module that knows which database is used. The records are in `records.py`, the stores in
`stores.py` and `oauth.py`; here, the whole `Storage` and the session cache's
invalidation feed, and every name re-exported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from auth_utils.storage.oauth import OAuthStore
from auth_utils.storage.records import (
    RetryPolicy,
    StoredEvent,
    StoredIdentity,
    StoredMail,
    StoredPasskey,
    StoredSecondFactor,
    StoredSession,
    StoredUser,
)
from auth_utils.storage.stores import (
    AddressTaken,
    CounterStore,
    EventStore,
    IdentityStore,
    OutboxStore,
    PasskeyStore,
    SecondFactorStore,
    SessionStore,
    UserStore,
)

__all__ = [
    "AddressTaken",
    "CounterStore",
    "EventStore",
    "Evict",
    "FeedUnsupported",
    "Flush",
    "IdentityStore",
    "Invalidation",
    "InvalidationFeed",
    "OAuthStore",
    "OutboxStore",
    "PasskeyStore",
    "RetryPolicy",
    "SecondFactorStore",
    "SessionStore",
    "Storage",
    "StoredEvent",
    "StoredIdentity",
    "StoredMail",
    "StoredPasskey",
    "StoredSecondFactor",
    "StoredSession",
    "StoredUser",
    "UserStore",
]


@dataclass(frozen=True, slots=True)
class Evict:
    """This session was deleted: forget it."""

    session_id: str


@dataclass(frozen=True, slots=True)
class Flush:
    """Anything may have changed (the feed broke or restarted): forget everything."""

    reason: str


Invalidation = Evict | Flush


class FeedUnsupported(Exception):
    """The storage cannot tell about invalidations (e.g. no change streams)."""


class InvalidationFeed(Protocol):
    def watch(self, max_await: float) -> contextlib.AbstractContextManager[
            Iterator[Invalidation | None]]:
        """Invalidations as they happen; None after `max_await` seconds with none (the
        feed is alive and caught up). Ends with a `Flush` when the feed breaks; raises
        FeedUnsupported where there is no feed at all."""


class Storage(Protocol):
    sessions: SessionStore
    users: UserStore
    counters: CounterStore
    second_factors: SecondFactorStore
    events: EventStore
    passkeys: PasskeyStore
    outbox: OutboxStore
    identities: IdentityStore
    oauth: OAuthStore
    invalidations: InvalidationFeed
    # What the storage raises when it cannot answer now: apps show a 503 for it.
    Unavailable: type[Exception]

    def prepare(self) -> None:
        """Create what the storage needs (indexes); idempotent, run at start-up."""

    def ping(self, timeout: float = 1.0) -> bool: ...

    # Optional: `on_unreachable(callback) -> unsubscribe` calls `callback(reason)` as soon
    # as the storage learns the database went away (before any call times out); the
    # availability guard uses it when present (auth_utils.services.availability).
