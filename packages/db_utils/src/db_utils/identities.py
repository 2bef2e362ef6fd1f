"""Queries on `linked_identities` (outside OpenID Connect identities linked to accounts)
and `oidc_flows` (log-ins with an outside provider under way: single use, TTL-swept)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from db_utils.documents import LinkedIdentity, OidcFlow, validated
from db_utils.errors import translate_errors
from db_utils.records import IdentityRecord

__all__ = [
    "delete_user_identities",
    "get_identity",
    "link_identity",
    "list_identities",
    "peek_flow",
    "put_flow",
    "take_flow",
    "touch_identity",
    "unlink_identity",
]


def _identities(db: Database) -> Collection:
    return db[LinkedIdentity._meta["collection"]]


def _flows(db: Database) -> Collection:
    return db[OidcFlow._meta["collection"]]


@translate_errors
def link_identity(db: Database, record: IdentityRecord) -> bool:
    """False when this issuer and subject are linked already (to anyone): the unique
    index decides, not a prior read."""
    try:
        _identities(db).insert_one(validated(LinkedIdentity, record))
    except DuplicateKeyError:
        return False
    return True


@translate_errors
def get_identity(db: Database, issuer: str, subject: str) -> IdentityRecord | None:
    doc = _identities(db).find_one({"issuer": issuer, "subject": subject})
    return IdentityRecord.from_mongo(doc) if doc else None


@translate_errors
def list_identities(db: Database, user_id: str) -> list[IdentityRecord]:
    cursor = _identities(db).find({"user_id": user_id}).sort("created_at", 1)
    return [IdentityRecord.from_mongo(d) for d in cursor.limit(100)]


@translate_errors
def touch_identity(db: Database, identity_id: str, at: datetime) -> None:
    _identities(db).update_one({"_id": identity_id}, {"$max": {"last_used_at": at}})


@translate_errors
def unlink_identity(db: Database, user_id: str, identity_id: str) -> bool:
    """Only the user's own identity (another user's id does nothing)."""
    return _identities(db).delete_one({"_id": identity_id, "user_id": user_id}
                                      ).deleted_count == 1


@translate_errors
def delete_user_identities(db: Database, user_id: str) -> int:
    return _identities(db).delete_many({"user_id": user_id}).deleted_count


@translate_errors
def put_flow(db: Database, key_hash: str, purpose: str, data: dict[str, Any],
             expires_at: datetime) -> None:
    record = OidcFlow(id=key_hash, purpose=purpose, data=data, expires_at=expires_at)
    record.validate()
    _flows(db).replace_one({"_id": key_hash}, record.to_mongo().to_dict(), upsert=True)


@translate_errors
def take_flow(db: Database, key_hash: str, purpose: str, now: datetime
              ) -> dict[str, Any] | None:
    """Use the flow up (an atomic delete): its data for one caller only, None when it
    is unknown, used, expired or of another purpose."""
    doc = _flows(db).find_one_and_delete(
        {"_id": key_hash, "purpose": purpose, "expires_at": {"$gt": now}},
        projection={"data": 1})
    return dict(doc.get("data") or {}) if doc else None


@translate_errors
def peek_flow(db: Database, key_hash: str, purpose: str, now: datetime
              ) -> dict[str, Any] | None:
    """The flow's data without using it up (to show a page about it)."""
    doc = _flows(db).find_one(
        {"_id": key_hash, "purpose": purpose, "expires_at": {"$gt": now}}, {"data": 1})
    return dict(doc.get("data") or {}) if doc else None



