"""What the core asks of the database, one protocol per collection of things: sessions,
users, second factors, passkeys, linked identities, events, the mail outbox, throttle
counters. (Our OpenID provider's store is `oauth.py`.)"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

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

__all__ = ["AddressTaken", "CounterStore", "EventStore", "IdentityStore", "OutboxStore",
           "PasskeyStore", "SecondFactorStore", "SessionStore", "UserStore"]


class SessionStore(Protocol):
    def insert(self, *, id: str, user_id: str, username: str, expires_at: datetime,
               created_at: datetime, user_agent: str, ip: str, pending: bool,
               verified_at: datetime | None, must_enrol: bool = False) -> StoredSession: ...

    def get(self, session_id: str) -> StoredSession | None:
        """The stored session, read from the primary (never from a cache)."""

    def peek(self, session_id: str) -> StoredSession | None:
        """What is known without any I/O (a cache), else None: safe on an event loop."""

    def refresh(self, session_id: str, *, last_seen_at: datetime,
                expires_at: datetime | None = None,
                verified_at: datetime | None = None) -> None:
        """Move last-seen (and the expiry or verification, when given) forward; never
        backward."""

    def delete(self, session_id: str, *, revoke: bool = True) -> bool:
        """End a session; `revoke=False` for one that had expired anyway (nobody can be
        using it, so a cache need not wait for others to forget it)."""

    def delete_for_user(self, user_id: str, *, keep: str | None = None) -> int: ...

    def trim_for_user(self, user_id: str, keep_newest: int, *, pending: bool = False) -> int:
        """End all but the newest `keep_newest` sessions of a user of one kind: complete
        ones, or `pending` ones (never the other kind); how many ended."""

    def list_for_user(self, user_id: str, now: datetime) -> list[StoredSession]:
        """Unexpired sessions, newest first."""

    def delete_expired(self, now: datetime) -> int: ...

    def count(self, now: datetime | None = None) -> int:
        """Live sessions at `now`, or all stored ones when `now` is None."""


class UserStore(Protocol):
    def create(self, username: str, password_hash: str, now: datetime, *,
               password_unknown: bool = False) -> StoredUser | None:
        """The new user, or None when the name is taken (decided atomically);
        `password_unknown`: made from an outside identity (no password of its own)."""

    def by_username(self, username: str) -> StoredUser | None: ...

    def by_id(self, user_id: str) -> StoredUser | None: ...

    def set_password_hash(self, user_id: str, password_hash: str) -> bool: ...

    def list(self, limit: int) -> list[StoredUser]: ...

    def count(self) -> int: ...

    def set_failures_seen(self, user_id: str, at: datetime) -> None:
        """Failed log-ins up to `at` have been shown to the user."""

    def set_disabled(self, user_id: str, at: datetime | None, reason: str = "") -> bool:
        """Disable the user since `at` for `reason`, or enable them (`at` None)."""

    def mark_deleting(self, user_id: str, at: datetime) -> bool:
        """The user's deletion has begun (the first such time is kept)."""

    def deleting(self, limit: int) -> list[StoredUser]:
        """Users whose deletion began and has not finished, oldest first."""

    def retire(self, username: str, until: datetime) -> None:
        """`create` refuses `username` until `until` (a deleted account's name)."""

    def delete(self, user_id: str) -> bool:
        """Delete the user's document, only once `mark_deleting` was called."""

    def by_email(self, email_key: str) -> StoredUser | None:
        """The user whose *verified* address has this key."""

    def set_token(self, user_id: str, kind: str, token_hash: str, expires_at: datetime, *,
                  pending_email: str | None = None) -> bool:
        """Issue the user's single-use `kind` ("email" or "reset") token, voiding the one
        before; an e-mail token names the address it verifies."""

    def by_token(self, kind: str, token_hash: str, now: datetime) -> StoredUser | None:
        """The user holding this unexpired token (nothing is used up)."""

    def take_reset_token(self, user_id: str, token_hash: str, now: datetime) -> bool:
        """Use the reset token up: True for one caller only (a new password voids it too)."""

    def take_email_token(self, user_id: str, token_hash: str, address: str, key: str,
                         now: datetime) -> bool:
        """Use the e-mail token up, making `address` the verified one: True for one caller
        only; raises AddressTaken when another account has it verified."""

    def remove_email(self, user_id: str) -> bool: ...

    def remember_browser(self, user_id: str, browser_key: str, keep: int) -> bool:
        """Note a browser that logged in: True when it is new to the account."""


class AddressTaken(Exception):
    """The address is verified on another account."""


class SecondFactorStore(Protocol):
    def get(self, user_id: str) -> StoredSecondFactor | None: ...

    def save_pending(self, user_id: str, sealed_secret: str, now: datetime) -> bool:
        """Start an enrolment (False while a second factor is on)."""

    def use_step(self, user_id: str, step: int) -> bool:
        """Atomically record `step` if it is later than any used before."""

    def enable(self, user_id: str, recovery_hashes: list[str]) -> bool: ...

    def use_recovery(self, user_id: str, code_hash: str) -> bool:
        """Atomically remove one unused recovery code."""

    def set_recovery(self, user_id: str, recovery_hashes: list[str]) -> bool: ...

    def delete(self, user_id: str, *, pending_only: bool = False) -> bool:
        """Delete the record (`pending_only`: only an enrolment not confirmed yet)."""

    def trust(self, user_id: str, entry: dict, keep: int) -> bool:
        """Add a trusted browser to an enabled factor (the newest `keep` stay)."""

    def forget(self, user_id: str, browser_id: str | None = None) -> bool:
        """Forget one trusted browser, or all of them (None)."""


class PasskeyStore(Protocol):
    def add(self, *, id: str, user_id: str, public_key: str, name: str,
            created_at: datetime, sign_count: int) -> bool:
        """False when the credential id is registered already (to anyone)."""

    def get(self, credential_id: str) -> StoredPasskey | None: ...

    def for_user(self, user_id: str) -> list[StoredPasskey]: ...

    def use(self, credential_id: str, old_count: int, new_count: int, at: datetime) -> bool:
        """Record a use, only from the sign count the check was made on (atomic)."""

    def rename(self, user_id: str, credential_id: str, name: str) -> bool: ...

    def delete(self, user_id: str, credential_id: str) -> bool: ...

    def delete_for_user(self, user_id: str) -> int:
        """Every passkey of the user and the challenges stored for them; how many passkeys."""

    def put_challenge(self, challenge: str, purpose: str, user_id: str,
                      expires_at: datetime) -> None: ...

    def spend_challenge(self, challenge: str, expires_at: datetime) -> bool:
        """Mark a signed log-in challenge used: True the first time only."""

    def take_challenge(self, challenge: str, purpose: str, now: datetime) -> str | None:
        """Use a challenge up: its user id ("" for none), or None (unknown, used, expired)."""


class IdentityStore(Protocol):
    """Outside identities linked to accounts, and the outside log-ins under way."""

    def link(self, *, id: str, issuer: str, subject: str, provider: str, user_id: str,
             email: str, created_at: datetime) -> bool:
        """False when this issuer and subject are linked already (to anyone): atomic."""

    def get(self, issuer: str, subject: str) -> StoredIdentity | None: ...

    def for_user(self, user_id: str) -> list[StoredIdentity]: ...

    def touch(self, identity_id: str, at: datetime) -> None: ...

    def unlink(self, user_id: str, identity_id: str) -> bool: ...

    def delete_for_user(self, user_id: str) -> int: ...

    def put_flow(self, key_hash: str, purpose: str, data: dict, expires_at: datetime
                 ) -> None: ...

    def take_flow(self, key_hash: str, purpose: str, now: datetime) -> dict | None:
        """Use a flow up: its data for one caller only (None: unknown, used, expired)."""

    def peek_flow(self, key_hash: str, purpose: str, now: datetime) -> dict | None: ...


class EventStore(Protocol):
    def add(self, *, at: datetime, expires_at: datetime, kind: str, outcome: str,
            user_id: str | None, username: str | None, ip: str, browser: str,
            session_ref: str, detail: str) -> None: ...

    def for_user(self, user_id: str, skip: int, limit: int) -> list[StoredEvent]:
        """Newest first."""

    def count_for_user(self, user_id: str, kinds: list[str], since: datetime, *,
                       not_session_ref: str = "") -> int:
        """The user's events of `kinds` after `since`, but those of one session."""

    def query(self, *, user_id: str | None, since: datetime | None, kind: str | None,
              limit: int) -> list[StoredEvent]: ...

    def anonymize(self, user_id: str, name_kinds: list[str]) -> int:
        """Remove the username from the user's events (and the detail from those of
        `name_kinds`); the user id stays. How many events the user had."""


class OutboxStore(Protocol):
    """E-mail waiting to be sent, and the record of what was (see auth_utils.services.mail)."""

    def add(self, *, id: str, message_id: str, to: str, subject: str, body: str, kind: str,
            user_id: str | None, created_at: datetime) -> None:
        """Store a pending message, due at once."""

    def claim(self, now: datetime, lease_until: datetime, lease: str, sender: str,
              retry: RetryPolicy) -> StoredMail | None:
        """Atomically take the oldest due pending message under `lease` until
        `lease_until` (of two senders, one wins), counting the attempt; None when none."""

    def delivered(self, mail: StoredMail, now: datetime) -> bool:
        """It went out: drop the body, keep the metadata for a while (False: already)."""

    def failed(self, mail: StoredMail, now: datetime, error: str, retry: RetryPolicy, *,
               permanent: bool = False) -> str:
        """A failed attempt of this claim: "retry" (backoff), "failed" (given up) or
        "stale" (the lease had passed to another sender: nothing recorded)."""

    def release(self, mail: StoredMail, now: datetime) -> bool:
        """Give an unsent claim back, due at once, the attempt not counted."""

    def requeue(self, now: datetime, message_id: str | None = None) -> int:
        """Failed messages pending again (an operator, once SMTP works again)."""

    def get(self, message_id: str) -> StoredMail | None: ...

    def list(self, status: str | None, limit: int) -> list[StoredMail]:
        """Newest first, without bodies."""

    def counts(self) -> dict[str, int]:
        """Messages per status."""


class CounterStore(Protocol):
    def hit(self, key: str, window_seconds: int, now: datetime, amount: int = 1
            ) -> tuple[int, datetime]:
        """Atomically add `amount` to `key` in the current window: (new count, window end)."""

    def clear(self, key: str, window_seconds: int, now: datetime) -> None: ...

    def forget(self, keys: list[str]) -> int:
        """Delete the counters of `keys` in every window; how many."""
