"""The storage interface's contract, run against every implementation the core can be
given (MongoDB, MongoDB behind the session cache, and MongoDB behind the availability
guard that `build_core` puts around every storage), on the real server."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from auth_utils import CachedSessionStore, utc_now
from auth_utils.services.availability import GuardedStorage
from auth_utils.storage import Evict
from auth_utils.storage.mongo import MongoStorage

NOW = utc_now()


@pytest.fixture(params=["mongo", "mongo+cache", "mongo+guard"])
def storage(request, db):
    storage = MongoStorage()
    if request.param == "mongo+guard":
        guarded = GuardedStorage(storage)
        yield guarded
        guarded.close()
        return
    if request.param == "mongo+cache":
        storage.sessions = CachedSessionStore(storage.sessions, storage.invalidations)
        deadline = time.monotonic() + 10
        while not storage.sessions.active and time.monotonic() < deadline:
            time.sleep(0.01)
    yield storage
    if isinstance(storage.sessions, CachedSessionStore):
        storage.sessions.close()


def new_session(storage, n: int, user_id: str = "u1", created=NOW, **fields):
    return storage.sessions.insert(**{
        "id": f"{n:064x}", "user_id": user_id, "username": "alice",
        "expires_at": created + timedelta(days=30), "created_at": created,
        "user_agent": "UA", "ip": "192.0.2.1", **fields})


def test_sessions_round_trip(storage):
    record = new_session(storage, 1)
    got = storage.sessions.get(record.id)
    assert got == record and got.last_seen_at == NOW and got.username == "alice"
    assert storage.sessions.get("f" * 64) is None
    assert storage.sessions.delete(record.id) is True
    assert storage.sessions.delete(record.id) is False
    assert storage.sessions.get(record.id) is None and storage.sessions.peek(record.id) is None


def test_refresh_only_moves_times_forward(storage):
    record = new_session(storage, 1)
    later = NOW + timedelta(minutes=10)
    storage.sessions.refresh(record.id, last_seen_at=later, expires_at=later + timedelta(days=30))
    storage.sessions.refresh(record.id, last_seen_at=NOW, expires_at=NOW)  # a late, older write
    got = storage.sessions.get(record.id)
    assert got.last_seen_at == later and got.expires_at == later + timedelta(days=30)


def test_per_user_operations(storage):
    ids = [new_session(storage, n, created=NOW + timedelta(seconds=n)).id for n in range(5)]
    other = new_session(storage, 99, user_id="u2")
    listed = storage.sessions.list_for_user("u1", NOW)
    assert [s.id for s in listed] == ids[::-1]  # newest first
    assert storage.sessions.trim_for_user("u1", 3) == 2
    assert [s.id for s in storage.sessions.list_for_user("u1", NOW)] == ids[:1:-1]
    assert storage.sessions.delete_for_user("u1", keep=ids[4]) == 2
    assert [s.id for s in storage.sessions.list_for_user("u1", NOW)] == [ids[4]]
    assert storage.sessions.get(other.id) is not None


def test_trimming_one_kind_never_ends_the_other(storage):
    """Pending (password-only) sessions and complete ones are capped apart."""
    complete = [new_session(storage, n, created=NOW + timedelta(seconds=n)).id
                for n in range(3)]
    pending = [new_session(storage, 10 + n, created=NOW + timedelta(seconds=10 + n),
                           pending=True).id for n in range(4)]
    assert storage.sessions.trim_for_user("u1", 1, pending=True) == 3
    assert storage.sessions.trim_for_user("u1", 3) == 0
    assert {s.id for s in storage.sessions.list_for_user("u1", NOW)} == {*complete,
                                                                         pending[-1]}
    assert storage.sessions.trim_for_user("u1", 1) == 2
    assert {s.id for s in storage.sessions.list_for_user("u1", NOW)} == {complete[-1],
                                                                         pending[-1]}


def test_expiry_counting_and_purge(storage):
    new_session(storage, 1, created=NOW - timedelta(days=40))  # expired 10 days ago
    new_session(storage, 2)
    assert storage.sessions.count() == 2 and storage.sessions.count(NOW) == 1
    assert storage.sessions.list_for_user("u1", NOW)[0].id == f"{2:064x}"
    assert storage.sessions.delete_expired(NOW) == 1 and storage.sessions.count() == 1


def test_writes_obey_the_document_rules(storage):
    from mongoengine import ValidationError

    with pytest.raises(ValidationError):
        new_session(storage, 1, user_agent="x" * 513)
    with pytest.raises(ValidationError):
        new_session(storage, 2, id="short")
    assert storage.sessions.count() == 0


def test_users(storage):
    alice = storage.users.create("alice", "hash-a", NOW)
    assert storage.users.create("alice", "hash-b", NOW) is None  # taken: decided by the index
    bob = storage.users.create("bob", "hash-b", NOW)
    assert storage.users.by_username("alice") == alice == storage.users.by_id(alice.id)
    assert storage.users.by_username("carol") is None and storage.users.by_id("x") is None
    assert storage.users.set_password_hash(bob.id, "new") is True
    assert storage.users.set_password_hash("nobody", "new") is False
    assert [u.username for u in storage.users.list(10)] == ["alice", "bob"]
    assert storage.users.by_id(bob.id).password_hash == "new" and storage.users.count() == 2


def test_counters_are_atomic(storage):
    seen, lock = [], threading.Lock()
    barrier = threading.Barrier(30)

    def hit() -> None:
        barrier.wait(timeout=10)
        count, ends_at = storage.counters.hit("k", 900, NOW)
        with lock:
            seen.append(count)
        assert ends_at > NOW

    threads = [threading.Thread(target=hit) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(seen) == list(range(1, 31))  # every hit saw its own count
    assert storage.counters.hit("k", 900, NOW, -1)[0] == 29
    assert storage.counters.hit("k", 900, NOW + timedelta(seconds=900))[0] == 1  # next window
    storage.counters.clear("k", 900, NOW)
    assert storage.counters.hit("k", 900, NOW)[0] == 1


def test_invalidation_feed_reports_deletions(storage, database_server):
    from pymongo import MongoClient

    record = new_session(storage, 1)
    with storage.invalidations.watch(max_await=0.2) as events:
        assert next(events) is None  # alive and caught up
        other = MongoClient(database_server.uri)  # as another process would
        other.get_default_database().sessions.delete_one({"_id": record.id})
        other.close()
        got = next(e for e in events if e is not None)
    assert got == Evict(record.id)


def test_prepare_builds_the_indexes_on_its_own_database(database_server, db):
    from pymongo import MongoClient

    client = MongoClient(database_server.uri)
    other = client["prepare_contract"]
    try:
        MongoStorage(other).prepare()
        users = other.users.index_information()
        assert any(s["key"] == [("username", 1)] and s.get("unique") for s in users.values())
        assert "expires_at_1" in other.sessions.index_information()
    finally:
        client.drop_database("prepare_contract")
        client.close()


def test_outbox_claim_once_deliver_and_back_off(storage):
    from db_utils.outbox import Retry

    retry = Retry(first_delay=timedelta(seconds=10), max_attempts=3)
    storage.outbox.add(id="m1", message_id="<1@x>", to="a@example.com", subject="S",
                       body="sealed", kind="k", user_id="u1", created_at=NOW)
    storage.outbox.add(id="m2", message_id="<2@x>", to="b@example.com", subject="S",
                       body="sealed", kind="k", user_id=None, created_at=NOW)
    lease = NOW + timedelta(minutes=2)
    first = storage.outbox.claim(NOW, lease, "L1", "me", retry)
    second = storage.outbox.claim(NOW, lease, "L2", "me", retry)
    assert (first.message_id, second.message_id) == ("<1@x>", "<2@x>")
    assert storage.outbox.claim(NOW, lease, "L3", "me", retry) is None  # both held
    assert storage.outbox.delivered(first, NOW) and not storage.outbox.delivered(first, NOW)
    assert storage.outbox.get("<1@x>").body is None
    assert storage.outbox.failed(second, NOW, "421", retry) == "retry"
    assert storage.outbox.get("<2@x>").next_attempt_at == NOW + timedelta(seconds=10)
    assert storage.outbox.counts() == {"pending": 1, "delivered": 1, "failed": 0}
    assert [m.message_id for m in storage.outbox.list(None, 10)] == ["<2@x>", "<1@x>"]


def test_the_oauth_adapter_forwards_every_method_of_the_interface_as_declared():
    """MongoOAuthStore forwards by name to db_utils.oauth (`__getattr__`): every method of
    the OAuthStore interface must exist there and take what the interface says (the
    record-building ones take the record's fields), or a call fails only at run time."""
    import inspect

    from auth_utils.storage import OAuthStore
    from auth_utils.storage.mongo import MongoOAuthStore
    from db_utils import oauth as queries

    declared = {name: inspect.signature(member) for name, member in vars(OAuthStore).items()
                if inspect.isfunction(member) and not name.startswith("_")}
    assert len(declared) > 25
    for name, signature in declared.items():
        assert callable(getattr(queries, name, None)), f"db_utils.oauth has no {name}"
        params = [p for p in signature.parameters.values() if p.name != "self"]
        target = list(inspect.signature(getattr(queries, name)).parameters.values())[1:]
        if name in MongoOAuthStore._records:  # built into a record from keyword fields
            assert [p.kind for p in params] == [inspect.Parameter.VAR_KEYWORD], name
            continue
        given = {p.name for p in params}
        required = {p.name for p in target if p.default is inspect.Parameter.empty}
        assert required <= given <= {p.name for p in target}, (name, given, required)
