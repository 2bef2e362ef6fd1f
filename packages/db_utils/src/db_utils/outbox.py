"""Queries on the `outbox` collection: e-mail waiting to be sent, and the record of what was.

A message moves pending -> delivered, or pending -> failed after `Retry.max_attempts`
(or at once on a permanent refusal); `requeue_failed` moves failed ones back. Senders in
any number of processes share it:

- `claim_next` takes one due message under a lease with one conditional `update_one` on
  the values just read (status, lease token, attempt count), so of two senders that read
  the same message only one claim matches. The lease is `next_attempt_at` moved to its
  end: a sender killed -9 holds nothing once it has passed. No `find_one_and_update`
  (SecantusDB scans the whole collection for it, and delivered messages stay a while).
- `mark_delivered` removes the sealed body and keeps the metadata (Message-ID, to,
  subject, when) until `expires_at` (TTL).
- `record_failure` counts a failed attempt against the claim that made it (a stale claim
  records nothing) and sets the next attempt by exponential backoff, or gives up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.collection import Collection
from pymongo.database import Database

from db_utils.documents import OutboxMessage, validated
from db_utils.errors import translate_errors
from db_utils.records import OutboxRecord

__all__ = [
    "Retry",
    "claim_next",
    "count_by_status",
    "enqueue_message",
    "failed_attempt",
    "get_message",
    "list_messages",
    "mark_delivered",
    "record_failure",
    "release_claim",
    "released",
    "requeue_failed",
]

STATUSES = ("pending", "delivered", "failed")
CANDIDATES = 8  # due messages read per claim; contending senders try them in turn
CLAIM_ROUNDS = 8  # reads per claim when every candidate went to another sender
RETENTION = timedelta(days=30)  # how long a delivered or failed message's record stays


@dataclass(frozen=True)
class Retry:
    """Exponential backoff: `first_delay` after the first failed attempt, doubling, at
    most `max_delay`; after `max_attempts` attempts the message is marked failed. The
    defaults ride out an SMTP outage of about five hours."""

    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    max_attempts: int = 12

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt."""
        return min(self.first_delay * 2 ** max(0, min(attempts - 1, 30)), self.max_delay)


def _outbox(db: Database) -> Collection:
    return db[OutboxMessage._meta["collection"]]


@translate_errors
def enqueue_message(db: Database, record: OutboxRecord) -> None:
    """Store a new pending message (its id and Message-ID fresh: a duplicate raises)."""
    _outbox(db).insert_one(validated(OutboxMessage, record))


def _claimed(doc: dict[str, Any], changes: dict[str, Any]) -> OutboxRecord:
    return OutboxRecord.from_mongo({**doc, **changes})


@translate_errors
def claim_next(db: Database, now: datetime, lease_until: datetime, lease: str, sender: str,
               retry: Retry, *, retention: timedelta = RETENTION) -> OutboxRecord | None:
    """The oldest due pending message, now held under `lease` (a fresh token) until
    `lease_until`, its attempt counted; None when nothing is due. A message whose
    attempts are used up by claims that never reported back (its senders died) is marked
    failed instead of claimed."""
    outbox = _outbox(db)
    due = {"status": "pending", "next_attempt_at": {"$lte": now}}
    for _ in range(CLAIM_ROUNDS):  # every candidate read went to others: read again
        candidates = list(outbox.find(due).sort("next_attempt_at", 1).limit(CANDIDATES))
        if not candidates:
            return None
        for doc in candidates:
            same = {"_id": doc["_id"], "status": "pending", "lease": doc.get("lease", ""),
                    "attempts": doc.get("attempts", 0), "next_attempt_at": {"$lte": now}}
            if doc.get("attempts", 0) >= retry.max_attempts:
                outbox.update_one(same, {"$set": {
                    "status": "failed", "lease": "", "expires_at": now + retention,
                    "last_error": f"gave up after {retry.max_attempts} attempts "
                                  "(the last sender stopped before reporting)"}})
                continue
            changes = {"lease": lease, "leased_by": sender[:200],
                       "next_attempt_at": lease_until}
            if outbox.update_one(same, {"$set": changes, "$inc": {"attempts": 1}}
                                 ).matched_count == 1:
                return _claimed(doc, {**changes, "attempts": doc.get("attempts", 0) + 1})
    return None  # still contended: the caller looks again at its next poll


@translate_errors
def mark_delivered(db: Database, id: str, now: datetime, *,
                   retention: timedelta = RETENTION) -> bool:
    """The SMTP server accepted it: drop the body, keep the record for `retention` (TTL).
    Whoever holds the lease now (the message went out, whatever happened to the lease);
    False when it was marked delivered already."""
    return _outbox(db).update_one(
        {"_id": id, "status": {"$ne": "delivered"}},
        {"$set": {"status": "delivered", "delivered_at": now, "expires_at": now + retention,
                  "lease": "", "last_error": ""},
         "$unset": {"body": ""}}).matched_count == 1


def failed_attempt(queue: Collection, claimed: Any, now: datetime, error: str,
                   retry: Retry, *, permanent: bool = False,
                   retention: timedelta = RETENTION) -> str:
    """A leased queue's failed attempt (the outbox's, the back-channel log-outs'):
    "retry" (next attempt by backoff), "failed" (attempts used up, or `permanent`), or
    "stale" (the claim's lease had passed to another sender: nothing recorded)."""
    given_up = permanent or claimed.attempts >= retry.max_attempts
    fields: dict[str, Any] = {"lease": "", "last_error": error[:300]}
    if given_up:
        fields.update(status="failed", expires_at=now + retention)
    else:
        fields["next_attempt_at"] = now + retry.delay(claimed.attempts)
    matched = queue.update_one(
        {"_id": claimed.id, "status": "pending", "lease": claimed.lease},
        {"$set": fields}).matched_count
    if not matched:
        return "stale"
    return "failed" if given_up else "retry"


def released(queue: Collection, claimed: Any, now: datetime) -> bool:
    """A leased queue's claim given back unsent: due again at once, not counted."""
    return queue.update_one(
        {"_id": claimed.id, "status": "pending", "lease": claimed.lease},
        {"$set": {"lease": "", "next_attempt_at": now}, "$inc": {"attempts": -1}}
    ).matched_count == 1


@translate_errors
def record_failure(db: Database, claimed: OutboxRecord, now: datetime, error: str,
                   retry: Retry, *, permanent: bool = False,
                   retention: timedelta = RETENTION) -> str:
    """Count the failed attempt of `claimed` (as `claim_next` returned it): "retry" (next
    attempt set by backoff), "failed" (attempts used up, or `permanent`: the server
    refused the message for good), or "stale" (the claim's lease had passed to another
    sender: nothing recorded)."""
    return failed_attempt(_outbox(db), claimed, now, error, retry, permanent=permanent,
                          retention=retention)


@translate_errors
def release_claim(db: Database, claimed: OutboxRecord, now: datetime) -> bool:
    """Give a claim back unsent (the sender is stopping, or its lease ran short before
    sending): due again at once, the attempt not counted."""
    return released(_outbox(db), claimed, now)


@translate_errors
def requeue_failed(db: Database, now: datetime, message_id: str | None = None) -> int:
    """Failed messages (or the one with `message_id`) pending again, attempts from zero
    (an operator's command once SMTP is fixed); how many."""
    query: dict[str, Any] = {"status": "failed", "body": {"$exists": True}}
    if message_id is not None:
        query["message_id"] = message_id
    return _outbox(db).update_many(query, {
        "$set": {"status": "pending", "attempts": 0, "next_attempt_at": now, "lease": ""},
        "$unset": {"expires_at": ""}}).modified_count


@translate_errors
def get_message(db: Database, message_id: str) -> OutboxRecord | None:
    doc = _outbox(db).find_one({"message_id": message_id})
    return OutboxRecord.from_mongo(doc) if doc else None


@translate_errors
def list_messages(db: Database, status: str | None = None, limit: int = 100
                  ) -> list[OutboxRecord]:
    """Newest first, without bodies (for operators)."""
    query = {} if status is None else {"status": status}
    cursor = _outbox(db).find(query, {"body": 0}).sort([("created_at", -1), ("_id", -1)])
    return [OutboxRecord.from_mongo(d) for d in cursor.limit(limit)]


@translate_errors
def count_by_status(db: Database) -> dict[str, int]:
    outbox = _outbox(db)
    return {status: outbox.count_documents({"status": status}) for status in STATUSES}
