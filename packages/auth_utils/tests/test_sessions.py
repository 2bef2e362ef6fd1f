import hashlib
import math
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from auth_utils import SessionManager
from auth_utils.rules.tokens import TOKEN_BYTES, generate_session_token, hash_token, is_well_formed
from auth_utils.services.session_policy import SessionPolicy, Verdict, judge, valid_until

DAY = timedelta(days=1)


@pytest.fixture
def manager(make_core):
    return make_core().sessions


def test_database_holds_only_the_token_hash(db, manager):
    token, session = manager.create_session("u1", "alice")
    stored = db.sessions.find_one({})
    assert stored["_id"] == hashlib.sha256(token.encode()).hexdigest() == session.id
    assert token not in str(stored)
    assert db.sessions.count_documents({"_id": token}) == 0


def test_tokens_carry_at_least_160_bits():
    assert TOKEN_BYTES * 8 >= 160
    tokens = {generate_session_token() for _ in range(1000)}
    assert len(tokens) == 1000
    # 43 URL-safe base64 characters carry 6 bits each.
    assert all(len(t) * 6 >= 160 and is_well_formed(t) for t in tokens)
    alphabet = set("".join(tokens))
    assert len(alphabet) == 64  # all of the alphabet is used: the bits are really random
    assert math.log2(64) * 43 >= 256


def test_validate_fresh_session(db, manager):
    token, _ = manager.create_session("u1", "alice", user_agent="UA", ip="127.0.0.1")
    result = manager.validate_session_token(token)
    assert result.valid and result.user.username == "alice" and result.user.id == "u1"
    assert not result.session.fresh


def test_unknown_and_malformed_tokens_are_invalid(db, manager):
    assert not manager.validate_session_token(generate_session_token()).valid
    for junk in (None, "", "x" * 5000, "a b", "é" * 43, "\x00" * 43):
        assert not manager.validate_session_token(junk).valid


def test_renewal_when_less_than_15_days_left(db, manager, clock):
    token, session = manager.create_session("u1", "alice")
    clock.advance(days=15, seconds=-1)  # 15 days + 1 s left: no renewal
    result = manager.validate_session_token(token)
    assert not result.session.fresh and result.session.expires_at == session.expires_at
    clock.advance(seconds=2)  # now less than 15 days left
    result = manager.validate_session_token(token)
    assert result.session.fresh
    assert result.session.expires_at == clock.now + timedelta(days=30)
    stored = db.sessions.find_one({"_id": session.id})
    assert stored["expires_at"] == clock.now + timedelta(days=30)


def test_expired_session_is_invalid_and_deleted(db, manager, clock):
    token, session = manager.create_session("u1", "alice")
    clock.advance(days=30)
    assert not manager.validate_session_token(token).valid
    assert db.sessions.count_documents({"_id": session.id}) == 0


def test_invalidate_one_and_all(db, manager):
    t1, s1 = manager.create_session("u1", "alice")
    t2, _ = manager.create_session("u1", "alice")
    t3, s3 = manager.create_session("u1", "alice")
    other, _ = manager.create_session("u2", "bob")
    assert manager.invalidate_session(s1.id)
    assert not manager.validate_session_token(t1).valid
    assert manager.validate_session_token(t2).valid
    assert manager.invalidate_user_sessions("u1", keep=s3.id) == 1
    assert not manager.validate_session_token(t2).valid
    assert manager.validate_session_token(t3).valid
    assert manager.invalidate_user_sessions("u1") == 1
    assert not manager.validate_session_token(t3).valid
    assert manager.validate_session_token(other).valid


def test_list_newest_first_and_delete_expired(db, manager, clock):
    _, old = manager.create_session("u1", "alice")
    clock.advance(days=1)
    _, new = manager.create_session("u1", "alice")
    manager.create_session("u2", "bob")
    assert [s.id for s in manager.list_user_sessions("u1")] == [new.id, old.id]
    clock.advance(days=29, seconds=1)  # `old` expired, `new` not
    assert [s.id for s in manager.list_user_sessions("u1")] == [new.id]
    assert manager.delete_expired_sessions() == 1  # only `old`
    assert db.sessions.count_documents({}) == 2


def test_validation_is_one_round_trip_and_no_write(db, manager, clock, database_server):
    token, _ = manager.create_session("u1", "alice")

    from pymongo import MongoClient

    from auth_utils.storage.mongo import MongoStorage
    from devtools.testing import CommandCounter

    counter = CommandCounter()
    client = MongoClient(database_server.uri, event_listeners=[counter], tz_aware=True)
    # The same manager's rules on a storage whose client this test monitors.
    manager = SessionManager(MongoStorage(client[db.name]).sessions, clock=clock)
    try:
        clock.advance(minutes=1)
        assert manager.validate_session_token(token).valid
        assert counter.commands == ["find"]
        counter.commands.clear()
        clock.advance(minutes=5)  # last-seen is refreshed at most every 5 minutes
        manager.validate_session_token(token)
        assert counter.commands == ["find", "update"]
    finally:
        client.close()


def test_hash_token_is_sha256_hex():
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


def test_at_most_50_sessions_per_user_the_oldest_end_first(db, manager, clock):
    tokens = []
    for _ in range(52):
        clock.advance(seconds=1)
        tokens.append(manager.create_session("u1", "alice")[0])
    manager.create_session("u2", "bob")
    listed = manager.list_user_sessions("u1")
    assert len(listed) == 50 and db.sessions.count_documents({"user_id": "u1"}) == 50
    assert not manager.validate_session_token(tokens[0]).valid
    assert not manager.validate_session_token(tokens[1]).valid
    assert all(manager.validate_session_token(t).valid for t in tokens[2:])
    assert len(manager.list_user_sessions("u2")) == 1


def test_valid_until_never_outlasts_a_valid_verdict():
    """The cache remembers a hit's verdict until `valid_until`: before it, `judge` must
    say VALID at every instant (renewal, last-seen, expiry and the absolute end all
    come at or after it), and within a microsecond after it, no longer."""
    policy = SessionPolicy()
    created = datetime(2026, 1, 1, tzinfo=UTC)
    us = timedelta(microseconds=1)
    checked = 0
    for age in (timedelta(0), timedelta(days=20), timedelta(days=70), timedelta(days=89)):
        for left in (timedelta(minutes=1), timedelta(days=14, hours=23), timedelta(days=15),
                     timedelta(days=15, microseconds=1), timedelta(days=30)):
            for seen_ago in (timedelta(0), timedelta(minutes=4), timedelta(minutes=5)):
                for pending in (False, True):
                    now = created + age
                    record = SimpleNamespace(
                        created_at=created, expires_at=min(now + left, created + 90 * DAY),
                        last_seen_at=now - seen_ago, pending=pending)
                    if judge(record, now, policy) is not Verdict.VALID:
                        continue
                    until = valid_until(record, policy)
                    assert until >= now  # (equal: valid at this very microsecond only)
                    for t in (now - 30 * DAY, until - us, now + (until - now) / 2):
                        assert t >= until or judge(record, t, policy) is Verdict.VALID, (record, t)
                    assert judge(record, until + us, policy) is not Verdict.VALID, record
                    checked += 1
    assert checked > 20
