"""Queries on the `users` collection."""

from __future__ import annotations

import secrets
from datetime import datetime

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from db_utils.documents import Session, User, validated
from db_utils.errors import UsernameTaken, translate_errors
from db_utils.records import UserRecord

__all__ = [
    "count_users",
    "create_user",
    "delete_user",
    "get_user_by_id",
    "get_user_by_username",
    "list_users",
    "set_failures_seen",
    "set_password_hash",
]


def _users(db: Database) -> Collection:
    return db[User._meta["collection"]]


@translate_errors
def create_user(db: Database, username: str, password_hash: str, *, now: datetime
                ) -> UserRecord:
    """Insert a user; the unique index (not a prior read) decides a taken name."""
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
def delete_user(db: Database, user_id: str) -> bool:
    """Delete a user and every session of theirs."""
    db[Session._meta["collection"]].delete_many({"user_id": user_id})
    return _users(db).delete_one({"_id": user_id}).deleted_count == 1
