"""Fixed-window counters shared by every process (throttling of log-in and sign-up)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument

from db_utils.documents import Throttle
from db_utils.errors import translate_errors

__all__ = ["Window", "clear_counter", "hit_counter", "read_counters"]


def _throttles():
    return Throttle._get_collection()


class Window:
    """The fixed window that `now` falls in, for a window length in seconds."""

    def __init__(self, key: str, seconds: int, now: datetime) -> None:
        number = int(now.timestamp()) // seconds
        self.doc_id = f"{key}:{number}"
        self.ends_at = datetime.fromtimestamp((number + 1) * seconds, tz=UTC)
        self.key = key

    def seconds_left(self, now: datetime) -> int:
        return max(1, int((self.ends_at - now).total_seconds() + 0.999))


@translate_errors
def hit_counter(key: str, seconds: int, now: datetime) -> tuple[int, Window]:
    """Add one to the counter of `key` in the current window; returns the new count."""
    window = Window(key, seconds, now)
    # The throttles collection stays small (TTL-swept), so find_one_and_update is cheap here.
    doc = _throttles().find_one_and_update(
        {"_id": window.doc_id},
        {"$inc": {"count": 1}, "$setOnInsert": {"expires_at": window.ends_at + timedelta(
            seconds=1)}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    return int(doc["count"]), window


@translate_errors
def read_counters(keys: dict[str, int], now: datetime) -> dict[str, tuple[int, Window]]:
    """Current counts for several keys (key -> window seconds) in one round trip."""
    windows = {key: Window(key, seconds, now) for key, seconds in keys.items()}
    found = {
        d["_id"]: int(d["count"])
        for d in _throttles().find({"_id": {"$in": [w.doc_id for w in windows.values()]}})
    }
    return {key: (found.get(w.doc_id, 0), w) for key, w in windows.items()}


@translate_errors
def clear_counter(key: str, seconds: int, now: datetime) -> None:
    _throttles().delete_one({"_id": Window(key, seconds, now).doc_id})
