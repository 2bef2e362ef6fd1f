"""Queries on `passkeys` (WebAuthn credentials) and `webauthn_challenges` (single use,
five minutes, TTL-swept)."""

from __future__ import annotations

from datetime import datetime

from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from db_utils.documents import Passkey, WebAuthnChallenge, validated
from db_utils.errors import translate_errors
from db_utils.records import PasskeyRecord

__all__ = [
    "add_passkey",
    "delete_passkey",
    "delete_user_passkeys",
    "get_passkey",
    "list_passkeys",
    "put_challenge",
    "rename_passkey",
    "spend_challenge",
    "take_challenge",
    "use_passkey",
]


def _passkeys(db: Database) -> Collection:
    return db[Passkey._meta["collection"]]


def _challenges(db: Database) -> Collection:
    return db[WebAuthnChallenge._meta["collection"]]


@translate_errors
def add_passkey(db: Database, record: PasskeyRecord) -> bool:
    """False when the credential id is already registered (to anyone): the unique index
    decides."""
    try:
        _passkeys(db).insert_one(validated(Passkey, record))
    except DuplicateKeyError:
        return False
    return True


@translate_errors
def get_passkey(db: Database, credential_id: str) -> PasskeyRecord | None:
    doc = _passkeys(db).find_one({"_id": credential_id})
    return PasskeyRecord.from_mongo(doc) if doc else None


@translate_errors
def list_passkeys(db: Database, user_id: str) -> list[PasskeyRecord]:
    cursor = _passkeys(db).find({"user_id": user_id}).sort("created_at", 1)
    return [PasskeyRecord.from_mongo(d) for d in cursor.limit(100)]


@translate_errors
def use_passkey(db: Database, credential_id: str, old_count: int, new_count: int,
                at: datetime) -> bool:
    """Record a use; the sign count moves only from the value the check was made on."""
    return _passkeys(db).update_one(
        {"_id": credential_id, "sign_count": old_count},
        {"$set": {"sign_count": new_count, "last_used_at": at}}).matched_count == 1


@translate_errors
def rename_passkey(db: Database, user_id: str, credential_id: str, name: str) -> bool:
    return _passkeys(db).update_one({"_id": credential_id, "user_id": user_id},
                                    {"$set": {"name": name}}).matched_count == 1


@translate_errors
def delete_passkey(db: Database, user_id: str, credential_id: str) -> bool:
    return _passkeys(db).delete_one({"_id": credential_id, "user_id": user_id}
                                    ).deleted_count == 1


@translate_errors
def delete_user_passkeys(db: Database, user_id: str) -> int:
    """Every passkey of a user, and the registration challenges handed out to them (a
    log-in challenge names nobody); how many passkeys."""
    deleted = _passkeys(db).delete_many({"user_id": user_id}).deleted_count
    _challenges(db).delete_many({"user_id": user_id})
    return deleted


@translate_errors
def put_challenge(db: Database, challenge: str, purpose: str, user_id: str,
                  expires_at: datetime) -> None:
    _challenges(db).insert_one({"_id": challenge, "purpose": purpose, "user_id": user_id,
                                "expires_at": expires_at})


@translate_errors
def spend_challenge(db: Database, challenge: str, expires_at: datetime) -> bool:
    """Mark a signed (stateless) challenge used, until it would expire anyway: True the
    first time, False ever after (the unique `_id` decides between racing requests)."""
    try:
        _challenges(db).insert_one({"_id": challenge, "purpose": "spent", "user_id": "",
                                    "expires_at": expires_at})
    except DuplicateKeyError:
        return False
    return True


@translate_errors
def take_challenge(db: Database, challenge: str, purpose: str, now: datetime) -> str | None:
    """Use a challenge up (single use): its user id ("" for a log-in), or None when it is
    unknown, already used, for another purpose or expired."""
    doc = _challenges(db).find_one({"_id": challenge, "purpose": purpose})
    if doc is None or _challenges(db).delete_one({"_id": challenge}).deleted_count != 1:
        return None  # of two requests with one challenge, only one deletes it
    if doc["expires_at"] <= now:
        return None
    return doc["user_id"]
