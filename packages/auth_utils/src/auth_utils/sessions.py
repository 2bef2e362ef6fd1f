"""Sessions with Lucia v3 semantics: create, validate (with renewal), invalidate, list.

Failed validation is a value, not an exception: `SessionValidation(None, None)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from db_utils import SessionRecord
from db_utils import sessions as store

from auth_utils.clock import Clock, utc_now
from auth_utils.tokens import generate_session_token, hash_token, is_well_formed

__all__ = ["Session", "SessionManager", "SessionUser", "SessionValidation"]

SESSION_LIFETIME = timedelta(days=30)
RENEW_WHEN_LESS_THAN = timedelta(days=15)
LAST_SEEN_INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SessionUser:
    id: str
    username: str


@dataclass(frozen=True, slots=True)
class Session:
    id: str  # SHA-256 of the token, never the token itself
    user_id: str
    expires_at: datetime
    created_at: datetime
    last_seen_at: datetime
    user_agent: str = ""
    ip: str = ""
    fresh: bool = False  # True when just created or extended: the app re-sends the cookie

    @classmethod
    def from_record(cls, record: SessionRecord, *, fresh: bool = False) -> Session:
        return cls(
            record.id, record.user_id, record.expires_at, record.created_at,
            record.last_seen_at, record.user_agent, record.ip, fresh,
        )


@dataclass(frozen=True, slots=True)
class SessionValidation:
    session: Session | None
    user: SessionUser | None

    @property
    def valid(self) -> bool:
        return self.session is not None


INVALID = SessionValidation(None, None)


class SessionManager:
    """The framework-free core both apps share; storage is db_utils.sessions."""

    def __init__(
        self,
        *,
        clock: Clock = utc_now,
        lifetime: timedelta = SESSION_LIFETIME,
        renew_when_less_than: timedelta = RENEW_WHEN_LESS_THAN,
        last_seen_interval: timedelta = LAST_SEEN_INTERVAL,
    ) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.renew_when_less_than = renew_when_less_than
        self.last_seen_interval = last_seen_interval

    def create_session(
        self, user_id: str, username: str, *, user_agent: str = "", ip: str = ""
    ) -> tuple[str, Session]:
        """A new session; returns the token for the cookie and the stored session."""
        token = generate_session_token()
        now = self.clock()
        record = SessionRecord(
            id=hash_token(token), user_id=user_id, username=username,
            expires_at=now + self.lifetime, created_at=now, last_seen_at=now,
            user_agent=user_agent[:512], ip=ip[:64],
        )
        store.insert_session(record)
        return token, Session.from_record(record, fresh=True)

    def validate_session_token(self, token: str | None) -> SessionValidation:
        """One `find_one`; a write only to extend the session or refresh last-seen."""
        if not is_well_formed(token):
            return INVALID
        record = store.get_session(hash_token(token))  # type: ignore[arg-type]
        if record is None:
            return INVALID
        now = self.clock()
        if now >= record.expires_at:
            store.delete_session(record.id)
            return INVALID
        user = SessionUser(record.user_id, record.username)
        if record.expires_at - now < self.renew_when_less_than:
            expires_at = now + self.lifetime
            store.update_session_expiration(record.id, expires_at, now)
            renewed = SessionRecord(
                record.id, record.user_id, record.username, expires_at, record.created_at,
                now, record.user_agent, record.ip,
            )
            return SessionValidation(Session.from_record(renewed, fresh=True), user)
        if now - record.last_seen_at >= self.last_seen_interval:
            store.touch_session(record.id, now)
        return SessionValidation(Session.from_record(record), user)

    def invalidate_session(self, session_id: str) -> bool:
        return store.delete_session(session_id)

    def invalidate_user_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of a user (but `keep`, e.g. the one changing the password)."""
        return store.delete_user_sessions(user_id, keep=keep)

    def list_user_sessions(self, user_id: str) -> list[Session]:
        return [Session.from_record(r) for r in store.list_user_sessions(user_id, self.clock())]

    def delete_expired_sessions(self) -> int:
        return store.delete_expired_sessions(self.clock())
