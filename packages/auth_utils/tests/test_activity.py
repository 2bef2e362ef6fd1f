"""The security activity log: each action writes exactly its events, once; nothing secret
is ever written; a failing store never fails the request."""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta

import pyotp

from auth_utils import Result
from auth_utils.services.activity import Activity, Actor, Kind
from auth_utils.storage.mongo import MongoStorage


def kinds(db) -> list[str]:
    return [e["kind"] for e in db.security_events.find().sort("_id", 1)]  # in order written


def take(db) -> list[str]:
    found = kinds(db)
    db.security_events.delete_many({})
    return found


def test_each_action_writes_exactly_its_events(core, db, clock):
    a = core.accounts
    out = a.sign_up("alice", "correct horse", ip="198.51.100.7", user_agent="Firefox/130.0")
    assert take(db) == ["signup"]
    a.log_in("alice", "correct horse", ip="1")  # no User-Agent: not the sign-up's browser
    assert take(db) == ["login", "new_browser"]
    a.log_in("alice", "wrong horse", ip="1")
    assert core.activity.flush()  # stored by the writer thread, after the answer
    assert take(db) == ["login_failed"]
    a.log_in("nobody", "wrong horse", ip="1")  # a name nobody has: counted, not stored
    a.log_in("!!bad!!", "wrong horse", ip="1")
    assert take(db) == []
    changed = core.passwords.change_password(out.user, "correct horse", "new password 1",
                                             "new password 1", ip="1",
                                             keep_session_id=out.session.id)
    assert changed.ok and take(db) == ["password_changed", "session_revoked"]
    other = a.log_in("alice", "new password 1", ip="1")
    assert a.revoke_session(out.user, other.session.id) and take(db) == ["login",
                                                                         "session_revoked"]
    a.log_out(out.session.id, out.user, ip="1")
    assert take(db) == ["logout"]

    fresh = a.log_in("alice", "new password 1", ip="1")
    enrolment = core.second_factor.factors.start(out.user.id, "alice")
    fresh, codes = core.second_factor.confirm(fresh.session, out.user,  # a new session
                                              pyotp.TOTP(enrolment.secret).at(clock()))
    assert take(db) == ["login", "second_factor_on"]
    pending = a.log_in("alice", "new password 1", ip="1")
    v = core.sessions.validate_session_token(pending.token)
    core.second_factor.verify(v.session, v.user, "000000", ip="1")
    core.second_factor.verify(v.session, v.user, codes[0], ip="1")
    assert take(db) == ["login_pending", "second_factor_failed", "recovery_code_used"]
    pending = a.log_in("alice", "new password 1", ip="1")
    v = core.sessions.validate_session_token(pending.token)
    assert core.second_factor.cancel_pending(v.session, v.user, ip="1").ok
    assert core.sessions.validate_session_token(pending.token).session is None
    assert not core.second_factor.cancel_pending(fresh.session, out.user, ip="1").ok
    assert take(db) == ["login_pending", "login_cancelled"]
    clock.advance(minutes=11)
    refused, _ = core.second_factor.regenerate_recovery_codes(fresh.session, out.user)
    assert refused.result is Result.REAUTH
    assert take(db) == []
    core.passwords.reauthenticate(fresh.session, out.user, "new password 1",
                                  pyotp.TOTP(enrolment.secret).at(clock()), ip="1")
    verified = core.sessions.validate_session_token(fresh.token).session
    core.second_factor.regenerate_recovery_codes(verified, out.user)
    core.second_factor.disable(verified, out.user)
    assert take(db) == ["reauthenticated", "recovery_codes_regenerated", "second_factor_off",
                        "session_revoked"]


def test_event_fields_and_the_json_line(core, db, caplog):
    caplog.set_level(logging.INFO, logger="auth.events")
    out = core.accounts.sign_up("bob", "correct horse", ip="203.0.113.9",
                                user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
    stored = db.security_events.find_one()
    assert stored["username"] == "bob" and stored["user_id"] == out.user.id
    assert stored["ip"] == "203.0.113.9" and stored["browser"] == "Firefox on Linux"
    assert stored["outcome"] == "success" and len(stored["session_ref"]) == 10
    assert stored["session_ref"] not in out.session.id  # one-way, not a prefix
    assert stored["expires_at"] - stored["at"] == timedelta(days=180)
    line = json.loads(next(r.getMessage() for r in caplog.records if r.name == "auth.events"))
    assert line["kind"] == "signup" and line["username"] == "bob"


def test_no_token_password_secret_or_code_is_ever_written(core, db, clock, caplog):
    caplog.set_level(logging.INFO, logger="auth.events")
    a = core.accounts
    secrets_seen = ["correct horse", "wrong horse!", "new password 1"]
    out = a.sign_up("carol", "correct horse", ip="1")
    a.log_in("carol", "wrong horse!", ip="1")
    a.log_in("correct horse", "correct horse", ip="1")  # a password typed as the name
    enrolment = core.second_factor.factors.start(out.user.id, "carol")
    code = pyotp.TOTP(enrolment.secret).at(clock())
    _, codes = core.second_factor.confirm(out.session, out.user, code)
    pending = a.log_in("carol", "correct horse", ip="1")
    v = core.sessions.validate_session_token(pending.token)
    done = core.second_factor.verify(v.session, v.user, codes[2], ip="1")
    core.passwords.change_password(out.user, "correct horse", "new password 1",
                                   "new password 1", ip="1", keep_session_id=done.session.id)
    secrets_seen += [out.token, pending.token, done.token, out.session.id, pending.session.id,
                     done.session.id, enrolment.secret, code, *codes,
                     *(c.replace("-", "") for c in codes)]
    written = [r.getMessage() for r in caplog.records] + [
        json.dumps(e, default=str) for e in db.security_events.find()]
    assert len(written) > 10
    for value in secrets_seen:
        assert not any(value in line for line in written), value


def test_a_failing_event_store_never_fails_the_request(core, db, database_server, caplog):
    """Inserts into security_events fail (a fail point for this client only): the log-in
    still succeeds and the failure is logged."""
    from pymongo import MongoClient

    client = MongoClient(database_server.uri, appName="events-down", tz_aware=True)
    storage = MongoStorage(client[db.name])
    core.accounts.steps.activity = Activity(storage.events, unavailable=storage.Unavailable)
    admin = MongoClient(database_server.uri).admin
    admin.command({"configureFailPoint": "failCommand", "mode": "alwaysOn",
                   "data": {"failCommands": ["insert"], "errorCode": 91,
                            "appName": "events-down"}})
    try:
        caplog.set_level(logging.INFO, logger="auth.events")
        assert core.accounts.sign_up("dave", "correct horse", ip="1").ok
        assert core.accounts.log_in("dave", "correct horse", ip="1").ok
    finally:
        admin.command({"configureFailPoint": "failCommand", "mode": "off"})
        admin.client.close()
        client.close()
    assert db.security_events.count_documents({}) == 0
    failures = [r for r in caplog.records if "could not store security event" in r.getMessage()]
    # Error 91 (shutting down) is an outage: a warning each, without a traceback.
    assert failures and all(r.levelname == "WARNING" and not r.exc_info for r in failures)


def test_paging_and_failed_log_ins_since(core, db, clock):
    out = core.accounts.sign_up("erin", "correct horse", ip="1")
    for _ in range(24):
        clock.advance(seconds=1)
        core.activity.record(Kind.LOGIN_FAILED, Actor(out.user.id, "erin"),
                                      success=False)
    first, second = (core.activity.page(out.user.id, n) for n in (1, 2))
    assert len(first) == 20 and len(second) == 5
    assert first[0].at > first[-1].at > second[0].at  # newest first
    assert core.activity.failed_logins_since(out.user.id, clock() - timedelta(
        seconds=10)) == 10


def test_session_ref_is_short_and_not_reversible():
    from auth_utils.services.activity import session_ref

    sid = "a" * 64
    assert re.fullmatch(r"[0-9a-f]{10}", session_ref(sid)) and session_ref(sid) not in sid
    assert session_ref(None) == ""
