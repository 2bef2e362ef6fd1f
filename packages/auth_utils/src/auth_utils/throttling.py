"""Log-in and sign-up throttling on counters shared by every process.

An attempt is counted before any password is checked, with one atomic increment that
returns the new count (a reservation): N parallel attempts see N different counts, so
no more than the limit ever reach the hasher. A successful log-in gives its IP
reservation back and clears the username's counter.

Fixed windows: a username may fail `login_max_failures_per_user` times per 15 minutes,
an IP bucket (an IPv4 address, an IPv6 /64) `login_max_failures_per_ip` times (every
attempt counts, whatever the username looks like), and an IP bucket may try
`signup_max_per_ip` sign-ups an hour.

A process that has seen an IP bucket over its limit remembers it until the window ends
(`OverLimit`) and refuses that client from memory: a flood from one address then costs
one database round trip per process and window, not one per request.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from datetime import datetime

from auth_utils.client_ip import throttle_bucket
from auth_utils.clock import Clock, utc_now
from auth_utils.config import Settings
from auth_utils.storage import CounterStore

__all__ = ["Attempt", "OverLimit", "Throttler"]


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


class OverLimit:
    """The IP buckets this process has seen over a limit, each until its window ends.

    Only per-client keys: their count goes down only when an attempt already allowed is
    given back, so a bucket seen over its limit stays over it for the rest of the window
    (refusing it from memory is at worst stricter than asking the database). A username's
    counter is cleared by a successful log-in in any process, so it is always asked.
    At most `max_keys` are remembered (an attacker with many networks cannot grow it
    without bound); past that, the database decides as before.
    """

    def __init__(self, max_keys: int = 10_000) -> None:
        self.max_keys = max_keys
        self._until: dict[str, datetime] = {}
        self._earliest: datetime | None = None  # the soonest end among `_until`
        self._lock = threading.Lock()

    def remember(self, key: str, until: datetime, now: datetime) -> None:
        with self._lock:
            # Full: make room only once some window has ended. Fixed windows end together
            # (every log-in bucket's at one instant), so one pass frees many keys, and a
            # full memory costs no scan per request until then.
            if len(self._until) >= self.max_keys and self._earliest and self._earliest <= now:
                self._until = {k: end for k, end in self._until.items() if end > now}
                self._earliest = min(self._until.values(), default=None)
            if len(self._until) < self.max_keys:
                self._until[key] = until
                self._earliest = min(self._earliest or until, until)

    def wait(self, key: str, now: datetime) -> int | None:
        """Seconds until `key`'s window ends, when it is known to be over its limit."""
        until = self._until.get(key)
        return _seconds_left(until, now) if until is not None and until > now else None


class Throttler:
    def __init__(self, settings: Settings, counters: CounterStore, *,
                 clock: Clock = utc_now, enabled: bool = True) -> None:
        self.settings = settings
        self.counters = counters
        self.clock = clock
        self.enabled = enabled  # off for an operator's own commands
        self.over_limit = OverLimit()

    def _count(self, keys: list[tuple[str, int]], window: int, now: datetime, *,
               client_key: str | None = None) -> int | None:
        """Count the attempt under each key; seconds to wait when any is over its limit.
        When `client_key` (the client's bucket, one of `keys`) is known to be over its
        limit, nothing is counted: the client is refused for the rest of the window
        however many more it sends. When a hit takes it over, that is remembered."""
        if client_key and (wait := self.over_limit.wait(client_key, now)):
            return wait
        waits = []
        for key, limit in keys:
            count, ends_at = self.counters.hit(key, window, now)
            if count > limit:
                waits.append(_seconds_left(ends_at, now))
                if key == client_key:
                    self.over_limit.remember(key, ends_at, now)
        return max(waits) if waits else None

    def known_over_limit(self, ip: str, *, signup: bool = False) -> int | None:
        """Seconds to wait when this process already knows the client's bucket is over
        its log-in (or sign-up) limit: no I/O, so an app can ask before reading a body."""
        if not self.enabled:
            return None
        prefix = "signup-ip" if signup else "login-ip"
        return self.over_limit.wait(f"{prefix}:{self.bucket(ip)}", self.clock())

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
        return Attempt(self._count(keys, window, now, client_key=ip_key), ip_key, user_key,
                       window, now)

    def login_succeeded(self, attempt: Attempt) -> None:
        """A right password: the IP's reservation is given back, the username's
        failures are forgotten."""
        if not self.enabled:
            return
        self.counters.hit(attempt.ip_key, attempt.window_seconds, attempt.counted_at, -1)
        if attempt.username_key:
            self.counters.clear(attempt.username_key, attempt.window_seconds, self.clock())

    def login_completed(self, username: str, ip: str, counted_at: datetime) -> None:
        """The second factor of a pending log-in was given: only now is its password
        attempt (counted at `counted_at` from `ip`) a success, given back as
        `login_succeeded` does."""
        self.login_succeeded(Attempt(None, f"login-ip:{self.bucket(ip)}",
                                     f"login-user:{username}",
                                     self.settings.login_window_seconds, counted_at))

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

    @staticmethod
    def keys_of(username: str, user_id: str, pending_session_ids: list[str]) -> list[str]:
        """Every counter that names this user (their log-in failures, wrong codes, and
        those of their pending log-ins): what an account's deletion forgets. Client
        buckets name nobody and stay."""
        return [f"login-user:{username}", f"mfa-user:{user_id}",
                *(f"mfa-pending:{session_id}" for session_id in pending_session_ids)]

    def begin_signup(self, ip: str) -> Attempt:
        now, window = self.clock(), self.settings.signup_window_seconds
        key = f"signup-ip:{self.bucket(ip)}"
        if not self.enabled:
            return Attempt(None, key, None, window, now)
        return Attempt(self._count([(key, self.settings.signup_max_per_ip)], window, now,
                                   client_key=key), key, None, window, now)
