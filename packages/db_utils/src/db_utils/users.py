"""Queries on the `users` collection, and on `retired_usernames` (names of deleted
accounts that sign-up refuses for a while)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from db_utils.documents import RetiredUsername, User, validated
from db_utils.errors import UsernameTaken, translate_errors
from db_utils.records import UserRecord

__all__ = [
    "count_users",
    "create_user",
    "delete_user",
    "get_user_by_id",
    "get_user_by_username",
    "list_deleting_users",
    "list_users",
    "mark_deleting",
    "retire_username",
    "set_disabled",
    "set_failures_seen",
    "set_password_hash",
]


def _users(db: Database) -> Collection:
    return db[User._meta["collection"]]


def _retired(db: Database) -> Collection:
    return db[RetiredUsername._meta["collection"]]


def _retired_id(username: str) -> str:
    return hashlib.sha256(f"retired-username:{username}".encode()).hexdigest()


@translate_errors
def create_user(db: Database, username: str, password_hash: str, *, now: datetime
                ) -> UserRecord:
    """Insert a user; the unique index (not a prior read) decides a taken name. A name
    retired by a deletion (until its reservation ends) is taken too: it is reserved
    before the old user's document goes, so there is no moment when neither holds it."""
    if _retired(db).find_one({"_id": _retired_id(username), "expires_at": {"$gt": now}},
                             {"_id": 1}):
        raise UsernameTaken(username)
    record = UserRecord(secrets.token_hex(10), username, password_hash, now)
    try:
        _users(db).insert_one(validated(User, record))
    except DuplicateKeyError as exc:
        raise UsernameTaken(username) from exc
    return record


@translate_errors
def get_user_by_username(db: Database, username: str) -> UserRecord | None:
    doc = _users(db).find_one({"username": username})
    return UserRecord.from_mongo(doc) if doc else None


@translate_errors
def get_user_by_id(db: Database, user_id: str) -> UserRecord | None:
    doc = _users(db).find_one({"_id": user_id})
    return UserRecord.from_mongo(doc) if doc else None


@translate_errors
def set_password_hash(db: Database, user_id: str, password_hash: str) -> bool:
    return _users(db).update_one(
        {"_id": user_id}, {"$set": {"password_hash": password_hash}}).matched_count == 1


@translate_errors
def set_failures_seen(db: Database, user_id: str, at: datetime) -> None:
    _users(db).update_one({"_id": user_id}, {"$max": {"failures_seen_at": at}})


@translate_errors
def list_users(db: Database, limit: int = 1000) -> list[UserRecord]:
    cursor = _users(db).find().sort("username", 1).limit(limit)
    return [UserRecord.from_mongo(d) for d in cursor]


@translate_errors
def count_users(db: Database) -> int:
    return _users(db).count_documents({})


@translate_errors
def set_disabled(db: Database, user_id: str, at: datetime | None, reason: str = "") -> bool:
    """Disable the user (`at`, `reason`), or enable them again (`at` None)."""
    update = {"$set": {"disabled_at": at, "disabled_reason": reason}} if at is not None \
        else {"$unset": {"disabled_at": "", "disabled_reason": ""}}
    return _users(db).update_one({"_id": user_id}, update).matched_count == 1


@translate_errors
def mark_deleting(db: Database, user_id: str, at: datetime) -> bool:
    """The user's deletion has begun (kept at its first time when run again)."""
    return _users(db).update_one({"_id": user_id},
                                 {"$min": {"deleting_at": at}}).matched_count == 1


@translate_errors
def list_deleting_users(db: Database, limit: int = 1000) -> list[UserRecord]:
    """Users whose deletion began and has not finished (oldest first)."""
    cursor = _users(db).find({"deleting_at": {"$exists": True}}).sort("deleting_at", 1)
    return [UserRecord.from_mongo(d) for d in cursor.limit(limit)]


@translate_errors
def retire_username(db: Database, username: str, until: datetime) -> None:
    """Refuse `username` at sign-up until `until` (only a hash of it is stored)."""
    query, update = {"_id": _retired_id(username)}, {"$max": {"expires_at": until}}
    try:
        _retired(db).update_one(query, update, upsert=True)
    except DuplicateKeyError:  # a deletion run twice at once: the other one inserted it
        _retired(db).update_one(query, update)


@translate_errors
def delete_user(db: Database, user_id: str) -> bool:
    """The last step of an account's deletion: its document, only once the deletion
    began (`mark_deleting`). Everything else of the user (sessions, with the revocations'
    majority write concern, second factor, passkeys, counters) has gone before, in the
    order `auth_utils.flows.lifecycle` keeps so that a crash half-way is safe."""
    return _users(db).delete_one({"_id": user_id, "deleting_at": {"$exists": True}}
                                 ).deleted_count == 1
