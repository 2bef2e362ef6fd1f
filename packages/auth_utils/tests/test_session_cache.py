"""The change-stream session cache: fast when healthy, never serving a revoked session."""

from __future__ import annotations

import time

import pytest
from pymongo import MongoClient

from auth_utils import CachedSessionStore, SessionManager, utc_now
from auth_utils.storage.mongo import MongoStorage
from devtools.testing import wait_for


def cached_manager(clock=utc_now, **options):
    storage = MongoStorage()
    cache = CachedSessionStore(storage.sessions, storage.invalidations, **options)
    return SessionManager(cache, clock=clock), cache


@pytest.fixture
def cached(db):
    manager, cache = cached_manager(ttl=5.0)
    assert wait_for(lambda: cache.active)
    yield manager
    cache.close()


@pytest.fixture
def other_process(database_server):
    """A separate client, as another process of either app would have."""
    client = MongoClient(database_server.uri, tz_aware=True)
    yield client.get_default_database()
    client.close()


def test_second_validation_needs_no_round_trip(cached, db, monkeypatch):
    store = cached.store.inner
    token, _ = cached.create_session("u1", "alice")
    assert cached.validate_session_token(token).valid
    calls = []
    real = store.get
    monkeypatch.setattr(store, "get", lambda sid: calls.append(sid) or real(sid))
    for _ in range(5):
        assert cached.validate_session_token(token).valid
    assert calls == []


def test_delete_elsewhere_is_seen_through_the_stream(cached, other_process):
    latencies = []
    for n in range(10):
        token, session = cached.create_session("u1", f"user{n}")
        for _ in range(3):  # cached here, then a hit whose verdict is remembered
            assert cached.validate_session_token(token).valid
        start = time.monotonic()
        other_process.sessions.delete_one({"_id": session.id})
        assert wait_for(lambda t=token: not cached.validate_session_token(t).valid, 2.0)
        latencies.append(time.monotonic() - start)
    print(f"eviction via change stream: max {max(latencies) * 1000:.1f} ms")


def test_revoking_process_evicts_at_once(cached):
    token, session = cached.create_session("u1", "alice")
    for _ in range(3):  # read, hit, remembered hit
        assert cached.validate_session_token(token).valid
    cached.invalidate_session(session.id)
    assert cached.validate_cached(token) is None
    assert not cached.validate_session_token(token).valid
    t2, _ = cached.create_session("u1", "alice")
    for _ in range(3):
        assert cached.validate_session_token(t2).valid
    cached.invalidate_user_sessions("u1")
    assert cached.validate_cached(t2) is None
    assert not cached.validate_session_token(t2).valid


def test_entries_live_at_most_ttl(db):
    now = [0.0]
    manager, cache = cached_manager(ttl=5.0, monotonic=lambda: now[0])
    assert wait_for(lambda: cache.active)
    try:
        token, session = manager.create_session("u1", "alice")
        assert manager.validate_session_token(token).valid
        assert cache.peek(session.id) is not None
        now[0] = 5.1
        assert cache.peek(session.id) is None
    finally:
        cache.close()


def test_killed_and_restarted_stream_never_lets_a_revoked_session_through(
        cached, other_process, database_server):
    tokens = [cached.create_session("u1", f"user{n}") for n in range(5)]
    for token, _ in tokens:
        assert cached.validate_session_token(token).valid
    cache = cached.store
    restarts = cache.stream_restarts
    database_server.stop()
    assert wait_for(lambda: not cache.active, 10)
    assert len(cache) == 0
    database_server.start()
    # Revoke "elsewhere" the moment the server is back, before this process's stream
    # may have reopened: the events are never seen here, so the cache must not be used.
    for _, session in tokens:
        other_process.sessions.delete_one({"_id": session.id})
    for token, _ in tokens:
        assert not cached.validate_session_token(token).valid
    assert wait_for(lambda: cache.active, 15)
    assert cache.stream_restarts > restarts
    for token, _ in tokens:
        assert not cached.validate_session_token(token).valid


def test_setting_turns_cache_off(make_core):
    assert not isinstance(make_core(session_cache=False, cache=None).sessions.store,
                          CachedSessionStore)
    store = make_core(cache=None).sessions.store
    assert isinstance(store, CachedSessionStore) and store.ttl == 5.0


def test_turns_itself_off_without_change_streams(tmp_path):
    """A standalone server (like a `mongod` without --replSet) has no change streams."""
    import db_utils
    from devtools.dbserver import LocalDatabase

    standalone = LocalDatabase(tmp_path / "data", sync_on_commit=False, standalone=True)
    standalone.start()
    try:
        db_utils.connect(standalone.uri)
        manager, cache = cached_manager()
        token, _ = manager.create_session("u1", "alice")
        assert manager.validate_session_token(token).valid
        assert wait_for(lambda: cache.disabled_reason is not None)
        assert not cache.active
        assert manager.validate_session_token(token).valid  # direct lookups still work
        manager.invalidate_session(manager.validate_session_token(token).session.id)
        assert not manager.validate_session_token(token).valid
    finally:
        db_utils.disconnect()
        standalone.stop()


def test_renewal_and_last_seen_writes_still_happen_with_the_cache(db, clock):
    from datetime import timedelta

    # only the stream and the writes keep it honest here
    manager, cache = cached_manager(ttl=3600, clock=clock)
    assert wait_for(lambda: cache.active)
    try:
        token, session = manager.create_session("u1", "alice")
        for _ in range(3):  # cached from here on, its verdict remembered after the hit
            assert manager.validate_session_token(token).valid
        clock.advance(minutes=4, seconds=59)
        assert manager.validate_cached(token).valid  # nothing due yet: a hit
        clock.advance(seconds=61)
        assert manager.validate_cached(token) is None  # a write is due: not a hit
        assert manager.validate_session_token(token).valid
        assert db.sessions.find_one({"_id": session.id})["last_seen_at"] == clock.now
        clock.advance(days=16)
        result = manager.validate_session_token(token)
        assert result.session.fresh
        stored = db.sessions.find_one({"_id": session.id})
        assert stored["expires_at"] == clock.now + timedelta(days=30)
        assert manager.validate_session_token(token).session.expires_at == stored["expires_at"]
    finally:
        cache.close()


def test_a_stalled_feed_stops_serving_within_max_lag(cached, other_process, database_server):
    """The change stream slowed by the server (a blocked getMore): a session deleted
    elsewhere is refused here once `max_lag` has passed, not after the 5 s TTL."""
    token, session = cached.create_session("u1", "alice")
    assert cached.validate_session_token(token).valid
    cache = cached.store
    assert wait_for(lambda: cache.peek(session.id) is not None, 2)
    admin = MongoClient(database_server.uri).admin
    admin.command({"configureFailPoint": "failCommand", "mode": {"times": 1},
                   "data": {"failCommands": ["getMore"], "blockConnection": True,
                            "blockTimeMS": 3000}})
    try:
        time.sleep(cache.max_lag)  # the watcher's next wait is now the blocked one
        other_process.sessions.delete_one({"_id": session.id})
        time.sleep(cache.max_lag)  # what the revoking process waits before it answers
        assert cache.peek(session.id) is None
        assert not cached.validate_session_token(token).valid
    finally:
        admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        admin.client.close()


def test_revoking_waits_max_lag_and_is_seen_by_every_process(cached, database_server):
    """Two caches (as two processes would have): after `invalidate_session` returns, the
    other one refuses the session on its very next lookup, every time."""
    other_manager, other = cached_manager(ttl=5.0)
    assert wait_for(lambda: other.active)
    try:
        waits = []
        for n in range(10):
            token, session = cached.create_session("u1", f"user{n}")
            assert other_manager.validate_session_token(token).valid
            assert other.peek(session.id) is not None  # cached over there
            start = time.monotonic()
            cached.invalidate_session(session.id)
            waits.append(time.monotonic() - start)
            assert not other_manager.validate_session_token(token).valid
        assert min(waits) >= cached.store.max_lag
        print(f"revocation answered after {max(waits) * 1000:.0f} ms at most")
    finally:
        other.close()


def test_a_log_in_at_the_session_cap_does_not_wait_for_a_revocation(db):
    """Trimming the oldest session at the cap is not a revocation: a log-in at the cap is
    answered without the `max_lag` wait (here 5 s) that a log-out takes."""
    manager, cache = cached_manager(ttl=5.0, max_lag=5.0)
    assert wait_for(lambda: cache.active)
    try:
        for _ in range(manager.policy.max_per_user):
            manager.create_session("capped", "capped")
        start = time.monotonic()
        manager.create_session("capped", "capped")
        took = time.monotonic() - start
        assert len(cache.list_for_user("capped", utc_now())) == manager.policy.max_per_user
        assert took < 2.5, f"a log-in at the cap waited {took:.1f} s"
    finally:
        cache.close()


def test_a_failing_feed_never_fails_a_request(cached, database_server):
    """The watcher's getMores fail with "not primary" (code 91, which makes pymongo mark
    the server unknown): on the watcher's own client only, so validations go on."""
    from auth_utils.storage.mongo.operations import FEED_APP_NAME

    token, _ = cached.create_session("u1", "alice")
    cache = cached.store
    admin = MongoClient(database_server.uri).admin
    admin.command({"configureFailPoint": "failCommand", "mode": {"times": 20},
                   "data": {"failCommands": ["getMore", "aggregate"], "errorCode": 91,
                            "appName": FEED_APP_NAME}})
    try:
        started = time.monotonic()
        while time.monotonic() - started < 2.0:  # requests keep working throughout
            assert cached.validate_session_token(token).valid
            time.sleep(0.02)
        assert cache.stream_restarts >= 1  # the feed did fail
    finally:
        admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        admin.client.close()
    assert wait_for(lambda: cache.active, 15)  # and comes back by itself


def test_an_older_copy_never_writes_wrongly_or_extends_past_the_stored_expiry(db, clock):
    """Refreshes and renewals do not reach other processes: one holding an older copy
    may read once more, but takes every write decision on that fresh read."""
    from datetime import timedelta

    a, cache_a = cached_manager(ttl=3600, clock=clock)
    b, cache_b = cached_manager(ttl=3600, clock=clock)
    assert wait_for(lambda: cache_a.active and cache_b.active)
    try:
        token, session = a.create_session("u1", "alice")
        assert a.validate_session_token(token).valid and b.validate_session_token(token).valid
        clock.advance(days=16)  # renewal due
        renewed = a.validate_session_token(token)
        assert renewed.session.fresh
        stored = db.sessions.find_one({"_id": session.id})
        # B still holds the copy from before the renewal: it must not serve it (renewal
        # looks due), and on its fresh read nothing is due any more.
        result = b.validate_session_token(token)
        assert result.valid and not result.session.fresh
        assert result.session.expires_at == stored["expires_at"]
        assert db.sessions.find_one({"_id": session.id}) == stored  # no extra write
        assert stored["expires_at"] == clock.now + timedelta(days=30)
    finally:
        cache_a.close()
        cache_b.close()
