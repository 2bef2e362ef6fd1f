"""argon2id password hashing at OWASP's minimum, with re-hash detection."""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = [
    "HasherBusy",
    "HashingGate",
    "PasswordCheck",
    "hash_password",
    "hasher",
    "verify_dummy",
    "verify_password",
]

# OWASP Password Storage Cheat Sheet minimum for argon2id: m=19 MiB, t=2, p=1.
hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    ok: bool
    needs_rehash: bool = False


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str, password: str) -> PasswordCheck:
    """Check a password; `needs_rehash` when the hash used other parameters."""
    try:
        hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return PasswordCheck(False)
    return PasswordCheck(True, hasher.check_needs_rehash(password_hash))


@functools.cache
def _dummy_hash() -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def verify_dummy(password: str) -> PasswordCheck:
    """Run one real verify for a user that does not exist, so both cost the same."""
    verify_password(_dummy_hash(), password)
    return PasswordCheck(False)


class HasherBusy(Exception):
    """Too many password checks are waiting: answer at once instead of queueing."""

    def __init__(self, retry_after: int, *, this_client: bool) -> None:
        super().__init__("this client has password checks in progress" if this_client
                         else "the password hasher is saturated")
        self.retry_after = retry_after
        self.this_client = this_client  # True: the client's own share is used up (429)


HASH_SECONDS = 0.04  # one argon2id verify at OWASP's parameters, measured on 2 cores


class HashingGate:
    """A bounded, fair queue in front of argon2 (19 MiB and ~35 ms of CPU each).

    `admit(client)` lets one client (an IP bucket) have at most `per_client` log-in flows
    in progress in this process, checked in memory before any other work: a flood from
    one address is refused at once without costing a database round trip or a hash.
    `slot(client)` runs at most `concurrency` hashes at once (half the cores, so page views
    and health checks keep a core), lets at most `max_wait` seconds' worth wait, and gives
    a free slot to the waiting client served least recently, so the flood's own queue
    never stands in front of anyone else. Beyond either bound: HasherBusy, at once.
    """

    def __init__(self, concurrency: int | None = None, *, max_wait: float = 2.0,
                 per_client: int = 2) -> None:
        self.concurrency = concurrency or max(1, (os.cpu_count() or 2) // 2)
        self.max_wait = max_wait
        self.per_client = per_client
        self.max_waiting = max(1, int(self.concurrency * max_wait / HASH_SECONDS))
        self._cond = threading.Condition()
        self._running = 0
        self._waiting: list[tuple[str, object]] = []  # (client, ticket), in arrival order
        self._served: dict[str, float] = {}  # client -> when its last hash began
        self._clients: collections.Counter[str] = collections.Counter()

    def refuse(self, client: str) -> None:
        """Raise HasherBusy when `client` has its share in progress already: an in-memory
        peek an app can make before reading the request body (`admit` still decides)."""
        if self._clients.get(client, 0) >= self.per_client:
            raise HasherBusy(1, this_client=True)

    @contextlib.contextmanager
    def admit(self, client: str) -> Iterator[None]:
        with self._cond:
            self.refuse(client)
            self._clients[client] += 1
        try:
            yield
        finally:
            with self._cond:
                self._clients[client] -= 1
                if self._clients[client] <= 0:
                    del self._clients[client]

    def wake(self) -> None:
        """Make every waiter re-check its `give_up`."""
        with self._cond:
            self._cond.notify_all()

    def _next(self) -> object:
        """The ticket of the waiting client served least recently (arrival breaks ties)."""
        return min(self._waiting, key=lambda w: self._served.get(w[0], -math.inf))[1]

    @contextlib.contextmanager
    def slot(self, client: str, give_up: Callable[[], bool] = lambda: False
             ) -> Iterator[None]:
        """A hashing slot; the wait ends early (HasherBusy) when `give_up()` turns true,
        checked whenever `wake()` is called (the database went down: the hash could not
        be stored anyway)."""
        ticket = object()
        with self._cond:
            if len(self._waiting) >= self.max_waiting:
                raise HasherBusy(math.ceil(self.max_wait), this_client=False)
            self._waiting.append((client, ticket))
            granted = self._cond.wait_for(
                lambda: give_up() or (self._running < self.concurrency
                                      and self._next() is ticket),
                timeout=self.max_wait)
            self._waiting.remove((client, ticket))
            if not granted or give_up():
                self._cond.notify_all()
                raise HasherBusy(math.ceil(self.max_wait), this_client=False)
            self._running += 1
            self._served[client] = time.monotonic()
            if len(self._served) > 10 * self.max_waiting:  # forget long-gone clients
                for old in sorted(self._served, key=self._served.get)[:len(self._served) // 2]:
                    del self._served[old]
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()
