"""The outbox queries: a claim is won once, a lease that passes frees the message, a
delivered message keeps no body, failures back off and end in `failed`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from pymongo import MongoClient

from db_utils import OutboxMessage, OutboxRecord
from db_utils.outbox import (
    Retry,
    claim_next,
    count_by_status,
    enqueue_message,
    get_message,
    list_messages,
    mark_delivered,
    record_failure,
    release_claim,
    requeue_failed,
)
from devtools.testing import CommandCounter, parallel

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
RETRY = Retry(first_delay=timedelta(seconds=10), max_delay=timedelta(seconds=60),
              max_attempts=4)


def put(db, n: int = 1, at: datetime = NOW) -> list[str]:
    ids = []
    for i in range(n):
        record = OutboxRecord(id=secrets.token_hex(16), message_id=f"<{i}.{secrets.token_hex(8)}"
                              "@localhost>", to=f"user{i}@example.com", subject=f"Hello {i}",
                              body="sealed-blob", created_at=at + timedelta(milliseconds=i),
                              next_attempt_at=at + timedelta(milliseconds=i))
        enqueue_message(db, record)
        ids.append(record.message_id)
    return ids


def claim(db, now=NOW, lease="L1", sender="test"):
    return claim_next(db, now, now + LEASE, lease, sender, RETRY)


def test_indexes_unique_message_id_ttl_and_due(db):
    info = OutboxMessage._get_collection().index_information().values()
    assert any(s["key"] == [("message_id", 1)] and s.get("unique") for s in info)
    assert any(s["key"] == [("expires_at", 1)] and s.get("expireAfterSeconds") == 0
               for s in info)
    assert any(s["key"] == [("status", 1), ("next_attempt_at", 1)] for s in info)


def test_claim_takes_the_oldest_due_message_under_a_lease(db):
    first, second = put(db, 2)  # due at NOW and 1 ms later
    assert claim(db, now=NOW - timedelta(seconds=1)) is None  # nothing due before its time
    got = claim(db)
    assert got.message_id == first and got.lease == "L1" and got.attempts == 1
    assert got.next_attempt_at == NOW + LEASE and got.body == "sealed-blob"
    assert claim(db, lease="L2") is None  # the second is not due yet, the first is held
    later = NOW + timedelta(seconds=1)
    assert claim(db, now=later, lease="L2").message_id == second
    assert claim(db, now=later, lease="L3") is None  # both held


def test_forty_parallel_claims_of_ten_messages_win_each_once(db):
    put(db, 10)
    later = NOW + timedelta(seconds=1)
    results = parallel(40, lambda i: getattr(claim(db, later, lease=f"L{i}", sender=f"s{i}"),
                                             "message_id", None))
    won = [mid for mid in results if mid is not None]
    assert len(won) == 10 and all(results[mid] == 1 for mid in won)
    assert results[None] == 30


def test_claim_is_a_read_and_one_conditional_update_not_find_and_modify(db, database_server):
    put(db, 3)
    counter = CommandCounter()
    client = MongoClient(database_server.uri, event_listeners=[counter], tz_aware=True)
    try:
        assert claim(client[db.name]) is not None
        assert counter.commands == ["find", "update"]
    finally:
        client.close()


def test_an_expired_lease_lets_another_sender_take_over_and_the_old_claim_is_stale(db):
    (mid,) = put(db)
    dead = claim(db, lease="dead")  # a sender that is then killed -9
    assert claim(db, now=NOW + LEASE - timedelta(seconds=1), lease="B") is None
    taken = claim(db, now=NOW + LEASE, lease="B")
    assert taken.message_id == mid and taken.attempts == 2
    assert record_failure(db, dead, NOW + LEASE, "late", RETRY) == "stale"
    assert get_message(db, mid).lease == "B"


def test_delivered_keeps_metadata_but_no_body_and_expires(db):
    (mid,) = put(db)
    got = claim(db)
    assert mark_delivered(db, got.id, NOW, retention=timedelta(days=7))
    stored = db["outbox"].find_one({"message_id": mid})
    assert "body" not in stored
    assert stored["status"] == "delivered" and stored["to"] == "user0@example.com"
    assert stored["expires_at"] == NOW + timedelta(days=7) and stored["delivered_at"] == NOW
    assert not mark_delivered(db, got.id, NOW)  # once
    assert claim(db, now=NOW + timedelta(days=1)) is None


def test_failures_back_off_exponentially_then_fail(db):
    (mid,) = put(db)
    now = NOW
    delays = []
    for attempt in range(1, RETRY.max_attempts + 1):
        got = claim(db, now=now, lease=f"L{attempt}")
        assert got is not None and got.attempts == attempt
        outcome = record_failure(db, got, now, "421 try later", RETRY)
        if attempt < RETRY.max_attempts:
            assert outcome == "retry"
            next_at = get_message(db, mid).next_attempt_at
            delays.append((next_at - now).total_seconds())
            assert claim(db, now=next_at - timedelta(milliseconds=1)) is None
            now = next_at
        else:
            assert outcome == "failed"
    assert delays == [10, 20, 40]  # doubling (the cap, 60 s, not reached)
    failed = get_message(db, mid)
    assert failed.status == "failed" and failed.last_error == "421 try later"
    assert failed.expires_at is not None and failed.body == "sealed-blob"  # for a requeue
    assert RETRY.delay(10) == timedelta(seconds=60)
    assert count_by_status(db) == {"pending": 0, "delivered": 0, "failed": 1}
    assert requeue_failed(db, now) == 1
    again = claim(db, now=now)
    assert again.message_id == mid and again.attempts == 1
    assert get_message(db, mid).expires_at is None  # the TTL no longer applies


def test_a_permanent_refusal_fails_at_once(db):
    (mid,) = put(db)
    assert record_failure(db, claim(db), NOW, "550 no such user", RETRY,
                          permanent=True) == "failed"
    assert get_message(db, mid).status == "failed"
    assert [m.message_id for m in list_messages(db, "failed")] == [mid]


def test_claims_that_never_report_back_use_up_the_attempts(db):
    (mid,) = put(db)
    now = NOW
    for i in range(RETRY.max_attempts):  # each sender dies holding it
        assert claim(db, now=now, lease=f"L{i}") is not None
        now += LEASE
    assert claim(db, now=now, lease="last") is None
    message = get_message(db, mid)
    assert message.status == "failed" and "gave up after 4 attempts" in message.last_error


def test_a_released_claim_is_due_again_and_not_counted(db):
    put(db)
    got = claim(db)
    assert release_claim(db, got, NOW)
    again = claim(db, lease="L2")
    assert again.attempts == 1 and again.lease == "L2"
    assert not release_claim(db, got, NOW)  # the old claim is stale


def test_list_shows_newest_first_without_bodies(db):
    ids = put(db, 3)
    listed = list_messages(db)
    assert [m.message_id for m in listed] == ids[::-1]
    assert all(m.body is None for m in listed)
