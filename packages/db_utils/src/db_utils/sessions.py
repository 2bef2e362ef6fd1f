"""Queries on the `sessions` collection: the storage half of auth_utils' session manager.

Every read goes to the primary (the client's default), so a log-out is seen at once.
"""

from __future__ import annotations

from datetime import datetime

from db_utils.documents import Session
from db_utils.errors import translate_errors
from db_utils.records import SessionRecord

__all__ = [
    "count_sessions",
    "delete_expired_sessions",
    "delete_session",
    "delete_user_sessions",
    "get_session",
    "insert_session",
    "list_user_sessions",
    "open_session_change_stream",
    "touch_session",
    "update_session_expiration",
]


def _sessions():
    return Session._get_collection()


@translate_errors
def insert_session(record: SessionRecord) -> None:
    _sessions().insert_one(record.to_mongo())


@translate_errors
def get_session(session_id: str) -> SessionRecord | None:
    """The session with the user attributes the apps show: one round trip."""
    doc = _sessions().find_one({"_id": session_id})
    return SessionRecord.from_mongo(doc) if doc else None


@translate_errors
def update_session_expiration(session_id: str, expires_at: datetime, now: datetime) -> None:
    _sessions().update_one(
        {"_id": session_id}, {"$set": {"expires_at": expires_at, "last_seen_at": now}}
    )


@translate_errors
def touch_session(session_id: str, now: datetime) -> None:
    _sessions().update_one({"_id": session_id}, {"$set": {"last_seen_at": now}})


@translate_errors
def delete_session(session_id: str) -> bool:
    return _sessions().delete_one({"_id": session_id}).deleted_count == 1


@translate_errors
def delete_user_sessions(user_id: str, *, keep: str | None = None) -> int:
    query: dict = {"user_id": user_id}
    if keep is not None:
        query["_id"] = {"$ne": keep}
    return _sessions().delete_many(query).deleted_count


@translate_errors
def list_user_sessions(user_id: str, now: datetime) -> list[SessionRecord]:
    """A user's unexpired sessions, newest first."""
    cursor = _sessions().find({"user_id": user_id, "expires_at": {"$gt": now}}).sort(
        "created_at", -1
    )
    return [SessionRecord.from_mongo(d) for d in cursor.limit(1000)]


@translate_errors
def delete_expired_sessions(now: datetime) -> int:
    return _sessions().delete_many({"expires_at": {"$lte": now}}).deleted_count


@translate_errors
def count_sessions(now: datetime | None = None) -> int:
    query = {} if now is None else {"expires_at": {"$gt": now}}
    return _sessions().count_documents(query)


# Change-stream events that can make a cached session stale.
_STALE_EVENTS = ["delete", "update", "replace", "invalidate", "drop", "rename", "dropDatabase"]


def open_session_change_stream(max_await_ms: int = 500):
    """A pymongo ChangeStream on `sessions` (needs a replica set; SecantusDB is one).

    Raises pymongo errors as they are: the cache's watcher decides what they mean.
    """
    pipeline = [{"$match": {"operationType": {"$in": _STALE_EVENTS}}}]
    return _sessions().watch(pipeline, max_await_time_ms=max_await_ms)
