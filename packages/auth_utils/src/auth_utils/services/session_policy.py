"""What a stored session means at a given time, decided by one pure function (`judge`)
that every validation path asks: valid, due for renewal, expired, ended by its absolute
lifetime; and until when a verdict cannot change (`valid_until`, for the cache)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from auth_utils.storage import StoredSession

__all__ = ["SessionPolicy", "Verdict", "absolute_end", "judge", "renewed_expiry",
           "valid_until"]


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    lifetime: timedelta = timedelta(days=30)  # unused this long, a session ends
    renew_when_less_than: timedelta = timedelta(days=15)
    # However often it is used, a session ends this long after its log-in (ASVS 5.0
    # 7.3.2): renewal never moves `expires_at` past `created_at + max_lifetime`.
    max_lifetime: timedelta = timedelta(days=90)
    last_seen_interval: timedelta = timedelta(minutes=5)
    max_per_user: int = 50  # a new session beyond this ends the oldest
    # Pending (password-only) log-ins are bounded on their own and never end a complete
    # session: a password without the second factor must not log the owner out anywhere.
    max_pending_per_user: int = 10
    pending_lifetime: timedelta = timedelta(minutes=10)  # to enter the second factor
    reauth_window: timedelta = timedelta(minutes=10)  # "sudo mode" for sensitive changes


class Verdict(enum.Enum):
    UNKNOWN = "unknown"  # no such session
    EXPIRED = "expired"  # delete it
    ENDED = "ended"  # reached its absolute lifetime: delete it (the app may say why)
    RENEW = "renew"  # valid; extend it and re-send the cookie
    TOUCH = "touch"  # valid; refresh last-seen
    VALID = "valid"  # valid; nothing to write


def absolute_end(record: StoredSession, policy: SessionPolicy) -> datetime:
    """When `record` ends however often it is used: `created_at + max_lifetime`."""
    return record.created_at + policy.max_lifetime


def renewed_expiry(record: StoredSession, now: datetime, policy: SessionPolicy) -> datetime:
    """The expiry a renewal at `now` sets: `lifetime` on, never past the absolute end."""
    return min(now + policy.lifetime, absolute_end(record, policy))


def judge(record: StoredSession | None, now: datetime, policy: SessionPolicy) -> Verdict:
    """What `record` means at `now`: the one place the session rules live."""
    if record is None:
        return Verdict.UNKNOWN
    end = absolute_end(record, policy)
    if now >= end and end <= record.expires_at:
        # Its absolute end came first (a renewed session's expiry is capped at it; one
        # stored before the limit existed or was lowered may outlive it).
        return Verdict.ENDED
    if now >= record.expires_at or now >= end:
        return Verdict.EXPIRED
    if record.pending:  # ten minutes to give the second factor: never extended
        return Verdict.VALID
    if record.expires_at - now < policy.renew_when_less_than and record.expires_at < end:
        return Verdict.RENEW  # (at its absolute end already: nothing left to extend)
    if now - record.last_seen_at >= policy.last_seen_interval:
        return Verdict.TOUCH
    return Verdict.VALID


def valid_until(record: StoredSession, policy: SessionPolicy) -> datetime:
    """A time before which `judge(record, now)` is VALID, for a record judged VALID: the
    earliest of its end, its expiry, the renewal point and the next last-seen refresh
    (each a bound `judge` checks; the renewal point, where `judge` still says VALID at
    the very microsecond, is taken as excluded: early is safe, late would not be)."""
    end = absolute_end(record, policy)
    bounds = [end, record.expires_at]
    if not record.pending:
        if record.expires_at < end:
            bounds.append(record.expires_at - policy.renew_when_less_than)
        bounds.append(record.last_seen_at + policy.last_seen_interval)
    return min(bounds)
