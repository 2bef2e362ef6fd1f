import threading
from datetime import UTC, datetime

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
    user = users.create_user(db, "alice", "old", now=NOW)
    assert users.set_password_hash(db, user.id, "new")
    assert users.get_user_by_id(db, user.id).password_hash == "new"
    db.sessions.insert_one({"_id": "s", "user_id": user.id, "username": "alice",
                            "expires_at": NOW, "created_at": NOW, "last_seen_at": NOW})
    assert users.delete_user(db, user.id)
    assert db.sessions.count_documents({}) == 0
    assert users.get_user_by_id(db, user.id) is None
