import threading
from datetime import UTC, datetime, timedelta

import pytest

from db_utils import UsernameTaken, users

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_create_and_find(db):
    created = users.create_user(db, "alice", "hash", now=NOW)
    assert users.get_user_by_username(db, "alice") == created
    assert users.get_user_by_id(db, created.id) == created
    assert users.get_user_by_username(db, "bob") is None
    assert len(created.id) == 20


def test_duplicate_raises_named_exception(db):
    users.create_user(db, "alice", "h1", now=NOW)
    with pytest.raises(UsernameTaken) as info:
        users.create_user(db, "alice", "h2", now=NOW)
    assert info.value.username == "alice"
    assert users.count_users(db) == 1


def test_twenty_racing_signups_leave_exactly_one_user(db):
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def sign_up(n: int) -> None:
        barrier.wait(timeout=10)
        try:
            users.create_user(db, "racer", f"hash-{n}", now=NOW)
            result = "created"
        except UsernameTaken:
            result = "taken"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["created"] + ["taken"] * 19
    assert db.users.count_documents({"username": "racer"}) == 1


def test_set_password_hash_and_delete_user(db):
    """`delete_user` is the last step of an account's deletion (issue 23, point 3: it
    deleted sessions without the revocations' majority write and left the second factor
    and passkeys behind): it removes only a user whose deletion began, whose sessions and
    the rest `auth_utils.flows.lifecycle` removed first (tests: test_lifecycle.py)."""
    user = users.create_user(db, "alice", "old", now=NOW)
    assert users.set_password_hash(db, user.id, "new")
    assert users.get_user_by_id(db, user.id).password_hash == "new"
    assert not users.delete_user(db, user.id)  # not marked: refused
    assert users.mark_deleting(db, user.id, NOW)
    assert users.mark_deleting(db, user.id, NOW + timedelta(hours=1))  # the first time kept
    assert users.get_user_by_id(db, user.id).deleting_at == NOW
    assert [u.id for u in users.list_deleting_users(db)] == [user.id]
    assert users.delete_user(db, user.id)
    assert users.get_user_by_id(db, user.id) is None
    assert not users.delete_user(db, user.id)


def test_a_retired_name_is_taken_until_its_reservation_ends(db):
    users.retire_username(db, "alice", NOW + timedelta(days=180))
    users.retire_username(db, "alice", NOW + timedelta(days=1))  # never shortened
    with pytest.raises(UsernameTaken):
        users.create_user(db, "alice", "h", now=NOW + timedelta(days=179))
    assert db.retired_usernames.find_one()["_id"] != "alice"  # only a hash of the name
    assert "alice" not in str(list(db.retired_usernames.find()))
    assert users.create_user(db, "alice", "h", now=NOW + timedelta(days=180, seconds=1))


def test_disable_and_enable(db):
    user = users.create_user(db, "alice", "h", now=NOW)
    assert users.set_disabled(db, user.id, NOW, "fraud")
    got = users.get_user_by_id(db, user.id)
    assert (got.disabled_at, got.disabled_reason) == (NOW, "fraud")
    assert users.set_disabled(db, user.id, None)
    got = users.get_user_by_id(db, user.id)
    assert (got.disabled_at, got.disabled_reason) == (None, None)
    assert not users.set_disabled(db, "nobody", NOW, "x")
