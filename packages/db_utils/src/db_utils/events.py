"""Queries on the `security_events` collection (the activity log), newest first."""

from __future__ import annotations

from datetime import datetime

from pymongo.collection import Collection
from pymongo.database import Database

from db_utils.documents import SecurityEvent, validated
from db_utils.errors import translate_errors
from db_utils.records import EventRecord

__all__ = ["anonymize_user_events", "count_user_events", "insert_event", "list_user_events",
           "query_events"]

NEWEST_FIRST = [("at", -1), ("_id", -1)]  # ties (the same millisecond) in written order


def _events(db: Database) -> Collection:
    return db[SecurityEvent._meta["collection"]]


@translate_errors
def insert_event(db: Database, record: EventRecord) -> None:
    doc = validated(SecurityEvent, record)
    doc.pop("_id", None)  # the server names it
    _events(db).insert_one(doc)


@translate_errors
def list_user_events(db: Database, user_id: str, skip: int, limit: int) -> list[EventRecord]:
    cursor = _events(db).find({"user_id": user_id}).sort(NEWEST_FIRST).skip(skip).limit(limit)
    return [EventRecord.from_mongo(d) for d in cursor]


@translate_errors
def count_user_events(db: Database, user_id: str, kinds: list[str], since: datetime, *,
                      not_session_ref: str = "") -> int:
    """The user's events of `kinds` after `since`, those of one session left out."""
    query = {"user_id": user_id, "kind": {"$in": kinds}, "at": {"$gt": since}}
    if not_session_ref:
        query["session_ref"] = {"$ne": not_session_ref}
    return _events(db).count_documents(query)


@translate_errors
def query_events(db: Database, *, user_id: str | None = None, since: datetime | None = None,
                 kind: str | None = None, limit: int = 1000) -> list[EventRecord]:
    query: dict = {}
    if user_id is not None:
        query["user_id"] = user_id
    if since is not None:
        query["at"] = {"$gte": since}
    if kind is not None:
        query["kind"] = kind
    return [EventRecord.from_mongo(d)
            for d in _events(db).find(query).sort(NEWEST_FIRST).limit(limit)]


@translate_errors
def anonymize_user_events(db: Database, user_id: str, name_kinds: list[str]) -> int:
    """A deleted user's events lose the username (the user id stays, as an opaque
    reference), and those of `name_kinds` their detail (a name the user chose, e.g. a
    passkey's); how many events the user had."""
    events = _events(db)
    events.update_many({"user_id": user_id, "kind": {"$in": name_kinds}},
                       {"$set": {"detail": ""}})
    return events.update_many({"user_id": user_id},
                              {"$unset": {"username": ""}}).matched_count
