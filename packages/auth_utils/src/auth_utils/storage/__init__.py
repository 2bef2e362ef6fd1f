"""The storage interface the auth core needs, in the spirit of Lucia's `Adapter`.

The core (sessions, accounts, throttling, the session cache) talks only to these
protocols; `auth_utils.storage.mongo` implements them on MongoDB and is the one
module that knows which database is used. Records are structural: any object with these
attributes will do (the MongoDB stores return dataclasses generated from the documents).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

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


class StoredSession(Protocol):
    @property
    def id(self) -> str: ...  # SHA-256 hex of the token
    @property
    def user_id(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_seen_at(self) -> datetime: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def ip(self) -> str: ...
    @property
    def pending(self) -> bool: ...  # second factor still to be given
    @property
    def must_enrol(self) -> bool: ...  # REQUIRE_SECOND_FACTOR: may only enrol one
    @property
    def verified_at(self) -> datetime | None: ...  # password (+ factor) last entered


class StoredUser(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def password_hash(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def failures_seen_at(self) -> datetime | None: ...  # failed log-ins shown up to then
    @property
    def disabled_at(self) -> datetime | None: ...  # by an operator: no log-in
    @property
    def disabled_reason(self) -> str | None: ...
    @property
    def deleting_at(self) -> datetime | None: ...  # the deletion began: no log-in
    @property
    def email(self) -> str | None: ...  # the verified address (None: none verified)
    @property
    def email_verified_at(self) -> datetime | None: ...
    @property
    def pending_email(self) -> str | None: ...  # waiting for its verification link
    @property
    def password_unknown(self) -> bool | None: ...  # made from an outside identity


class StoredEvent(Protocol):
    @property
    def at(self) -> datetime: ...
    @property
    def kind(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def ip(self) -> str: ...
    @property
    def browser(self) -> str: ...
    @property
    def session_ref(self) -> str: ...
    @property
    def detail(self) -> str: ...


class StoredPasskey(Protocol):
    @property
    def id(self) -> str: ...  # the credential id, base64url
    @property
    def user_id(self) -> str: ...
    @property
    def public_key(self) -> str: ...  # COSE, base64url
    @property
    def name(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def sign_count(self) -> int: ...
    @property
    def last_used_at(self) -> datetime | None: ...


class StoredIdentity(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def issuer(self) -> str: ...
    @property
    def subject(self) -> str: ...  # the provider's `sub`: with the issuer, the identity
    @property
    def provider(self) -> str: ...  # the OIDC_PROVIDERS id
    @property
    def user_id(self) -> str: ...
    @property
    def email(self) -> str: ...  # as the provider said it: shown, never used to link
    @property
    def created_at(self) -> datetime: ...
    @property
    def last_used_at(self) -> datetime | None: ...


class StoredSecondFactor(Protocol):
    @property
    def secret(self) -> str: ...  # sealed
    @property
    def enabled(self) -> bool: ...
    @property
    def last_step(self) -> int: ...
    @property
    def recovery(self) -> tuple[str, ...]: ...  # hashes of the unused recovery codes
    @property
    def trusted(self) -> tuple[dict, ...]: ...  # {id, created_at, expires_at, browser, ip}


class StoredMail(Protocol):
    @property
    def id(self) -> str: ...  # random; the sealed body is bound to it
    @property
    def message_id(self) -> str: ...  # the Message-ID header, set once at enqueue
    @property
    def to(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def body(self) -> str | None: ...  # sealed; None once delivered
    @property
    def kind(self) -> str: ...
    @property
    def user_id(self) -> str | None: ...
    @property
    def status(self) -> str: ...  # pending / delivered / failed
    @property
    def created_at(self) -> datetime: ...  # also the Date header
    @property
    def next_attempt_at(self) -> datetime: ...  # or, while claimed, the lease's end
    @property
    def attempts(self) -> int: ...
    @property
    def lease(self) -> str: ...  # the current claim's token
    @property
    def leased_by(self) -> str: ...
    @property
    def last_error(self) -> str: ...
    @property
    def delivered_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime | None: ...


class RetryPolicy(Protocol):
    """When to try a message again (`db_utils.outbox.Retry` is one)."""

    @property
    def max_attempts(self) -> int: ...

    def delay(self, attempts: int) -> timedelta: ...


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


class OAuthStore(Protocol):
    """Our OpenID Connect provider's clients, codes, tokens, consents and signing keys
    (records as in db_utils.records; codes and tokens under their SHA-256)."""

    def add_client(self, **fields: object) -> None: ...

    def get_client(self, client_id: str) -> object | None: ...

    def list_clients(self) -> list: ...

    def remove_client(self, client_id: str) -> bool:
        """The client and its tokens, codes and consents."""

    def put_code(self, **fields: object) -> None: ...

    def use_code(self, code_hash: str, client_id: str, now: datetime
                 ) -> tuple[object | None, bool]:
        """Use a code up, atomically: (code, False); (None, True) for a replay."""

    def put_token(self, **fields: object) -> None: ...

    def get_token(self, token_hash: str) -> object | None: ...

    def use_refresh_token(self, token_hash: str, client_id: str, now: datetime
                          ) -> tuple[object | None, object | None]:
        """Rotate atomically: (token, None); (None, token) when it is reused."""

    def revoke_family(self, family: str, now: datetime) -> int: ...

    def revoke_token(self, token_hash: str, now: datetime) -> bool: ...

    def revoke_for_session(self, session_id: str, now: datetime) -> list[str]: ...

    def put_consent(self, **fields: object) -> None: ...

    def get_consent(self, user_id: str, client_id: str) -> object | None: ...

    def consents_for_user(self, user_id: str) -> list: ...

    def delete_consent(self, user_id: str, client_id: str, now: datetime) -> bool: ...

    def add_key(self, **fields: object) -> None: ...

    def keys(self, now: datetime) -> list:
        """Published signing keys, newest first."""

    def set_key_state(self, kid: str, state: str, *, from_state: str) -> bool: ...

    def retire_keys(self, state: str, expires_at: datetime) -> int: ...

    # back-channel log-out (a queue with leases, as the mail outbox)
    def arm_logout(self, **fields: object) -> None:
        """Remember a (session, client) pair to tell when the session ends."""

    def end_logouts(self, now: datetime, *, sessions_now: datetime | None = None,
                    user_id: str | None = None, session_id: str | None = None,
                    limit: int = 1000) -> int:
        """Make due the armed pairs whose session is gone or expired; how many."""

    def claim_logout(self, now: datetime, lease_until: datetime, lease: str, sender: str,
                     retry: RetryPolicy) -> object | None: ...

    def logout_delivered(self, id: str, now: datetime) -> bool: ...

    def logout_failed(self, claimed: object, now: datetime, error: str,
                      retry: RetryPolicy, *, permanent: bool = False) -> str: ...

    def release_logout(self, claimed: object, now: datetime) -> bool: ...

    def list_logouts(self, status: str | None = None, limit: int = 100) -> list: ...


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
