"""Log-in and sign-up throttling on counters shared by every process.

An attempt is counted before any password is checked, with one atomic increment that
returns the new count (a reservation): N parallel attempts see N different counts, so
no more than the limit ever reach the hasher. A successful log-in gives its IP
reservation back and clears the username's counter.

Fixed windows: a username may fail `login_max_failures_per_user` times per 15 minutes,
an IP bucket (an IPv4 address, an IPv6 /64) `login_max_failures_per_ip` times (every
attempt counts, whatever the username looks like), and an IP bucket may try
`signup_max_per_ip` sign-ups an hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from auth_utils.client_ip import throttle_bucket
from auth_utils.clock import Clock, utc_now
from auth_utils.config import Settings
from auth_utils.storage import CounterStore

__all__ = ["Attempt", "Throttler"]


@dataclass
class Attempt:
    """A counted attempt: `retry_after` (seconds) when it is over a limit."""

    retry_after: int | None
    ip_key: str
    username_key: str | None = None
    window_seconds: int = 0
    counted_at: datetime = field(default_factory=utc_now)

    @property
    def allowed(self) -> bool:
        return self.retry_after is None


def _seconds_left(ends_at: datetime, now: datetime) -> int:
    return max(1, math.ceil((ends_at - now).total_seconds()))


class Throttler:
    def __init__(self, settings: Settings, counters: CounterStore, *,
                 clock: Clock = utc_now, enabled: bool = True) -> None:
        self.settings = settings
        self.counters = counters
        self.clock = clock
        self.enabled = enabled  # off for an operator's own commands

    def _count(self, keys: list[tuple[str, int]], window: int, now: datetime) -> int | None:
        waits = []
        for key, limit in keys:
            count, ends_at = self.counters.hit(key, window, now)
            if count > limit:
                waits.append(_seconds_left(ends_at, now))
        return max(waits) if waits else None

    def bucket(self, ip: str) -> str:
        """The key per-client limits count under (an IPv4 address, an IPv6 network)."""
        return throttle_bucket(ip, self.settings.throttle_ipv6_prefix)

    def begin_login(self, username: str | None, ip: str) -> Attempt:
        """Count a log-in attempt (or a current-password check) before the password is
        checked; `username` None when it cannot name a user (malformed)."""
        now, window = self.clock(), self.settings.login_window_seconds
        ip_key = f"login-ip:{self.bucket(ip)}"
        user_key = f"login-user:{username}" if username else None
        if not self.enabled:
            return Attempt(None, ip_key, user_key, window, now)
        keys = [(ip_key, self.settings.login_max_failures_per_ip)]
        if user_key:
            keys.append((user_key, self.settings.login_max_failures_per_user))
        return Attempt(self._count(keys, window, now), ip_key, user_key, window, now)

    def login_succeeded(self, attempt: Attempt) -> None:
        """A right password: the IP's reservation is given back, the username's
        failures are forgotten."""
        if not self.enabled:
            return
        self.counters.hit(attempt.ip_key, attempt.window_seconds, attempt.counted_at, -1)
        if attempt.username_key:
            self.counters.clear(attempt.username_key, attempt.window_seconds, self.clock())

    def refund(self, attempt: Attempt) -> None:
        """Give an attempt back: it never reached the hasher (busy), or a code was right."""
        if not self.enabled:
            return
        for key in filter(None, (attempt.ip_key, attempt.username_key)):
            self.counters.hit(key, attempt.window_seconds, attempt.counted_at, -1)

    def begin_code(self, user_id: str) -> Attempt:
        """Count a second-factor code before it is checked: per user, in every process
        (a right code gives its reservation back with `refund`)."""
        now, window = self.clock(), self.settings.login_window_seconds
        key = f"mfa-user:{user_id}"
        if not self.enabled:
            return Attempt(None, key, None, window, now)
        return Attempt(self._count([(key, self.settings.mfa_max_failures_per_user)], window,
                                   now), key, None, window, now)

    def pending_code_failure(self, session_id: str) -> int:
        """One more wrong code for this pending log-in; how many it has had."""
        return self.counters.hit(f"mfa-pending:{session_id}",
                                 self.settings.login_window_seconds, self.clock())[0]

    def begin_signup(self, ip: str) -> Attempt:
        now, window = self.clock(), self.settings.signup_window_seconds
        key = f"signup-ip:{self.bucket(ip)}"
        if not self.enabled:
            return Attempt(None, key, None, window, now)
        return Attempt(self._count([(key, self.settings.signup_max_per_ip)], window, now),
                       key, None, window, now)
