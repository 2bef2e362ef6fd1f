"""Queries for our OpenID Connect provider: registered clients, authorization codes,
access and refresh tokens, consents and signing keys. Codes and tokens are stored under
the SHA-256 of their value only; "single use" is decided by one atomic update each."""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database

from db_utils.documents import (
    OAuthClient,
    OAuthCode,
    OAuthConsent,
    OAuthToken,
    SigningKey,
    validated,
)
from db_utils.errors import translate_errors
from db_utils.records import (
    OAuthClientRecord,
    OAuthCodeRecord,
    OAuthConsentRecord,
    OAuthTokenRecord,
    SigningKeyRecord,
)

__all__ = [
    "add_client",
    "add_key",
    "consents_for_user",
    "delete_consent",
    "get_client",
    "get_consent",
    "get_token",
    "keys",
    "list_clients",
    "put_code",
    "put_consent",
    "put_token",
    "remove_client",
    "retire_keys",
    "revoke_family",
    "revoke_for_session",
    "revoke_token",
    "set_key_state",
    "use_code",
    "use_refresh_token",
]


def _c(db: Database, document: type) -> Collection:
    return db[document._meta["collection"]]


@translate_errors
def add_client(db: Database, record: OAuthClientRecord) -> None:
    _c(db, OAuthClient).insert_one(validated(OAuthClient, record))


@translate_errors
def get_client(db: Database, client_id: str) -> OAuthClientRecord | None:
    doc = _c(db, OAuthClient).find_one({"_id": client_id})
    return OAuthClientRecord.from_mongo(doc) if doc else None


@translate_errors
def list_clients(db: Database) -> list[OAuthClientRecord]:
    return [OAuthClientRecord.from_mongo(d)
            for d in _c(db, OAuthClient).find().sort("created_at", 1).limit(1000)]


@translate_errors
def remove_client(db: Database, client_id: str) -> bool:
    """The client and everything it holds: its tokens stop working at once."""
    if _c(db, OAuthClient).delete_one({"_id": client_id}).deleted_count != 1:
        return False
    for document in (OAuthToken, OAuthCode, OAuthConsent):
        _c(db, document).delete_many({"client_id": client_id})
    return True


@translate_errors
def put_code(db: Database, record: OAuthCodeRecord) -> None:
    _c(db, OAuthCode).insert_one(validated(OAuthCode, record))


@translate_errors
def use_code(db: Database, code_hash: str, client_id: str, now: datetime
             ) -> tuple[OAuthCodeRecord | None, bool]:
    """Use a code up (one caller wins): (the code, False); (None, True) when this code
    of this client was used before (a replay); (None, False) when unknown or expired."""
    codes = _c(db, OAuthCode)
    doc = codes.find_one_and_update(
        {"_id": code_hash, "client_id": client_id, "used_at": None,
         "expires_at": {"$gt": now}}, {"$set": {"used_at": now}})
    if doc is not None:
        return OAuthCodeRecord.from_mongo(doc), False
    used = codes.find_one({"_id": code_hash, "client_id": client_id,
                           "used_at": {"$ne": None}}, {"_id": 1})
    return None, used is not None


@translate_errors
def put_token(db: Database, record: OAuthTokenRecord) -> None:
    _c(db, OAuthToken).insert_one(validated(OAuthToken, record))


@translate_errors
def get_token(db: Database, token_hash: str) -> OAuthTokenRecord | None:
    doc = _c(db, OAuthToken).find_one({"_id": token_hash})
    return OAuthTokenRecord.from_mongo(doc) if doc else None


@translate_errors
def use_refresh_token(db: Database, token_hash: str, client_id: str, now: datetime
                      ) -> tuple[OAuthTokenRecord | None, OAuthTokenRecord | None]:
    """Rotate: (the token, None) for the one caller that uses it; (None, the token) when
    it was used (or revoked) before, which is reuse; (None, None) when unknown."""
    tokens = _c(db, OAuthToken)
    doc = tokens.find_one_and_update(
        {"_id": token_hash, "kind": "refresh", "client_id": client_id, "used_at": None,
         "revoked_at": None, "expires_at": {"$gt": now}},
        {"$set": {"used_at": now}}, return_document=ReturnDocument.BEFORE)
    if doc is not None:
        return OAuthTokenRecord.from_mongo(doc), None
    seen = tokens.find_one({"_id": token_hash, "kind": "refresh", "client_id": client_id})
    return None, OAuthTokenRecord.from_mongo(seen) if seen else None


@translate_errors
def revoke_family(db: Database, family: str, now: datetime) -> int:
    return _c(db, OAuthToken).update_many({"family": family, "revoked_at": None},
                                          {"$set": {"revoked_at": now}}).modified_count


@translate_errors
def revoke_token(db: Database, token_hash: str, now: datetime) -> bool:
    return _c(db, OAuthToken).update_one({"_id": token_hash, "revoked_at": None},
                                         {"$set": {"revoked_at": now}}).modified_count == 1


@translate_errors
def revoke_for_session(db: Database, session_id: str, now: datetime) -> list[str]:
    """Revoke every token issued for a browser session; the clients that held any."""
    tokens = _c(db, OAuthToken)
    clients = tokens.distinct("client_id", {"session_id": session_id, "revoked_at": None})
    tokens.update_many({"session_id": session_id, "revoked_at": None},
                       {"$set": {"revoked_at": now}})
    return sorted(clients)


@translate_errors
def put_consent(db: Database, record: OAuthConsentRecord) -> None:
    _c(db, OAuthConsent).replace_one({"_id": record.id}, validated(OAuthConsent, record),
                                     upsert=True)


@translate_errors
def get_consent(db: Database, user_id: str, client_id: str) -> OAuthConsentRecord | None:
    doc = _c(db, OAuthConsent).find_one({"_id": f"{user_id}:{client_id}"})
    return OAuthConsentRecord.from_mongo(doc) if doc else None


@translate_errors
def consents_for_user(db: Database, user_id: str) -> list[OAuthConsentRecord]:
    return [OAuthConsentRecord.from_mongo(d) for d in
            _c(db, OAuthConsent).find({"user_id": user_id}).sort("created_at", 1).limit(200)]


@translate_errors
def delete_consent(db: Database, user_id: str, client_id: str, now: datetime) -> bool:
    """Withdraw a consent, and revoke what the client holds for the user."""
    gone = _c(db, OAuthConsent).delete_one({"_id": f"{user_id}:{client_id}"}).deleted_count
    _c(db, OAuthToken).update_many({"user_id": user_id, "client_id": client_id,
                                    "revoked_at": None}, {"$set": {"revoked_at": now}})
    return gone == 1


@translate_errors
def add_key(db: Database, record: SigningKeyRecord) -> None:
    _c(db, SigningKey).insert_one(validated(SigningKey, record))


@translate_errors
def keys(db: Database, now: datetime) -> list[SigningKeyRecord]:
    """The keys still published (not past `expires_at`), newest first."""
    found = _c(db, SigningKey).find({"$or": [{"expires_at": None},
                                             {"expires_at": {"$gt": now}}]})
    return [SigningKeyRecord.from_mongo(d) for d in found.sort("created_at", -1).limit(50)]


@translate_errors
def set_key_state(db: Database, kid: str, state: str, *, from_state: str) -> bool:
    return _c(db, SigningKey).update_one({"_id": kid, "state": from_state},
                                         {"$set": {"state": state}}).modified_count == 1


@translate_errors
def retire_keys(db: Database, state: str, expires_at: datetime) -> int:
    """Every key in `state` retired: still published until `expires_at`, then gone."""
    return _c(db, SigningKey).update_many(
        {"state": state}, {"$set": {"state": "retired", "expires_at": expires_at}}
    ).modified_count
