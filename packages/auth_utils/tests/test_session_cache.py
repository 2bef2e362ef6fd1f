"""The change-stream session cache: fast when healthy, never serving a revoked session."""

from __future__ import annotations

import time

import pytest
from pymongo import MongoClient

from auth_utils import CachedSessionStore, SessionManager, utc_now
from auth_utils.mongo import MongoStorage


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


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
        assert cached.validate_session_token(token).valid  # now cached here
        start = time.monotonic()
        other_process.sessions.delete_one({"_id": session.id})
        assert wait_for(lambda t=token: not cached.validate_session_token(t).valid, 2.0)
        latencies.append(time.monotonic() - start)
    print(f"eviction via change stream: max {max(latencies) * 1000:.1f} ms")


def test_revoking_process_evicts_at_once(cached):
    token, session = cached.create_session("u1", "alice")
    assert cached.validate_session_token(token).valid
    cached.invalidate_session(session.id)
    assert not cached.validate_session_token(token).valid
    t2, _ = cached.create_session("u1", "alice")
    assert cached.validate_session_token(t2).valid
    cached.invalidate_user_sessions("u1")
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
        assert manager.validate_session_token(token).valid  # cached from here on
        clock.advance(minutes=6)
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
