"""Issue 25, item 3: disable, enable and delete an account, on the real server. A disabled
account cannot log in (by password or passkey) and its sessions end in every process at
once; a deletion removes everything of the user, and a process killed between any two of
its steps leaves a safe state that running it again finishes."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pymongo import MongoClient, monitoring

from auth_utils import INCORRECT, Result, build_core
from auth_utils.flows.lifecycle import ACCOUNT_DISABLED
from auth_utils.rules import passwords
from auth_utils.storage.mongo import MongoStorage
from devtools.testing import LANDING, WEB, SoftAuthenticator, leftovers_of, wait_for


def admin(*args: str):
    exe = Path(sys.executable).with_name("auth-admin")
    return subprocess.run([str(exe), *args], capture_output=True, text=True,
                          env={**os.environ}, timeout=60)


def with_passkey(core, name: str = "alice"):
    """`name` signed up (a recent session) with a passkey; (sign-up outcome, device)."""
    out = core.accounts.sign_up(name, "correct horse", ip="1")
    device = SoftAuthenticator(origin=WEB)
    options = core.passkeys.passkeys.registration_options(out.user.id, name)
    assert core.passkeys.add(out.session, out.user, json.dumps(device.register(options)),
                             "Alice's phone").ok
    device.origin = LANDING
    return out, device


def passkey_log_in(core, device):
    return core.passkeys.log_in(json.dumps(device.assert_(core.passkeys.login_options())),
                                ip="1")


def shape(outcome):
    return outcome.result, outcome.message, outcome.field, outcome.token


def test_a_disabled_account_cannot_log_in_and_only_its_password_learns_why(core, db):
    out, device = with_passkey(core)
    core.accounts.sign_up("bob", "correct horse", ip="1")
    outcome, ended = core.lifecycle.disable(out.user, "  chargeback\nfraud ")
    assert outcome.ok and ended == 1
    stored = db.users.find_one({"username": "alice"})
    assert stored["disabled_reason"] == "chargeback fraud" and stored["disabled_at"]
    assert not core.sessions.validate_session_token(out.token).valid

    sessions = db.sessions.count_documents({})
    # A wrong password is answered as for anyone else: nothing tells the account's state.
    wrong = core.accounts.log_in("alice", "wrong horse!", ip="1")
    assert shape(wrong) == shape(core.accounts.log_in("bob", "wrong horse!", ip="1")) == (
        Result.INCORRECT, INCORRECT, None, None)
    # The right one learns that the account is disabled, with the same status and form.
    right = core.accounts.log_in("alice", "correct horse", ip="1")
    assert shape(right) == (Result.INCORRECT, ACCOUNT_DISABLED, None, None)
    assert "contact" in right.message
    refused = passkey_log_in(core, device)
    assert shape(refused) == (Result.INVALID, ACCOUNT_DISABLED, "passkey", None)
    assert db.sessions.count_documents({}) == sessions  # no session, even a pending one
    details = [e["detail"] for e in db.security_events.find(
        {"username": "alice", "kind": "login_failed"})]
    assert sorted(details) == ["passkey: account disabled", "password: account disabled",
                               "wrong password"]
    kinds = [e["kind"] for e in db.security_events.find({"username": "alice"})]
    assert "account_disabled" in kinds

    assert core.lifecycle.enable(db_user(core, "alice")).ok
    assert core.accounts.log_in("alice", "correct horse", ip="1").ok
    assert passkey_log_in(core, device).ok
    assert db.users.find_one({"username": "alice"}).keys().isdisjoint(
        {"disabled_at", "disabled_reason"})
    assert not core.lifecycle.enable(db_user(core, "alice")).ok  # not disabled now
    assert "account_enabled" in [e["kind"] for e in db.security_events.find()]


def db_user(core, name):
    return core.storage.users.by_username(name)


def test_a_disabled_accounts_right_password_costs_what_a_wrong_one_does(make_core,
                                                                         monkeypatch):
    """The password is still verified, through the same path, and the attempt stays
    counted against the name like a failure."""
    core = make_core()
    out = core.accounts.sign_up("alice", "correct horse", ip="1")
    core.lifecycle.disable(out.user, "test")
    verified = []
    real = passwords.verify_password
    monkeypatch.setattr("auth_utils.flows.steps.verify_password",
                        lambda h, p: verified.append(h) or real(h, p))

    def timed(password: str) -> float:
        start = time.thread_time()
        outcome = core.accounts.log_in("alice", password, ip="1")
        assert outcome.result is Result.INCORRECT
        return time.thread_time() - start

    wrong, right = [], []
    for _ in range(7):
        wrong.append(timed("wrong horse!"))
        right.append(timed("correct horse"))
    assert len(verified) == 14
    ratio = statistics.median(right) / statistics.median(wrong)
    assert 0.5 < ratio < 2, ratio  # roughly: the same argon2 verify decides both
    counted = core.storage.counters.hit("login-user:alice", 900, core.sessions.clock(), 0)
    assert counted[0] == 14  # none was given back as a success


def test_disabling_ends_every_session_in_every_process_at_once(make_core, db):
    """With the session cache on in both "processes": once `disable` returns (and once
    `auth-admin disable` exits), the other process refuses the sessions on its very next
    look-up, from its cache or not."""
    here, other = make_core(cache=True), make_core(cache=True)
    out = here.accounts.sign_up("alice", "correct horse", ip="1")
    second = here.accounts.log_in("alice", "correct horse", ip="2")
    assert wait_for(lambda: other.sessions.store.active, 5)
    for token in (out.token, second.token):
        assert other.sessions.validate_session_token(token).valid  # cached over there
    assert other.sessions.validate_cached(out.token).valid
    outcome, ended = here.lifecycle.disable(out.user, "abuse")
    assert outcome.ok and ended == 2
    for token in (out.token, second.token):
        assert refused_at_once(other, token)

    here.lifecycle.enable(db_user(here, "alice"))
    third = here.accounts.log_in("alice", "correct horse", ip="1")
    assert other.sessions.validate_session_token(third.token).valid
    assert other.sessions.validate_cached(third.token).valid
    r = admin("disable", "alice", "--reason", "abuse again")
    assert r.returncode == 0 and "1 session(s) ended" in r.stdout, r.stderr
    assert refused_at_once(other, third.token)


def refused_at_once(core, token: str) -> bool:
    """Neither the cache (no I/O) nor the database accepts `token` (no waiting)."""
    cached = core.sessions.validate_cached(token)
    return (cached is None or not cached.valid) and \
        not core.sessions.validate_session_token(token).valid


def test_a_log_in_racing_a_disable_keeps_no_session(core, db):
    """A log-in whose password was checked before the account was disabled (or its
    deletion began) finds it once its session is stored, and ends that session."""
    out = core.accounts.sign_up("alice", "correct horse", ip="1")
    users = core.storage.users
    real = users.by_username

    def disabled_meanwhile(name):  # the operator's disable lands right after this read
        found = real(name)
        core.lifecycle.disable(out.user, "race")
        return found

    users.by_username = disabled_meanwhile
    try:
        refused = core.accounts.log_in("alice", "correct horse", ip="1")
    finally:
        users.by_username = real
    assert shape(refused) == (Result.INCORRECT, ACCOUNT_DISABLED, None, None)
    assert db.sessions.count_documents({}) == 0


class Writes(monitoring.CommandListener):
    def __init__(self) -> None:
        self.deletes: list[tuple[str, object]] = []

    def started(self, event):
        if event.command_name == "delete":
            self.deletes.append((event.command["delete"], event.command.get("writeConcern")))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def leftovers(db, user_id: str, username: str, pending: list[str],
              counters_from: set[str] | None = None) -> dict[str, int]:
    return leftovers_of(db, user_id, username, pending=pending, counters_from=counters_from,
                        named="Alice's")


GONE = dict.fromkeys(["users", "sessions", "second_factors", "passkeys",
                      "webauthn_challenges", "throttles", "named events"], 0)


def everything_of_alice(core):
    """alice with a session, a pending log-in with a wrong code, a passkey, a second
    factor being set up, a stored registration challenge, failed log-ins; and bob."""
    out, device = with_passkey(core)
    bob = core.accounts.sign_up("bob", "correct horse", ip="1")
    user = out.user
    core.passkeys.registration_options(out.session, user)  # a challenge left stored
    assert core.second_factor.start(out.session, user).ok
    core.accounts.log_in("alice", "wrong horse!", ip="1")
    _, pending = core.sessions.create_session(user.id, "alice", pending=True)
    core.accounts.steps.throttler.pending_code_failure(pending.id)
    core.accounts.steps.throttler.begin_code(user.id)
    return out, device, bob, [pending.id]


def test_deleting_removes_everything_of_the_user_and_nothing_else(make_core, db, settings,
                                                                  database_server):
    writes = Writes()
    client = MongoClient(database_server.uri, event_listeners=[writes], tz_aware=True)
    core = make_core()
    watched = build_core(settings, storage=MongoStorage(client[db.name]), cache=False)
    try:
        out, device, bob, pending = everything_of_alice(core)
        before = leftovers(db, out.user.id, "alice", pending)
        assert all(before.values()), before  # each collection holds something of hers
        assert watched.lifecycle.delete(out.user, by="the user", ip="192.0.2.9")
        assert leftovers(db, out.user.id, "alice", pending) == GONE
    finally:
        watched.close()
        client.close()
    # Sessions end as every revocation does: waiting for a majority (the cache's rule).
    session_deletes = [wc for name, wc in writes.deletes if name == "sessions"]
    assert session_deletes and all(wc == {"w": "majority"} for wc in session_deletes)
    assert not core.sessions.validate_session_token(out.token).valid
    # Her events stay (until their retention ends), under her id only.
    kept = list(db.security_events.find({"user_id": out.user.id}))
    assert kept and all("username" not in e for e in kept)
    deleted = [e for e in kept if e["kind"] == "account_deleted"]
    assert len(deleted) == 1 and deleted[0]["detail"] == "by the user"
    assert "alice" not in str(kept)
    # Log-ins find nobody; the name stays taken; bob is untouched.
    assert shape(core.accounts.log_in("alice", "correct horse", ip="1"))[:2] == (
        Result.INCORRECT, INCORRECT)
    assert passkey_log_in(core, device).result is Result.INVALID  # no such passkey now
    assert core.accounts.sign_up("alice", "another horse", ip="1").result is Result.TAKEN
    assert db.retired_usernames.count_documents({}) == 1
    assert core.sessions.validate_session_token(bob.token).valid
    assert db.users.count_documents({}) == 1
    # The name is free again once the old account's events have expired.
    core.sessions.clock.advance(days=settings.security_events_retention_days + 1)
    assert core.accounts.sign_up("alice", "another horse", ip="1").ok


CRASH = """
import os, sys
from auth_utils import build_core, load_settings
core = build_core(load_settings(), cache=False)
store_name, method = sys.argv[1].split(".")
store = core.sessions.store if store_name == "sessions" else getattr(core.storage, store_name)
real, calls = getattr(store, method), []
def dies(*args, **kwargs):
    calls.append(1)
    if len(calls) == int(sys.argv[2]):
        os._exit(9)  # as a crash would: no clean-up, no finally
    return real(*args, **kwargs)
setattr(store, method, dies)
core.lifecycle.delete(core.storage.users.by_username("alice"), by="the user")
"""

# Where the process dies: just before the n-th call of each step's first write.
STEPS = [
    ("users.mark_deleting", 1),  # sessions ended; the deletion has not begun
    ("sessions.delete_for_user", 2),  # marked deleting
    ("second_factors.delete", 1),
    ("passkeys.delete_for_user", 1),
    ("counters.forget", 1),
    ("events.anonymize", 1),
    ("users.retire", 1),
    ("users.delete", 1),
    ("sessions.delete_for_user", 3),  # the document gone, before the last sweep
]


@pytest.mark.parametrize(("step", "call"), STEPS, ids=[f"{s}#{n}" for s, n in STEPS])
def test_a_deletion_killed_between_steps_is_safe_and_finishes(make_core, db, step, call):
    core = make_core()
    out, device, bob, pending = everything_of_alice(core)
    died = subprocess.run([sys.executable, "-c", CRASH, step, str(call)], capture_output=True,
                          text=True, env={**os.environ}, timeout=60)
    assert died.returncode == 9, died.stderr
    # (The log-ins tried below count against the name like any others: not hers.)
    counters_at_crash = {d["_id"] for d in db.throttles.find({}, {"_id": 1})}

    # Safe: no session of hers is accepted, and none can be made unless the deletion never
    # began (only her sessions ended: her account is whole and works as before).
    assert not core.sessions.validate_session_token(out.token).valid
    began = step != "users.mark_deleting"
    log_in = core.accounts.log_in("alice", "correct horse", ip="1")
    by_passkey = passkey_log_in(core, device)
    assert log_in.ok is by_passkey.ok is (not began)
    if began:
        assert shape(log_in) == (Result.INCORRECT, INCORRECT, None, None)
        assert db.sessions.count_documents({"user_id": out.user.id}) == 0
        assert core.accounts.sign_up("alice", "other horse", ip="1").result is Result.TAKEN
    assert core.sessions.validate_session_token(bob.token).valid

    # Finishable: the operator's command (or the same deletion again) ends the job.
    r = admin("finish-deletions") if began else admin("delete", "alice", "--yes")
    assert r.returncode == 0, r.stderr
    # The wrong-code counters of her pending log-ins are keyed by the hash of the session,
    # which names nobody once the session is gone, and last 15 minutes: a run that died
    # before the counters step took their ids with it (only the later ones are asked).
    counted = STEPS.index((step, call)) > STEPS.index(("counters.forget", 1))
    assert leftovers(db, out.user.id, "alice", pending if counted else [],
                     counters_at_crash) == GONE
    assert db.security_events.count_documents({"user_id": out.user.id,
                                               "kind": "account_deleted"}) == 1
    assert core.accounts.sign_up("alice", "other horse", ip="1").result is Result.TAKEN
    assert core.sessions.validate_session_token(bob.token).valid
    assert db.users.count_documents({}) == 1
