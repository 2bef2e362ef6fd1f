"""argon2id password hashing at OWASP's minimum, with re-hash detection."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["PasswordCheck", "hash_password", "hasher", "verify_dummy", "verify_password"]

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
