"""argon2id password hashing at OWASP's minimum, with re-hash detection."""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import os
import secrets
import threading
from collections.abc import Iterator
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
    """A bounded queue in front of argon2 (19 MiB and ~35 ms of CPU each).

    At most `concurrency` hashes run at once (half the cores, so page views and health
    checks keep a core), at most `max_wait` seconds' worth wait, and one client (an IP
    bucket) may have at most `per_client` checks running or waiting: a flood from one
    address cannot fill the queue in front of everyone else. Anything beyond is refused
    at once with HasherBusy.
    """

    def __init__(self, concurrency: int | None = None, *, max_wait: float = 2.0,
                 per_client: int = 2) -> None:
        self.concurrency = concurrency or max(1, (os.cpu_count() or 2) // 2)
        self.max_wait = max_wait
        self.per_client = per_client
        self.max_waiting = max(1, int(self.concurrency * max_wait / HASH_SECONDS))
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._lock = threading.Lock()
        self._waiting = 0
        self._clients: collections.Counter[str] = collections.Counter()

    @contextlib.contextmanager
    def slot(self, client: str) -> Iterator[None]:
        with self._lock:
            if self._clients[client] >= self.per_client:
                raise HasherBusy(1, this_client=True)
            if self._waiting >= self.max_waiting:
                raise HasherBusy(math.ceil(self.max_wait), this_client=False)
            self._clients[client] += 1
            self._waiting += 1
        try:
            acquired = self._slots.acquire(timeout=self.max_wait)
            with self._lock:
                self._waiting -= 1
            if not acquired:
                raise HasherBusy(math.ceil(self.max_wait), this_client=False)
            try:
                yield
            finally:
                self._slots.release()
        finally:
            with self._lock:
                self._clients[client] -= 1
                if self._clients[client] <= 0:
                    del self._clients[client]
