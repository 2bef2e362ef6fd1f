"""Queries on the `sessions` collection, and the change stream of its deletions.

Every read goes to the primary (the client's default), so a log-out is seen at once.
Each function takes the database to use, so a caller (or a test) can pick the client.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime

from pymongo import WriteConcern
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

from db_utils.documents import Session, validated
from db_utils.errors import (
    ChangeStreamUnsupported,
    StreamInvalidated,
    translate_errors,
    translating,
)
from db_utils.records import SessionRecord

__all__ = [
    "count_sessions",
    "delete_expired_sessions",
    "delete_session",
    "delete_user_sessions",
    "get_session",
    "insert_session",
    "list_user_sessions",
    "trim_user_sessions",
    "update_session",
    "watch_session_deletes",
]


def _sessions(db: Database) -> Collection:
    return db[Session._meta["collection"]]


def _revocations(db: Database) -> Collection:
    """Deletions wait for a majority: change streams report only majority-committed
    writes, and the session cache's guarantee counts from the acknowledgement."""
    return _sessions(db).with_options(write_concern=WriteConcern("majority"))


@translate_errors
def insert_session(db: Database, record: SessionRecord) -> None:
    _sessions(db).insert_one(validated(Session, record))


@translate_errors
def get_session(db: Database, session_id: str) -> SessionRecord | None:
    """The session with the user attributes the apps show: one round trip."""
    doc = _sessions(db).find_one({"_id": session_id})
    return SessionRecord.from_mongo(doc) if doc else None


@translate_errors
def update_session(
    db: Database, session_id: str, *, last_seen_at: datetime, expires_at: datetime | None = None,
    verified_at: datetime | None = None,
) -> None:
    """Refresh last-seen and, when given, extend the expiry or the last verification
    (`$max`: never moved back, so two processes writing at once cannot undo each other)."""
    update: dict = {"$max": {"last_seen_at": last_seen_at}}
    if expires_at is not None:
        update["$max"]["expires_at"] = expires_at
    if verified_at is not None:
        update["$max"]["verified_at"] = verified_at
    _sessions(db).update_one({"_id": session_id}, update)


@translate_errors
def delete_session(db: Database, session_id: str) -> bool:
    return _revocations(db).delete_one({"_id": session_id}).deleted_count == 1


@translate_errors
def delete_user_sessions(db: Database, user_id: str, *, keep: str | None = None) -> int:
    query: dict = {"user_id": user_id}
    if keep is not None:
        query["_id"] = {"$ne": keep}
    return _revocations(db).delete_many(query).deleted_count


@translate_errors
def list_user_sessions(
    db: Database, user_id: str, now: datetime, limit: int = 1000
) -> list[SessionRecord]:
    """A user's unexpired sessions, newest first."""
    cursor = _sessions(db).find({"user_id": user_id, "expires_at": {"$gt": now}})
    return [SessionRecord.from_mongo(d) for d in cursor.sort("created_at", -1).limit(limit)]


@translate_errors
def trim_user_sessions(db: Database, user_id: str, keep_newest: int, *,
                       pending: bool = False) -> list[str]:
    """Delete all but the newest `keep_newest` sessions of a user of one kind (complete,
    or `pending`: a password without its second factor yet); the deleted ids. Each kind
    is bounded on its own, so password-only log-ins can never end a complete session."""
    kind = True if pending else {"$ne": True}
    cursor = _sessions(db).find({"user_id": user_id, "pending": kind}, {"_id": 1}) \
        .sort("created_at", -1)
    surplus = [d["_id"] for d in cursor.skip(keep_newest)]
    if surplus:
        _revocations(db).delete_many({"_id": {"$in": surplus}})
    return surplus


@translate_errors
def delete_expired_sessions(db: Database, now: datetime) -> int:
    return _sessions(db).delete_many({"expires_at": {"$lte": now}}).deleted_count


@translate_errors
def count_sessions(db: Database, now: datetime | None = None) -> int:
    query = {} if now is None else {"expires_at": {"$gt": now}}
    return _sessions(db).count_documents(query)


# Only what can make a cached session unsafe: a deletion, or the end of the stream
# itself. Updates (last-seen, renewal) only ever move a session's times forward, so a
# stale cached copy errs towards asking the database; they need not fan out.
_UNSAFE_EVENTS = ["delete", "invalidate", "drop", "rename", "dropDatabase"]
# "The $changeStream stage is only supported on replica sets" and friends.
_UNSUPPORTED_CODES = frozenset({40573, 40324, 136})


@contextlib.contextmanager
def watch_session_deletes(db: Database, max_await_ms: int = 500) -> Iterator[Iterator[str | None]]:
    """Ids of deleted sessions as they happen; `None` when `max_await_ms` passed with
    none (the stream is alive and has caught up). Raises ChangeStreamUnsupported where
    the deployment has no change streams, StreamInvalidated when the collection was
    dropped or renamed, DatabaseUnavailable on any other failure."""
    pipeline = [{"$match": {"operationType": {"$in": _UNSAFE_EVENTS}}}]
    with translating():
        try:
            stream = _sessions(db).watch(pipeline, max_await_time_ms=max_await_ms)
        except OperationFailure as exc:
            if exc.code in _UNSUPPORTED_CODES:
                raise ChangeStreamUnsupported(str(exc)) from exc
            raise

    def events() -> Iterator[str | None]:
        with translating():
            while stream.alive:
                change = stream.try_next()
                if change is None:
                    yield None
                    continue
                key = change.get("documentKey", {}).get("_id")
                if key is None:  # drop, rename, invalidate: the stream ends
                    raise StreamInvalidated(change.get("operationType", "unknown"))
                yield key
        raise StreamInvalidated("the change stream closed")

    with stream:
        yield events()
