"""Fixed-window counters shared by every process (throttling of log-in and sign-up).

`hit_counter` is one atomic increment that returns the new count, so a caller can take
the decision to try a password together with counting it: N parallel requests see N
distinct counts and only those within the limit go on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from db_utils.documents import Throttle
from db_utils.errors import translate_errors

__all__ = ["clear_counter", "hit_counter", "window_end"]


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
    # The throttles collection stays small (TTL-swept), so find_one_and_update is cheap.
    update = {"$inc": {"count": amount},
              "$setOnInsert": {"expires_at": ends_at + timedelta(seconds=1)}}
    for attempt in (1, 2):
        try:
            doc = _throttles(db).find_one_and_update(
                {"_id": doc_id}, update, upsert=True, return_document=ReturnDocument.AFTER)
            return int(doc["count"]), ends_at
        except DuplicateKeyError:
            # Two first hits raced to insert the window's document: the loser retries
            # and now finds it (an update, atomic like any other).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@translate_errors
def clear_counter(db: Database, key: str, seconds: int, now: datetime) -> None:
    _throttles(db).delete_one({"_id": _window(key, seconds, now)[0]})
