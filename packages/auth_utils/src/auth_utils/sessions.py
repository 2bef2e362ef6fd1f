"""Sessions with Lucia v3 semantics: create, validate (with renewal), invalidate, list.

Failed validation is a value, not an exception: `SessionValidation(None, None)`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from auth_utils.clock import Clock, utc_now
from auth_utils.config import Settings
from auth_utils.session_cache import SessionCache
from auth_utils.tokens import generate_session_token, hash_token, is_well_formed
from db_utils import SessionRecord
from db_utils import sessions as store

__all__ = [
    "Session",
    "SessionManager",
    "SessionUser",
    "SessionValidation",
    "session_manager_for",
]

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
        cache: SessionCache | None = None,
    ) -> None:
        self.clock = clock
        self.cache = cache
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
        record = self._lookup(hash_token(token))  # type: ignore[arg-type]
        if record is None:
            return INVALID
        now = self.clock()
        if now >= record.expires_at:
            self.invalidate_session(record.id)
            return INVALID
        user = SessionUser(record.user_id, record.username)
        if record.expires_at - now < self.renew_when_less_than:
            expires_at = now + self.lifetime
            store.update_session_expiration(record.id, expires_at, now)
            renewed = replace(record, expires_at=expires_at, last_seen_at=now)
            self._forget(record.id)
            return SessionValidation(Session.from_record(renewed, fresh=True), user)
        if now - record.last_seen_at >= self.last_seen_interval:
            store.touch_session(record.id, now)
            self._forget(record.id)
        return SessionValidation(Session.from_record(record), user)

    def validate_from_cache(self, token: str | None) -> SessionValidation | None:
        """The validation when the cache alone can answer it (no I/O at all: safe on an
        event loop), else None and the caller runs `validate_session_token` in a thread."""
        if self.cache is None or not is_well_formed(token) or not self.cache.active:
            return None
        record = self.cache.get(hash_token(token))  # type: ignore[arg-type]
        if record is None:
            return None
        now = self.clock()
        if (now >= record.expires_at or record.expires_at - now < self.renew_when_less_than
                or now - record.last_seen_at >= self.last_seen_interval):
            return None  # a write (or a delete) is due: the full path does it
        return SessionValidation(
            Session.from_record(record), SessionUser(record.user_id, record.username))

    def _lookup(self, session_id: str) -> SessionRecord | None:
        """The cache when it is trustworthy, else one `find_one` on the primary."""
        if self.cache is None or not self.cache.active:
            return store.get_session(session_id)
        cached = self.cache.get(session_id)
        if cached is not None:
            return cached
        generation = self.cache.generation()
        record = store.get_session(session_id)
        if record is not None:
            self.cache.put(record, generation)
        return record

    def _forget(self, session_id: str) -> None:
        if self.cache is not None:
            self.cache.evict(session_id)

    def _forget_user(self, user_id: str) -> None:
        if self.cache is not None:
            self.cache.evict_user(user_id)

    def invalidate_session(self, session_id: str) -> bool:
        self._forget(session_id)  # before and after: no reader may re-cache it between
        deleted = store.delete_session(session_id)
        self._forget(session_id)
        return deleted

    def invalidate_user_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of a user (but `keep`, e.g. the one changing the password)."""
        self._forget_user(user_id)
        count = store.delete_user_sessions(user_id, keep=keep)
        self._forget_user(user_id)
        return count

    def list_user_sessions(self, user_id: str) -> list[Session]:
        return [Session.from_record(r) for r in store.list_user_sessions(user_id, self.clock())]

    def delete_expired_sessions(self) -> int:
        return store.delete_expired_sessions(self.clock())


def session_manager_for(settings: Settings) -> SessionManager:
    """The manager an app process uses: with the change-stream cache unless turned off."""
    cache = SessionCache(ttl=settings.session_cache_ttl) if settings.session_cache else None
    return SessionManager(cache=cache)
