"""Sessions with Lucia v3 semantics: create, validate (with renewal), invalidate, list.

Every validation path asks one pure function, `judge` (`session_policy.py`), what a stored
session means at a given time. Failed validation is a value, not an exception:
`SessionValidation(None, None)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from auth_utils.rules.clock import Clock, utc_now
from auth_utils.rules.tokens import generate_session_token, hash_token, is_well_formed
from auth_utils.services.metrics import VALIDATIONS
from auth_utils.services.session_policy import (
    SessionPolicy,
    Verdict,
    judge,
    renewed_expiry,
    valid_until,
)
from auth_utils.storage import SessionStore, StoredSession

__all__ = ["Session", "SessionManager", "SessionUser", "SessionValidation"]


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
    pending: bool = False  # the second factor is still to be given: not logged in
    verified_at: datetime | None = None  # password (+ second factor) last entered
    must_enrol: bool = False  # REQUIRE_SECOND_FACTOR and none yet: only enrolment is open

    @classmethod
    def of(cls, record: StoredSession, *, fresh: bool = False,
           expires_at: datetime | None = None, last_seen_at: datetime | None = None
           ) -> Session:
        return cls(
            record.id, record.user_id, expires_at or record.expires_at, record.created_at,
            last_seen_at or record.last_seen_at, record.user_agent, record.ip, fresh,
            record.pending, record.verified_at, getattr(record, "must_enrol", False),
        )


@dataclass(frozen=True, slots=True)
class SessionValidation:
    session: Session | None
    user: SessionUser | None
    # The cookie's session had reached its absolute lifetime (`SessionPolicy.max_lifetime`):
    # the app treats the visitor as logged out and may say why.
    ended_by_age: bool = False

    @property
    def valid(self) -> bool:
        """Logged in: a live session whose second factor (if any) was given."""
        return self.session is not None and not self.session.pending

    @property
    def pending(self) -> bool:
        """The password was right; the second factor is still to be given."""
        return self.session is not None and self.session.pending


INVALID = SessionValidation(None, None)
ENDED_BY_AGE = SessionValidation(None, None, ended_by_age=True)


def _valid(record: StoredSession, **changes: object) -> SessionValidation:
    return SessionValidation(Session.of(record, **changes),  # type: ignore[arg-type]
                             SessionUser(record.user_id, record.username))


# The counter's children, bound once: `labels()` looked them up on every request.
_COUNT = {path: VALIDATIONS.labels(path) for path in ("cache", "database", "invalid")}
JUDGED_MAX = 100_000  # as many as the session cache holds by default


class SessionManager:
    """The framework-free core both apps share; its one collaborator is a SessionStore
    (MongoDB, or MongoDB behind the change-stream cache)."""

    def __init__(self, store: SessionStore, *, clock: Clock = utc_now,
                 policy: SessionPolicy | None = None) -> None:
        self.store = store
        self.clock = clock
        self.policy = policy or SessionPolicy()
        # Told after sessions were deleted, `session_id=` one or `user_id=` some of a
        # user's: the back-channel log-out's fast path (auth_utils.services.backchannel). It must
        # not raise; its own sweep catches what it misses (TTL deletions, a crash).
        self.on_ended: Callable[..., object] | None = None
        # What `_from_cache` made of a cached record, by session id: (the record, its
        # validation, `valid_until`). Used only for the very record the cache has just
        # returned (`is`), so eviction, the TTL and the feed's health stay the cache's
        # alone; it saves judging and building the validation on every hit (issue 28).
        self._judged: dict[str, tuple[StoredSession, SessionValidation, datetime]] = {}

    def _ended(self, **which: str) -> None:
        if self.on_ended is not None:
            self.on_ended(**which)

    def create_session(
        self, user_id: str, username: str, *, user_agent: str = "", ip: str = "",
        pending: bool = False, must_enrol: bool = False,
    ) -> tuple[str, Session]:
        """A new session; returns the token for the cookie and the stored session.
        `pending`: the second factor is still to be given (ten minutes, not logged in).
        Beyond `policy.max_per_user` complete sessions (or `max_pending_per_user` pending
        ones), the oldest of the same kind end."""
        token = generate_session_token()
        now = self.clock()
        lifetime = self.policy.pending_lifetime if pending else self.policy.lifetime
        record = self.store.insert(
            id=hash_token(token), user_id=user_id, username=username,
            expires_at=now + min(lifetime, self.policy.max_lifetime), created_at=now,
            user_agent=user_agent[:512], ip=ip[:64], pending=pending,
            verified_at=None if pending else now, must_enrol=must_enrol,
        )
        cap = self.policy.max_pending_per_user if pending else self.policy.max_per_user
        if self.store.trim_for_user(user_id, cap, pending=pending):
            self._ended(user_id=user_id)  # the cap ended the oldest
        return token, Session.of(record, fresh=True)

    def validate_cached(self, token: str | None) -> SessionValidation | None:
        """The validation when it needs no I/O at all (safe on an event loop), else None:
        then the caller runs `validate_session_token` in a thread."""
        if not is_well_formed(token):
            _COUNT["invalid"].inc()
            return INVALID
        cached = self._from_cache(hash_token(token))  # type: ignore[arg-type]
        if cached is not None:
            _COUNT["cache"].inc()
        return cached

    def _from_cache(self, session_id: str) -> SessionValidation | None:
        record = self.store.peek(session_id)
        if record is None:
            return None
        now = self.clock()
        judged = self._judged.get(session_id)
        if judged is not None and judged[0] is record and now < judged[2]:
            return judged[1]
        if judge(record, now, self.policy) is not Verdict.VALID:
            return None
        validation = _valid(record)
        if len(self._judged) >= JUDGED_MAX:  # bounded; refilled by the next hits
            self._judged.clear()
        self._judged[session_id] = (record, validation, valid_until(record, self.policy))
        return validation

    def validate_session_token(self, token: str | None) -> SessionValidation:
        """A cache hit, else one read on the primary; a write only to extend the session,
        refresh last-seen or delete an expired one, each decided on that fresh read."""
        if not is_well_formed(token):
            _COUNT["invalid"].inc()
            return INVALID
        session_id = hash_token(token)  # type: ignore[arg-type]
        if (cached := self._from_cache(session_id)) is not None:
            _COUNT["cache"].inc()
            return cached
        record = self.store.get(session_id)
        now = self.clock()
        verdict = judge(record, now, self.policy)
        _COUNT["database" if record is not None else "invalid"].inc()
        if record is None or verdict is Verdict.UNKNOWN:
            return INVALID
        if verdict in (Verdict.EXPIRED, Verdict.ENDED):
            self.store.delete(session_id, revoke=False)
            self._ended(session_id=session_id)
            return ENDED_BY_AGE if verdict is Verdict.ENDED else INVALID
        if verdict is Verdict.RENEW:
            expires_at = renewed_expiry(record, now, self.policy)
            self.store.refresh(session_id, last_seen_at=now, expires_at=expires_at)
            return _valid(record, fresh=True, expires_at=expires_at, last_seen_at=now)
        if verdict is Verdict.TOUCH:
            self.store.refresh(session_id, last_seen_at=now)
        return _valid(record)

    def mark_verified(self, session_id: str) -> None:
        """The password (and second factor) were just entered again in this session."""
        now = self.clock()
        self.store.refresh(session_id, last_seen_at=now, verified_at=now)

    def recently_verified(self, session: Session) -> bool:
        """Within the re-authentication window ("sudo mode")."""
        return session.verified_at is not None and \
            self.clock() - session.verified_at < self.policy.reauth_window

    def invalidate_session(self, session_id: str) -> bool:
        deleted = self.store.delete(session_id)
        self._ended(session_id=session_id)  # also when another process deleted it first
        return deleted

    def invalidate_user_sessions(self, user_id: str, *, keep: str | None = None) -> int:
        """End every session of a user (but `keep`, e.g. the one changing the password)."""
        count = self.store.delete_for_user(user_id, keep=keep)
        self._ended(user_id=user_id)
        return count

    def list_user_sessions(self, user_id: str) -> list[Session]:
        now = self.clock()
        return [Session.of(r) for r in self.store.list_for_user(user_id, now)
                if judge(r, now, self.policy) not in (Verdict.EXPIRED, Verdict.ENDED)]

    def delete_expired_sessions(self) -> int:
        count = self.store.delete_expired(self.clock())
        if count:
            self._ended()
        return count
