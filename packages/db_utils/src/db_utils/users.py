"""Queries on the `users` collection, and on `retired_usernames` (names of deleted
accounts that sign-up refuses for a while)."""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from datetime import datetime
from typing import Literal

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from db_utils.documents import RetiredUsername, User, validated
from db_utils.errors import EmailTaken, UsernameTaken, translate_errors
from db_utils.records import UserRecord

__all__ = [
    "count_users",
    "create_user",
    "delete_user",
    "get_user_by_email",
    "get_user_by_id",
    "get_user_by_username",
    "list_deleting_users",
    "list_users",
    "mark_deleting",
    "remember_browser",
    "remove_email",
    "retire_username",
    "set_disabled",
    "set_failures_seen",
    "set_password_hash",
    "set_token",
    "take_email_token",
    "take_reset_token",
    "user_by_token",
]

Token = Literal["email", "reset"]  # which single-use token: `<kind>_token` on the user


def _users(db: Database) -> Collection:
    return db[User._meta["collection"]]


def _retired(db: Database) -> Collection:
    return db[RetiredUsername._meta["collection"]]


def _retired_id(username: str) -> str:
    return hashlib.sha256(f"retired-username:{username}".encode()).hexdigest()


@translate_errors
def create_user(db: Database, username: str, password_hash: str, *, now: datetime,
                password_unknown: bool = False) -> UserRecord:
    """Insert a user; the unique index (not a prior read) decides a taken name. A name
    retired by a deletion (until its reservation ends) is taken too: it is reserved
    before the old user's document goes, so there is no moment when neither holds it."""
    if _retired(db).find_one({"_id": _retired_id(username), "expires_at": {"$gt": now}},
                             {"_id": 1}):
        raise UsernameTaken(username)
    record = UserRecord(secrets.token_hex(10), username, password_hash, now)
    if password_unknown:  # made from an outside identity (db_utils.documents.User)
        record = dataclasses.replace(record, password_unknown=True)
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
def get_user_by_email(db: Database, email_key: str) -> UserRecord | None:
    """The user whose verified address has this key (unverified ones are not looked at)."""
    doc = _users(db).find_one({"email_key": email_key})
    return UserRecord.from_mongo(doc) if doc else None


@translate_errors
def set_password_hash(db: Database, user_id: str, password_hash: str) -> bool:
    """A new password; any reset link issued for the old one is void from now on."""
    return _users(db).update_one(
        {"_id": user_id}, {"$set": {"password_hash": password_hash},
                           "$unset": {"reset_token": "", "reset_token_expires_at": "",
                                      "password_unknown": ""}}
    ).matched_count == 1


@translate_errors
def set_token(db: Database, user_id: str, kind: Token, token_hash: str, expires_at: datetime,
              *, pending_email: str | None = None) -> bool:
    """Issue the user's `kind` token (replacing, so voiding, the one before); an e-mail
    token comes with the address it verifies. False when there is no such user."""
    fields: dict = {f"{kind}_token": token_hash, f"{kind}_token_expires_at": expires_at}
    if kind == "email":
        fields["pending_email"] = pending_email
    return _users(db).update_one({"_id": user_id, "deleting_at": {"$exists": False}},
                                 {"$set": fields}).matched_count == 1


@translate_errors
def user_by_token(db: Database, kind: Token, token_hash: str, now: datetime
                  ) -> UserRecord | None:
    """The user holding this unexpired `kind` token (nothing is used up)."""
    doc = _users(db).find_one({f"{kind}_token": token_hash,
                               f"{kind}_token_expires_at": {"$gt": now}})
    return UserRecord.from_mongo(doc) if doc else None


@translate_errors
def take_reset_token(db: Database, user_id: str, token_hash: str, now: datetime) -> bool:
    """Use the reset token up: True for exactly one caller while it is the user's current,
    unexpired one (a conditional update: of racing requests, one matches)."""
    return _users(db).update_one(
        {"_id": user_id, "reset_token": token_hash, "reset_token_expires_at": {"$gt": now}},
        {"$unset": {"reset_token": "", "reset_token_expires_at": ""}}).matched_count == 1


@translate_errors
def take_email_token(db: Database, user_id: str, token_hash: str, address: str, key: str,
                     now: datetime) -> bool:
    """Use the e-mail token up and make its address the verified one, in one update: True
    for exactly one caller. Raises EmailTaken (the token stays) when another account
    verified the address first."""
    try:
        return _users(db).update_one(
            {"_id": user_id, "email_token": token_hash, "pending_email": address,
             "email_token_expires_at": {"$gt": now}},
            {"$set": {"email": address, "email_key": key, "email_verified_at": now},
             "$unset": {"pending_email": "", "email_token": "", "email_token_expires_at": ""}}
        ).matched_count == 1
    except DuplicateKeyError as exc:
        raise EmailTaken(address) from exc


@translate_errors
def remove_email(db: Database, user_id: str) -> bool:
    """Forget the user's address, verified or waiting (and its token)."""
    return _users(db).update_one({"_id": user_id}, {"$unset": {
        "email": "", "email_key": "", "email_verified_at": "", "pending_email": "",
        "email_token": "", "email_token_expires_at": ""}}).matched_count == 1


@translate_errors
def remember_browser(db: Database, user_id: str, browser_key: str, keep: int) -> bool:
    """Add `browser_key` to the user's known browsers (the newest `keep` stay): True when it
    was not known yet (decided by the update itself, so two log-ins cannot both be first)."""
    return _users(db).update_one(
        {"_id": user_id, "known_browsers": {"$ne": browser_key}},
        {"$push": {"known_browsers": {"$each": [browser_key], "$slice": -keep}}}
    ).matched_count == 1


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
