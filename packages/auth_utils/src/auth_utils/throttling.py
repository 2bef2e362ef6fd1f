"""Log-in and sign-up throttling on counters in MongoDB, shared by every process.

Fixed windows: a username may fail `login_max_failures_per_user` times per 15 minutes,
an IP `login_max_failures_per_ip` times, and an IP may sign up `signup_max_per_ip`
times per hour. A blocked request is refused before any password is checked.
"""

from __future__ import annotations

from auth_utils.clock import Clock, utc_now
from auth_utils.config import Settings
from db_utils import throttles

__all__ = ["Throttler"]


class Throttler:
    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock

    def _login_keys(self, username: str, ip: str) -> dict[str, int]:
        w = self.settings.login_window_seconds
        return {f"login-user:{username}": w, f"login-ip:{ip}": w}

    def login_retry_after(self, username: str, ip: str) -> int | None:
        """Seconds to wait when this username or IP has failed too often, else None."""
        now = self.clock()
        counts = throttles.read_counters(self._login_keys(username, ip), now)
        limits = (
            self.settings.login_max_failures_per_user, self.settings.login_max_failures_per_ip
        )
        waits = [
            window.seconds_left(now)
            for (count, window), limit in zip(counts.values(), limits, strict=True)
            if count >= limit
        ]
        return max(waits) if waits else None

    def record_login_failure(self, username: str, ip: str) -> None:
        now = self.clock()
        for key, seconds in self._login_keys(username, ip).items():
            throttles.hit_counter(key, seconds, now)

    def reset_login_failures(self, username: str) -> None:
        """A success clears the username's counter (not the IP's)."""
        throttles.clear_counter(
            f"login-user:{username}", self.settings.login_window_seconds, self.clock()
        )

    def signup_retry_after(self, ip: str) -> int | None:
        now = self.clock()
        key, seconds = f"signup-ip:{ip}", self.settings.signup_window_seconds
        count, window = throttles.read_counters({key: seconds}, now)[key]
        return window.seconds_left(now) if count >= self.settings.signup_max_per_ip else None

    def record_signup(self, ip: str) -> None:
        throttles.hit_counter(f"signup-ip:{ip}", self.settings.signup_window_seconds, self.clock())
