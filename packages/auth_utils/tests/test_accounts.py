import pytest

from auth_utils import INCORRECT, Result, hash_password
from db_utils.documents import User


@pytest.fixture
def accounts(make_core):
    return make_core().accounts


def test_sign_up_then_log_in(db, accounts):
    out = accounts.sign_up("  Alice ", "correct horse", ip="127.0.0.1")
    assert out.ok and out.user.username == "alice" and out.token
    stored = db.users.find_one({"username": "alice"})
    assert stored["password_hash"].startswith("$argon2id$")
    again = accounts.log_in("ALICE", "correct horse", ip="127.0.0.1")
    assert again.ok and again.token != out.token


def test_same_message_for_unknown_user_and_wrong_password(db, accounts):
    accounts.sign_up("alice", "correct horse", ip="1")
    wrong = accounts.log_in("alice", "wrong horse!", ip="1")
    unknown = accounts.log_in("nobody", "wrong horse!", ip="1")
    assert wrong.result is unknown.result is Result.INCORRECT
    assert wrong.message == unknown.message == INCORRECT


def test_taken_in_any_case(db, accounts):
    accounts.sign_up("alice", "correct horse", ip="1")
    out = accounts.sign_up("ALICE", "another pass", ip="1")
    assert out.result is Result.TAKEN and out.field == "username"


def test_login_revokes_the_session_it_arrived_with(db, accounts):
    first = accounts.sign_up("alice", "correct horse", ip="1")
    second = accounts.log_in("alice", "correct horse", ip="1",
                             previous_session_id=first.session.id)
    assert second.ok
    assert not accounts.steps.sessions.validate_session_token(first.token).valid
    assert accounts.steps.sessions.validate_session_token(second.token).valid


def test_old_hash_is_upgraded_on_login(db, accounts, clock):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse")
    accounts.steps.users.create("old", weak, clock())
    assert accounts.log_in("old", "correct horse", ip="1").ok
    assert User._get_collection().find_one({"username": "old"})["password_hash"].startswith(
        "$argon2id$v=19$m=19456,t=2,p=1$")


def test_throttling_per_username(db, make_core, clock):
    accounts = make_core(login_max_failures_per_user=3).accounts
    accounts.sign_up("alice", "correct horse", ip="1")
    for _ in range(3):
        assert accounts.log_in("alice", "bad password", ip="1").result is Result.INCORRECT
    blocked = accounts.log_in("alice", "correct horse", ip="1")
    assert blocked.result is Result.THROTTLED and 0 < blocked.retry_after <= 900
    assert blocked.token is None
    clock.advance(seconds=blocked.retry_after)
    assert accounts.log_in("alice", "correct horse", ip="1").ok


def test_success_resets_username_counter(db, make_core):
    accounts = make_core(login_max_failures_per_user=3).accounts
    accounts.sign_up("alice", "correct horse", ip="1")
    for _ in range(2):
        accounts.log_in("alice", "bad password", ip="1")
    assert accounts.log_in("alice", "correct horse", ip="1").ok
    for _ in range(2):
        accounts.log_in("alice", "bad password", ip="1")
    assert accounts.log_in("alice", "correct horse", ip="1").ok


def test_throttling_per_ip_and_signup(db, make_core):
    accounts = make_core(login_max_failures_per_ip=2, signup_max_per_ip=2).accounts
    assert accounts.sign_up("user1", "correct horse", ip="9.9.9.9").ok
    assert accounts.sign_up("user2", "correct horse", ip="9.9.9.9").ok
    assert accounts.sign_up("user3", "correct horse", ip="9.9.9.9").result is Result.THROTTLED
    assert accounts.sign_up("user3", "correct horse", ip="8.8.8.8").ok
    accounts.log_in("user1", "nope-nope", ip="7.7.7.7")
    accounts.log_in("user2", "nope-nope", ip="7.7.7.7")
    assert accounts.log_in("user3", "correct horse", ip="7.7.7.7").result is Result.THROTTLED
    assert accounts.log_in("user3", "correct horse", ip="6.6.6.6").ok


def test_change_password_keeps_current_ends_others(db, core):
    accounts, passwords = core.accounts, core.passwords
    a = accounts.sign_up("alice", "correct horse", ip="1")
    b = accounts.log_in("alice", "correct horse", ip="1")
    bad = passwords.change_password(a.user, "wrong", "new password", "new password", ip="1",
                                   keep_session_id=a.session.id)
    assert bad.result is Result.INCORRECT
    mismatch = passwords.change_password(a.user, "correct horse", "new password", "other one",
                                        ip="1", keep_session_id=a.session.id)
    assert mismatch.result is Result.INVALID and mismatch.field == "confirm"
    ok = passwords.change_password(a.user, "correct horse", "new password", "new password",
                                  ip="1", keep_session_id=a.session.id)
    assert ok.ok
    assert accounts.steps.sessions.validate_session_token(a.token).valid
    assert not accounts.steps.sessions.validate_session_token(b.token).valid
    assert accounts.log_in("alice", "new password", ip="1").ok
    assert hash_password("x") != hash_password("x")  # salted
