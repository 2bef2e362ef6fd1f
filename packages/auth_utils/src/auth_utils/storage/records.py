"""The records the stores return, as protocols: structural, so any object with these
attributes will do (the MongoDB stores return dataclasses generated from the documents)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["RetryPolicy", "StoredEvent", "StoredIdentity", "StoredMail", "StoredPasskey",
           "StoredSecondFactor", "StoredSession", "StoredUser"]


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
