"""Queries on the `second_factors` collection: one document per user with a second factor.

Every check that must not be won twice (a time step, a recovery code) is one atomic
conditional update, so two parallel requests with the same code cannot both succeed.
"""

from __future__ import annotations

from datetime import datetime

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from db_utils.documents import SecondFactor, validated
from db_utils.errors import translate_errors
from db_utils.records import SecondFactorRecord

__all__ = [
    "delete_second_factor",
    "enable_second_factor",
    "forget_browsers",
    "get_second_factor",
    "save_pending_second_factor",
    "set_recovery_codes",
    "trust_browser",
    "use_recovery_code",
    "use_time_step",
]


def _factors(db: Database) -> Collection:
    return db[SecondFactor._meta["collection"]]


@translate_errors
def get_second_factor(db: Database, user_id: str) -> SecondFactorRecord | None:
    doc = _factors(db).find_one({"_id": user_id})
    return SecondFactorRecord.from_mongo(doc) if doc else None


@translate_errors
def save_pending_second_factor(db: Database, user_id: str, sealed_secret: str,
                               now: datetime) -> bool:
    """Start (or restart) an enrolment; refused (False) while one is enabled."""
    record = SecondFactorRecord(user_id, sealed_secret, now)
    fields = {k: v for k, v in validated(SecondFactor, record).items() if k != "_id"}
    try:
        _factors(db).update_one({"_id": user_id, "enabled": {"$ne": True}},
                                {"$set": fields}, upsert=True)
    except DuplicateKeyError:  # the upsert met the enabled one
        return False
    return True


@translate_errors
def use_time_step(db: Database, user_id: str, step: int) -> bool:
    """Record `step` as used if it is later than every step used before (atomic)."""
    return _factors(db).update_one(
        {"_id": user_id, "last_step": {"$lt": step}}, {"$set": {"last_step": step}}
    ).matched_count == 1


@translate_errors
def enable_second_factor(db: Database, user_id: str, recovery_hashes: list[str]) -> bool:
    return _factors(db).update_one(
        {"_id": user_id, "enabled": False},
        {"$set": {"enabled": True, "recovery": recovery_hashes}}).matched_count == 1


@translate_errors
def use_recovery_code(db: Database, user_id: str, code_hash: str) -> bool:
    """Remove one unused recovery code (atomic: a code works once)."""
    return _factors(db).update_one(
        {"_id": user_id, "enabled": True, "recovery": code_hash},
        {"$pull": {"recovery": code_hash}}).matched_count == 1


@translate_errors
def set_recovery_codes(db: Database, user_id: str, recovery_hashes: list[str]) -> bool:
    return _factors(db).update_one(
        {"_id": user_id, "enabled": True},
        {"$set": {"recovery": recovery_hashes}}).matched_count == 1


@translate_errors
def delete_second_factor(db: Database, user_id: str, *, pending_only: bool = False) -> bool:
    """Delete the record; `pending_only`: only an enrolment not yet confirmed (atomic, so
    a confirmation that wins the race is never undone)."""
    query: dict = {"_id": user_id}
    if pending_only:
        query["enabled"] = {"$ne": True}
    return _factors(db).delete_one(query).deleted_count == 1


@translate_errors
def trust_browser(db: Database, user_id: str, entry: dict, keep: int) -> bool:
    """Add a trusted browser to an enabled second factor, keeping the newest `keep`."""
    return _factors(db).update_one(
        {"_id": user_id, "enabled": True},
        {"$push": {"trusted": {"$each": [entry], "$slice": -keep}}}).matched_count == 1


@translate_errors
def forget_browsers(db: Database, user_id: str, browser_id: str | None = None) -> bool:
    """Forget one trusted browser of this user, or (None) all of them."""
    update = {"$pull": {"trusted": {"id": browser_id}}} if browser_id else \
        {"$set": {"trusted": []}}
    return _factors(db).update_one({"_id": user_id}, update).modified_count == 1
