"""`auth-admin` run as the operator runs it: a separate process against the real server."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


def admin(*args, stdin="", uri=None):
    env = {**os.environ}
    if uri:
        env["MONGO_URI"] = uri
    exe = Path(sys.executable).with_name("auth-admin")
    return subprocess.run([str(exe), *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=60)


def test_help_for_each_command():
    assert admin("--help").returncode == 0
    for command in ("create-user", "reset-link", "list-users", "sessions", "revoke",
                    "purge-expired", "stats", "outbox", "disable", "enable", "delete",
                    "finish-deletions"):
        r = admin(command, "--help")
        assert r.returncode == 0 and command in r.stdout


def test_user_lifecycle(db, make_core, clock):
    r = admin("create-user", "  Carol ", "--password-stdin", stdin="correct horse\n")
    assert r.returncode == 0 and "created user carol" in r.stdout
    assert db.users.find_one({"username": "carol"})["password_hash"].startswith("$argon2id$")
    assert admin("create-user", "carol", "--password-stdin", stdin="correct horse\n"
                 ).returncode == 1
    assert "carol" in admin("list-users").stdout

    user_id = db.users.find_one({"username": "carol"})["_id"]
    manager = make_core().sessions
    token, _ = manager.create_session(user_id, "carol", ip="198.51.100.1")
    r = admin("sessions", "carol")
    assert r.returncode == 0 and "198.51.100.1" in r.stdout and token not in r.stdout
    assert "users\t1" in admin("stats").stdout
    # The operator gets a link, never the password: the user chooses it on the page.
    r = admin("reset-link", "carol")
    assert r.returncode == 0 and "/password/reset/" in r.stdout and "once" in r.stderr
    link_token = r.stdout.strip().rsplit("/", 1)[1]
    core = make_core()
    assert core.recovery.reset_password(link_token, "new password 2", "new password 2",
                                        ip="127.0.0.1").ok
    assert not manager.validate_session_token(token).valid
    assert not core.recovery.reset_password(link_token, "new password 3", "new password 3",
                                            ip="127.0.0.1").ok  # used up

    manager.create_session(user_id, "carol")
    assert "ended 1 session(s)" in admin("revoke", "carol").stdout
    _, fresh = manager.create_session(user_id, "carol")
    clock.advance(days=-31)  # a session that expired a day ago, in real time
    _, stale = manager.create_session(user_id, "carol")
    r = admin("purge-expired")
    # The server's own TTL sweep may get there first; either way it is gone.
    assert r.returncode == 0 and re.match(r"deleted [01] expired session", r.stdout)
    assert db.sessions.count_documents({"_id": stale.id}) == 0
    assert db.sessions.count_documents({"_id": fresh.id}) == 1


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [(("sessions", "nobody"), "", "no user named 'nobody'"),
     (("revoke", "nobody"), "", "no user named"),
     (("reset-link", "nobody"), "", "no user named"),
     (("create-user", "x", "--password-stdin"), "password123\n", "3 to 31"),
     (("create-user", "dave", "--password-stdin"), "short\n", "8 to 255")],
)
def test_clear_errors_and_nonzero_exit(db, args, stdin, message):
    r = admin(*args, stdin=stdin)
    assert r.returncode == 1 and message in r.stderr


def test_unknown_command_and_password_never_in_argv(db):
    assert admin("frobnicate").returncode == 2
    r = admin("create-user", "eve", "--password", "secret-pass")
    assert r.returncode == 2  # there is no such flag


def test_database_down_is_a_clear_error():
    from devtools.dbserver import free_port

    r = admin("stats", uri=f"mongodb://127.0.0.1:{free_port()}/x?serverSelectionTimeoutMS=300")
    assert r.returncode == 3 and r.stdout == ""
    # Only the clear line: no pymongo topology description, no server log line.
    assert r.stderr.splitlines() == ["auth-admin: cannot reach the database (check MONGO_URI)"]


def test_create_user_without_a_terminal_or_stdin_flag_is_one_line(db):
    r = admin("create-user", "dave")  # stdin is a pipe, not a terminal
    assert r.returncode == 1 and "--password-stdin" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert db.users.count_documents({}) == 0


@pytest.mark.parametrize("uri", ["mongodb://", "not-a-uri", "mongodb://h:99999999/x",
                                 "mongodb+srv://a:b@/x"])
def test_bad_mongo_uri_is_one_line(uri):
    r = admin("stats", uri=uri)
    assert r.returncode == 1 and "MONGO_URI" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("limit", ["0", "-3", "many"])
def test_list_users_limit_must_be_positive(db, limit):
    r = admin("list-users", "--limit", limit)
    assert r.returncode == 2 and "--limit" in r.stderr and "Traceback" not in r.stderr


def test_mfa_reset_turns_the_second_factor_off_and_ends_sessions(db, make_core):
    core = make_core()
    out = core.accounts.sign_up("erin", "correct horse", ip="1")
    assert core.second_factor.factors.start(out.user.id, "erin")
    r = admin("mfa-reset", "erin")  # no terminal to confirm on
    assert r.returncode == 1 and "--yes" in r.stderr
    assert db.second_factors.count_documents({}) == 1
    r = admin("mfa-reset", "erin", "--yes")
    assert r.returncode == 0 and "1 session(s) ended" in r.stdout
    assert db.second_factors.count_documents({}) == 0
    assert not core.sessions.validate_session_token(out.token).valid
    assert admin("mfa-reset", "erin", "--yes").returncode == 1  # nothing to reset


def test_every_action_is_an_event_and_events_can_be_queried(db, make_core):
    import json

    core = make_core()
    core.accounts.sign_up("frank", "correct horse", ip="198.51.100.4")
    core.accounts.log_in("frank", "wrong horse!", ip="198.51.100.4")
    assert core.activity.flush()  # a failed log-in is stored after its answer
    assert admin("revoke", "frank").returncode == 0
    assert admin("stats").returncode == 0
    admin_events = [e["detail"] for e in db.security_events.find({"kind": "admin"})]
    assert admin_events == ["auth-admin revoke", "auth-admin stats"]
    r = admin("events", "frank", "--json")
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["kind"] for e in lines] == ["admin", "session_revoked", "login_failed", "signup"]
    assert lines[1]["detail"] == "1 session(s), by an operator"
    r = admin("events", "--kind", "login_failed", "--since", "1h")
    assert r.returncode == 0 and "frank" in r.stdout and "1 event(s)" in r.stderr
    assert admin("events", "--kind", "nonsense").returncode == 1
    assert admin("events", "--since", "yesterday").returncode == 2


def test_outbox_shows_counts_and_messages_and_requeues_failed_ones(db, make_core):
    from auth_utils.services.mail import Message

    core = make_core()
    queued = core.outbox.enqueue(Message("bob@example.com", "Hello", "secret link",
                                         kind="notice"))
    r = admin("outbox")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "pending 1\tdelivered 0\tfailed 0"
    assert "\tpending\t0 attempt(s)\t" in lines[1] and queued in lines[1]
    assert "notice\tbob@example.com" in lines[1] and "secret link" not in r.stdout
    db.outbox.update_one({"message_id": queued}, {"$set": {"status": "failed"}})
    assert admin("outbox", "--status", "pending").stdout.splitlines()[1:] == []
    r = admin("outbox", "--requeue", queued)
    assert r.returncode == 0 and r.stdout == "1 failed message(s) queued again\n"
    assert core.outbox.get(queued).status == "pending"


def test_disable_enable_delete_and_their_one_line_errors(db, make_core):
    """Issue 25, item 3, for operators: every bad input is one line and exit 1, and
    changes nothing."""
    core = make_core()
    out = core.accounts.sign_up("gina", "correct horse", ip="1")
    for args, message in [(("disable", "gina"), "--reason"),
                          (("disable", "gina", "--reason", "  "), "--reason"),
                          (("disable", "nobody", "--reason", "x"), "no user named 'nobody'"),
                          (("enable", "nobody"), "no user named 'nobody'"),
                          (("enable", "gina"), "not disabled"),
                          (("delete", "gina"), "--yes"),  # no terminal to confirm on
                          (("delete", "nobody", "--yes"), "no user named 'nobody'")]:
        r = admin(*args)
        assert r.returncode == 1 and message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert core.sessions.validate_session_token(out.token).valid  # nothing changed

    r = admin("disable", "gina", "--reason", "chargeback")
    assert r.returncode == 0 and "gina disabled; 1 session(s) ended" in r.stdout
    assert not core.sessions.validate_session_token(out.token).valid
    assert "disabled: chargeback" in admin("list-users").stdout
    assert not core.accounts.log_in("gina", "correct horse", ip="1").ok
    assert admin("enable", "gina").returncode == 0
    assert core.accounts.log_in("gina", "correct horse", ip="1").ok
    r = admin("delete", "gina", "--yes")
    assert r.returncode == 0 and "gina deleted" in r.stdout
    assert db.users.count_documents({}) == 0 and db.sessions.count_documents({}) == 0
    kinds = [e["kind"] for e in db.security_events.find({"user_id": out.user.id})]
    assert {"account_disabled", "account_enabled", "account_deleted"} <= set(kinds)
    assert db.security_events.count_documents({"username": "gina"}) == 0
    assert admin("finish-deletions").stdout.startswith("finished 0 deletion(s)")


def test_set_password_is_gone_with_one_line_saying_what_instead(db):
    r = admin("set-password", "carol", "--password-stdin", stdin="new password 2\n")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == [
        "auth-admin: set-password is gone: an operator never chooses a user's password "
        "(ASVS 6.4.6); print a reset link with `auth-admin reset-link USER`"]


def test_each_action_writes_its_auth_events_json_line_to_stderr(db):
    """Security round 3: the apps write the `auth.events` lines, `auth-admin` wrote none.
    A real `uv run auth-admin` process: its action's line is on stderr, one JSON object
    per line, never with the password; stdout stays the command's answer."""
    password = f"pw-{os.urandom(6).hex()}"
    env = {**os.environ}
    env.pop("VIRTUAL_ENV", None)
    r = subprocess.run(["uv", "run", "--frozen", "auth-admin", "create-user", "hugo",
                        "--password-stdin"], input=password + "\n", capture_output=True,
                       text=True, env=env, timeout=120, cwd=Path(__file__).parents[3])
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stderr.splitlines() if '"event": "auth"' in line]
    assert [(e["kind"], e["detail"], e["username"]) for e in events] == [
        ("admin", "auth-admin create-user", "hugo")]
    assert password not in r.stderr + r.stdout and '"event"' not in r.stdout
    r = admin("revoke", "hugo")
    assert r.returncode == 0
    kinds = [json.loads(line)["kind"] for line in r.stderr.splitlines()]
    assert kinds == ["session_revoked", "admin"], r.stderr
