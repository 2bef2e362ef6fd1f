"""Queries for our OpenID Connect provider: registered clients, authorization codes,
access and refresh tokens, consents and signing keys. Codes and tokens are stored under
the SHA-256 of their value only; "single use" is decided by one atomic update each."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.collection import Collection
from pymongo.database import Database

from db_utils.documents import (
    BackchannelLogout,
    OAuthClient,
    OAuthCode,
    OAuthConsent,
    OAuthToken,
    Session,
    SigningKey,
    validated,
)
from db_utils.errors import translate_errors
from db_utils.outbox import CANDIDATES, RETENTION, Retry, failed_attempt, released
from db_utils.records import (
    BackchannelLogoutRecord,
    OAuthClientRecord,
    OAuthCodeRecord,
    OAuthConsentRecord,
    OAuthTokenRecord,
    SigningKeyRecord,
)

__all__ = [
    "add_client",
    "add_key",
    "arm_logout",
    "claim_logout",
    "consents_for_user",
    "count_logouts",
    "delete_consent",
    "end_logouts",
    "get_client",
    "get_consent",
    "get_token",
    "keys",
    "list_clients",
    "list_logouts",
    "logout_delivered",
    "logout_failed",
    "put_code",
    "put_consent",
    "put_token",
    "release_logout",
    "remove_client",
    "requeue_logouts",
    "retire_keys",
    "revoke_family",
    "revoke_for_session",
    "revoke_token",
    "set_key_state",
    "use_code",
    "use_refresh_token",
    "withdraw_logouts",
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
    for document in (OAuthToken, OAuthCode, OAuthConsent, BackchannelLogout):
        _c(db, document).delete_many({"client_id": client_id})
    return True


@translate_errors
def put_code(db: Database, record: OAuthCodeRecord) -> None:
    _c(db, OAuthCode).insert_one(validated(OAuthCode, record))


@translate_errors
def use_code(db: Database, code_hash: str, client_id: str, now: datetime
             ) -> tuple[OAuthCodeRecord | None, OAuthCodeRecord | None]:
    """Use a code up (one caller wins): (the code, None); (None, the code) when this code
    of this client was used before (a replay); (None, None) when unknown or expired."""
    codes = _c(db, OAuthCode)
    doc = codes.find_one_and_update(
        {"_id": code_hash, "client_id": client_id, "used_at": None,
         "expires_at": {"$gt": now}}, {"$set": {"used_at": now}})
    if doc is not None:
        return OAuthCodeRecord.from_mongo(doc), None
    used = codes.find_one({"_id": code_hash, "client_id": client_id,
                           "used_at": {"$ne": None}})
    return None, OAuthCodeRecord.from_mongo(used) if used else None


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
    """Withdraw a consent (False: there was none), and first revoke what the client holds
    for the user: its tokens (any session) and its codes not yet exchanged. In that order:
    a failure half-way leaves the consent listed, so the user can simply try again."""
    _c(db, OAuthToken).update_many({"user_id": user_id, "client_id": client_id,
                                    "revoked_at": None}, {"$set": {"revoked_at": now}})
    _c(db, OAuthCode).delete_many({"user_id": user_id, "client_id": client_id,
                                   "used_at": None})
    gone = _c(db, OAuthConsent).delete_one({"_id": f"{user_id}:{client_id}"}).deleted_count
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


# -- back-channel log-out: a durable queue with leases, as the mail outbox ----------------
# A record is "armed" while its session lives. `end_logouts` makes it "pending" once the
# session is gone, judged from the `sessions` collection itself (not from an event that
# could be missed), so it is safe to run from anywhere, any number of times.

def _logouts(db: Database) -> Collection:
    return _c(db, BackchannelLogout)


@translate_errors
def arm_logout(db: Database, record: BackchannelLogoutRecord) -> None:
    """Remember that `record.client_id` holds tokens of `record.session_id` (idempotent:
    a second code for the same pair changes nothing)."""
    doc = validated(BackchannelLogout, record)
    _logouts(db).update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)


@translate_errors
def end_logouts(db: Database, now: datetime, *, sessions_now: datetime | None = None,
                user_id: str | None = None, session_id: str | None = None,
                limit: int = 1000) -> int:
    """Make pending (due at `now`) the armed records (of `user_id`, of `session_id`, or
    all) whose session no longer exists or has expired at `sessions_now` (the sessions'
    clock; `now` by default); how many. Conditional on "armed": two callers at once make
    each record pending once."""
    query: dict[str, Any] = {"status": "armed"}
    if user_id is not None:
        query["user_id"] = user_id
    if session_id is not None:
        query["session_id"] = session_id
    armed = list(_logouts(db).find(query, {"session_id": 1}).limit(limit))
    if not armed:
        return 0
    ids = list({d["session_id"] for d in armed})
    live = {d["_id"] for d in _c(db, Session).find(
        {"_id": {"$in": ids}, "expires_at": {"$gt": sessions_now or now}}, {"_id": 1})}
    ended = [d["_id"] for d in armed if d["session_id"] not in live]
    if not ended:
        return 0
    return _logouts(db).update_many(
        {"_id": {"$in": ended}, "status": "armed"},
        {"$set": {"status": "pending", "ended_at": now, "next_attempt_at": now}}
    ).modified_count


@translate_errors
def withdraw_logouts(db: Database, user_id: str, client_id: str, now: datetime,
                     *, limit: int = 1000) -> int:
    """The user withdrew the client's access: every armed pair of theirs with that client
    is made due now, though its session lives on; how many. Each becomes a pending record
    under a new id (so a new `jti`), and the armed one goes: if the user allows the client
    again in the same session, `arm_logout` arms that pair afresh for the session's end.
    Inserted before the deletion: a crash in between at worst tells the client twice."""
    logouts = _logouts(db)
    count = 0
    for doc in list(logouts.find({"status": "armed", "user_id": user_id,
                                  "client_id": client_id}).limit(limit)):
        copy = {**doc, "_id": hashlib.sha256(
                    f"bcl-withdrawn:{doc['_id']}:{now.isoformat()}".encode()).hexdigest(),
                "status": "pending", "ended_at": now, "next_attempt_at": now}
        logouts.update_one({"_id": copy["_id"]}, {"$setOnInsert": copy}, upsert=True)
        count += logouts.delete_one({"_id": doc["_id"], "status": "armed"}).deleted_count
    return count


@translate_errors
def claim_logout(db: Database, now: datetime, lease_until: datetime, lease: str,
                 sender: str, retry: Retry, *, issuer: str | None = None,
                 retention: timedelta = RETENTION) -> BackchannelLogoutRecord | None:
    """The oldest due pending record (armed under `issuer`, or under none) under `lease`
    until `lease_until` (one conditional update on the values read: of two senders only
    one wins), its attempt counted; None when nothing is due. One out of attempts (its
    senders died) is marked failed."""
    logouts = _logouts(db)
    due: dict[str, Any] = {"status": "pending", "next_attempt_at": {"$lte": now}}
    if issuer is not None:  # null also matches a record with no issuer field
        due["issuer"] = {"$in": [issuer, "", None]}
    for doc in logouts.find(due).sort("next_attempt_at", 1).limit(CANDIDATES):
        same = {"_id": doc["_id"], "status": "pending", "lease": doc.get("lease", ""),
                "attempts": doc.get("attempts", 0), "next_attempt_at": {"$lte": now}}
        if doc.get("attempts", 0) >= retry.max_attempts:
            logouts.update_one(same, {"$set": {
                "status": "failed", "lease": "", "expires_at": now + retention,
                "last_error": f"gave up after {retry.max_attempts} attempts"}})
            continue
        changes = {"lease": lease, "leased_by": sender[:200], "next_attempt_at": lease_until}
        if logouts.update_one(same, {"$set": changes, "$inc": {"attempts": 1}}
                              ).matched_count == 1:
            return BackchannelLogoutRecord.from_mongo(
                {**doc, **changes, "attempts": doc.get("attempts", 0) + 1})
    return None


@translate_errors
def logout_delivered(db: Database, id: str, now: datetime, *,
                     retention: timedelta = RETENTION) -> bool:
    """The client answered 200: kept `retention` for operators, then gone (TTL)."""
    return _logouts(db).update_one(
        {"_id": id, "status": "pending"},
        {"$set": {"status": "delivered", "delivered_at": now, "lease": "",
                  "last_error": "", "expires_at": now + retention}}).matched_count == 1


@translate_errors
def logout_failed(db: Database, claimed: BackchannelLogoutRecord, now: datetime,
                  error: str, retry: Retry, *, permanent: bool = False,
                  retention: timedelta = RETENTION) -> str:
    """"retry" (backoff), "failed" (out of attempts or `permanent`), or "stale" (the
    lease had passed to another sender: nothing recorded)."""
    return failed_attempt(_logouts(db), claimed, now, error, retry, permanent=permanent,
                          retention=retention)


@translate_errors
def release_logout(db: Database, claimed: BackchannelLogoutRecord, now: datetime) -> bool:
    """Give a claim back unsent (the sender is stopping): due at once, not counted."""
    return released(_logouts(db), claimed, now)


@translate_errors
def fail_unclaimed_logouts(db: Database, now: datetime, issuer: str, older_than: timedelta,
                           *, retention: timedelta = RETENTION) -> int:
    """Pending records of another issuer than `issuer`, due for longer than `older_than`
    (no process of theirs claimed them: a LANDING_URL since moved), marked failed with the
    reason, so operators see them (`clients logouts --failed`) and they expire; how
    many. Records of our issuer are left to `claim_logout`'s own accounting."""
    return _logouts(db).update_many(
        {"status": "pending", "issuer": {"$nin": [issuer, "", None]},
         "next_attempt_at": {"$lte": now - older_than}},
        {"$set": {"status": "failed", "lease": "", "expires_at": now + retention,
                  "last_error": "no sender of its issuer claimed it in "
                                f"{older_than.total_seconds() / 3600:g} h"}}).modified_count


LOGOUT_STATUSES = ("armed", "pending", "delivered", "failed")


@translate_errors
def list_logouts(db: Database, status: str | None = None, limit: int = 100, *,
                 client_id: str | None = None) -> list[BackchannelLogoutRecord]:
    """Newest first (operators, tests): of one status, of one client, or all."""
    query: dict[str, Any] = {} if status is None else {"status": status}
    if client_id is not None:
        query["client_id"] = client_id
    return [BackchannelLogoutRecord.from_mongo(d) for d in
            _logouts(db).find(query).sort("created_at", -1).limit(limit)]


@translate_errors
def count_logouts(db: Database) -> dict[str, int]:
    """How many records in each status (operators)."""
    return {status: _logouts(db).count_documents({"status": status})
            for status in LOGOUT_STATUSES}


@translate_errors
def requeue_logouts(db: Database, now: datetime, client_id: str | None = None) -> int:
    """Failed records (of one client, or all) due again now, attempts from zero (an
    operator's command once the client's endpoint works); how many."""
    query: dict[str, Any] = {"status": "failed"}
    if client_id is not None:
        query["client_id"] = client_id
    return _logouts(db).update_many(query, {
        "$set": {"status": "pending", "attempts": 0, "next_attempt_at": now, "lease": ""},
        "$unset": {"expires_at": ""}}).modified_count
