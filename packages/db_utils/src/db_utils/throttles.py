"""Fixed-window counters shared by every process (throttling of log-in and sign-up).

`hit_counter` is one atomic increment that returns the new count, so a caller can take
the decision to try a password together with counting it: N parallel requests see N
distinct counts and only those within the limit go on.
"""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from db_utils.documents import Throttle
from db_utils.errors import DatabaseUnavailable, translate_errors

__all__ = ["clear_counter", "forget_counters", "hit_counter", "window_end"]


def _throttles(db: Database) -> Collection:
    return db[Throttle._meta["collection"]]


def _window(key: str, seconds: int, now: datetime) -> tuple[str, datetime]:
    number = int(now.timestamp()) // seconds
    return f"{key}:{number}", datetime.fromtimestamp((number + 1) * seconds, tz=UTC)


def window_end(seconds: int, now: datetime) -> datetime:
    """When the fixed window of length `seconds` that `now` falls in ends."""
    return _window("", seconds, now)[1]


@translate_errors
def hit_counter(db: Database, key: str, seconds: int, now: datetime, amount: int = 1
                ) -> tuple[int, datetime]:
    """Add `amount` (may be negative: a refund) to `key`'s counter in the current window;
    the new count and when the window ends."""
    doc_id, ends_at = _window(key, seconds, now)
    counters = _throttles(db)
    for _ in range(5):
        # One round trip while the window's document exists (every hit but the first).
        doc = counters.find_one_and_update({"_id": doc_id}, {"$inc": {"count": amount}},
                                           return_document=ReturnDocument.AFTER)
        if doc is not None:
            return int(doc["count"]), ends_at
        # The first hit creates it (idempotent), then increments it on the next turn. Not
        # one upsert that increments: parallel first hits race that into duplicate
        # inserts (and SecantusDB then answers some of them with no document).
        with contextlib.suppress(DuplicateKeyError):  # another request created it
            counters.update_one({"_id": doc_id}, {"$setOnInsert": {
                "count": 0, "expires_at": ends_at + timedelta(seconds=1)}}, upsert=True)
    raise DatabaseUnavailable(f"counter {key!r} could not be updated")


@translate_errors
def clear_counter(db: Database, key: str, seconds: int, now: datetime) -> None:
    _throttles(db).delete_one({"_id": _window(key, seconds, now)[0]})


@translate_errors
def forget_counters(db: Database, keys: list[str]) -> int:
    """Delete every window's counter of each key (e.g. a deleted user's); how many."""
    if not keys:
        return 0
    pattern = "^(?:" + "|".join(re.escape(key) for key in keys) + r"):\d+$"
    return _throttles(db).delete_many({"_id": {"$regex": pattern}}).deleted_count
