"""The clock is a value you pass in, so expiry is tested without sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "utc_now"]

Clock = Callable[[], datetime]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_now() -> datetime:
    # MongoDB keeps milliseconds; truncating here makes stored and returned times equal.
    # Whole milliseconds in integers, then one addition: exact, and half the time of
    # `now().replace(microsecond=...)` (read on every validation: issue 28).
    return _EPOCH + timedelta(0, 0, 0, time.time_ns() // 1_000_000)
