"""Log-in and sign-up throttling on counters shared by every process.

An attempt is counted before any password is checked, with one atomic increment that
returns the new count (a reservation): N parallel attempts see N different counts, so
no more than the limit ever reach the hasher. A successful log-in gives its IP
reservation back and clears the username's counter.

Fixed windows: a username may fail `login_max_failures_per_user` times per 15 minutes,
an IP bucket (an IPv4 address, an IPv6 /64) `login_max_failures_per_ip` times (every
attempt counts, whatever the username looks like), an IPv6 /48 (65,536 /64s: what one
customer may hold) `login_limit_per_ip48` times (ten times the per-IP limit unless set),
and an IP bucket may try `signup_max_per_ip` sign-ups an hour.

A process that has seen an IP bucket over its limit remembers it until the window ends
(`OverLimit`) and refuses that client from memory: a flood from one address then costs
one database round trip per process and window, not one per request.

Attempts that never reach a password check (a malformed name) are tallied in memory and
written `JunkTally.batch` at a time (`count_junk`): a flood of junk from many addresses,
each under its limit, costs a write per ten attempts instead of one each. Every attempt
that checks a password is still counted exactly, before the check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from auth_utils.config import Settings
from auth_utils.rules.client_ip import network_bucket, throttle_bucket
from auth_utils.rules.clock import Clock, utc_now
from auth_utils.services.throttle_memory import JunkTally, OverLimit, seconds_left
from auth_utils.storage import CounterStore

__all__ = ["NETWORK_PREFIX", "Attempt", "Throttler"]

NETWORK_PREFIX = 48  # the coarser IPv6 bucket log-ins are also counted under
DAY_SECONDS = 24 * 60 * 60


@dataclass
class Attempt:
    """A counted attempt: `retry_after` (seconds) when it is over a limit."""

    retry_after: int | None
    ip_key: str
    username_key: str | None = None
    window_seconds: int = 0
    counted_at: datetime = field(default_factory=utc_now)
    network_key: str | None = None  # an IPv6 client's /48, counted beside its /64
    linked: Attempt | None = None  # the same attempt counted in a longer window too

    @property
    def keys(self) -> list[str]:
        """Every key this attempt was counted under: what a refund gives back."""
        return [k for k in (self.ip_key, self.network_key, self.username_key) if k]

    @property
    def allowed(self) -> bool:
        return self.retry_after is None


class Throttler:
    def __init__(self, settings: Settings, counters: CounterStore, *,
                 clock: Clock = utc_now, enabled: bool = True) -> None:
        self.settings = settings
        self.counters = counters
        self.clock = clock
        self.enabled = enabled  # off for an operator's own commands
        self.over_limit = OverLimit()
        self.junk = JunkTally()

    def _count(self, keys: list[tuple[str, int]], window: int, now: datetime, *,
               client_keys: tuple[str, ...] = ()) -> int | None:
        """Count the attempt under each key; seconds to wait when any is over its limit.
        When one of `client_keys` (the client's buckets, among `keys`: its address or
        /64, its /48) is known to be over its limit, nothing is counted: the client is
        refused for the rest of the window however many more it sends. When a hit takes
        one over, that is remembered."""
        if wait := self._known_over(client_keys, now):
            return wait
        waits = []
        for key, limit in keys:
            count, ends_at = self.counters.hit(key, window, now)
            if count > limit:
                waits.append(seconds_left(ends_at, now))
                if key in client_keys:
                    self.over_limit.remember(key, ends_at, now)
        return max(waits) if waits else None

    def _known_over(self, keys: tuple[str | None, ...], now: datetime) -> int | None:
        waits = [w for k in keys if k and (w := self.over_limit.wait(k, now))]
        return max(waits) if waits else None

    def known_over_limit(self, ip: str, *, signup: bool = False) -> int | None:
        """Seconds to wait when this process already knows the client's bucket is over
        its log-in (or sign-up) limit: no I/O, so an app can ask before reading a body."""
        if not self.enabled:
            return None
        if signup:
            return self.over_limit.wait(f"signup-ip:{self.bucket(ip)}", self.clock())
        return self._known_over(self._login_keys(ip), self.clock())

    def bucket(self, ip: str) -> str:
        """The key per-client limits count under (an IPv4 address, an IPv6 network)."""
        return throttle_bucket(ip, self.settings.throttle_ipv6_prefix)

    def network_bucket(self, ip: str) -> str | None:
        """An IPv6 client's /48, when that is wider than its per-client bucket; else None
        (IPv4, or THROTTLE_IPV6_PREFIX already 48 or wider)."""
        if self.settings.throttle_ipv6_prefix <= NETWORK_PREFIX:
            return None
        return network_bucket(ip, NETWORK_PREFIX)

    def _login_keys(self, ip: str) -> tuple[str, str | None]:
        network = self.network_bucket(ip)
        return f"login-ip:{self.bucket(ip)}", f"login-ip48:{network}" if network else None

    def begin_login(self, username: str | None, ip: str) -> Attempt:
        """Count a log-in attempt (or a current-password check) before the password is
        checked; `username` None when it cannot name a user (malformed)."""
        now, window = self.clock(), self.settings.login_window_seconds
        ip_key, network_key = self._login_keys(ip)
        user_key = f"login-user:{username}" if username else None
        attempt = Attempt(None, ip_key, user_key, window, now, network_key)
        if not self.enabled:
            return attempt
        keys = [(ip_key, self.settings.login_max_failures_per_ip)]
        if network_key:
            keys.append((network_key, self.settings.login_limit_per_ip48))
        if user_key:
            keys.append((user_key, self.settings.login_max_failures_per_user))
        client_keys = (ip_key, network_key) if network_key else (ip_key,)
        attempt.retry_after = self._count(keys, window, now, client_keys=client_keys)
        return attempt

    def count_junk(self, ip: str) -> Attempt:
        """A log-in attempt that will check no password (a malformed name): counted
        against the client's buckets like any, through `JunkTally` (a write per ten, not
        one each); refused the same way once a bucket is over its limit."""
        now, window = self.clock(), self.settings.login_window_seconds
        ip_key, network_key = self._login_keys(ip)
        attempt = Attempt(None, ip_key, None, window, now, network_key)
        if not self.enabled:
            return attempt
        client_keys = (ip_key, network_key) if network_key else (ip_key,)
        if wait := self._known_over(client_keys, now):
            attempt.retry_after = wait
            return attempt
        limits = [(ip_key, self.settings.login_max_failures_per_ip)]
        if network_key:
            limits.append((network_key, self.settings.login_limit_per_ip48))
        number, waits = int(now.timestamp()) // window, []
        for key, limit in limits:
            if amount := self.junk.take(key, limit, number):
                count, ends_at = self.counters.hit(key, window, now, amount)
                self.junk.saw(key, count)
                if count > limit:
                    waits.append(seconds_left(ends_at, now))
                    self.over_limit.remember(key, ends_at, now)
        attempt.retry_after = max(waits) if waits else None
        return attempt

    def login_succeeded(self, attempt: Attempt) -> None:
        """A right password: the client's reservations (its address or /64, and its /48)
        are given back, the username's failures are forgotten."""
        if not self.enabled:
            return
        for key in filter(None, (attempt.ip_key, attempt.network_key)):
            self.counters.hit(key, attempt.window_seconds, attempt.counted_at, -1)
        if attempt.username_key:
            self.counters.clear(attempt.username_key, attempt.window_seconds, self.clock())

    def login_completed(self, username: str, ip: str, counted_at: datetime) -> None:
        """The second factor of a pending log-in was given: only now is its password
        attempt (counted at `counted_at` from `ip`) a success, given back as
        `login_succeeded` does."""
        ip_key, network_key = self._login_keys(ip)
        self.login_succeeded(Attempt(None, ip_key, f"login-user:{username}",
                                     self.settings.login_window_seconds, counted_at,
                                     network_key))

    def refund(self, attempt: Attempt) -> None:
        """Give an attempt back: it never reached the hasher (busy), or a code was right."""
        if not self.enabled:
            return
        for key in attempt.keys:
            self.counters.hit(key, attempt.window_seconds, attempt.counted_at, -1)
        if attempt.linked is not None:
            self.refund(attempt.linked)

    def begin_code(self, user_id: str) -> Attempt:
        """Count an app code before it is checked, per user in every process: in the
        log-in window and in a day (a right code gives both back with `refund`). The day
        is what bounds guessing: `mfa_max_failures_per_day` wrong codes a day, each right
        with chance 3 in 10^6 (three time steps accepted), is 8 x 365 x 3e-6 = 0.9 % a
        year at the default 8, where the window alone allowed 65 %. Only an attempt the
        short window lets through counts against the day, so an attacker held back by it
        spends none of the owner's day."""
        now, window = self.clock(), self.settings.login_window_seconds
        attempt = Attempt(None, f"mfa-user:{user_id}", None, window, now)
        if not self.enabled:
            return attempt
        attempt.retry_after = self._count(
            [(attempt.ip_key, self.settings.mfa_max_failures_per_user)], window, now)
        if attempt.retry_after is None:
            day = Attempt(None, f"mfa-user-day:{user_id}", None, DAY_SECONDS, now)
            day.retry_after = self._count(
                [(day.ip_key, self.settings.mfa_max_failures_per_day)], DAY_SECONDS, now)
            attempt.linked = day
            if day.retry_after is not None:
                attempt.retry_after = day.retry_after
        return attempt

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
                f"mfa-user-day:{user_id}",
                *(f"mfa-pending:{session_id}" for session_id in pending_session_ids)]

    def begin_signup(self, ip: str) -> Attempt:
        now, window = self.clock(), self.settings.signup_window_seconds
        key = f"signup-ip:{self.bucket(ip)}"
        if not self.enabled:
            return Attempt(None, key, None, window, now)
        return Attempt(self._count([(key, self.settings.signup_max_per_ip)], window, now,
                                   client_keys=(key,)), key, None, window, now)

    def begin_reset(self, identifier: str, ip: str) -> Attempt:
        """A password-reset request: counted per client bucket and per what was typed
        (a username or an address, whether or not anyone has it: a limit that applied
        only to real accounts would tell which ones exist). Only a hash of it is kept."""
        now, window = self.clock(), self.settings.reset_window_seconds
        ip_key = f"reset-ip:{self.bucket(ip)}"
        asked = hashlib.sha256(f"reset:{identifier}".encode()).hexdigest()[:32]
        asked_key = f"reset-asked:{asked}"
        if not self.enabled:
            return Attempt(None, ip_key, asked_key, window, now)
        return Attempt(self._count([(ip_key, self.settings.reset_max_per_ip),
                                    (asked_key, self.settings.reset_max_per_account)],
                                   window, now, client_keys=(ip_key,)),
                       ip_key, asked_key, window, now)

    def begin_verification_mail(self, user_id: str) -> Attempt:
        """A verification mail to an address the user typed: counted per account, so a
        session cannot turn the site into a mail cannon."""
        now, window = self.clock(), self.settings.reset_window_seconds
        key = f"verify-user:{user_id}"
        if not self.enabled:
            return Attempt(None, key, None, window, now)
        return Attempt(self._count([(key, self.settings.reset_max_per_account)], window, now),
                       key, None, window, now)
