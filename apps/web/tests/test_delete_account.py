"""Issue 25, item 3: "Delete my account" in /account, after a recent re-authentication and
a typed confirmation; everything of the user goes and the browser is logged out."""

from __future__ import annotations

import json

import pyotp

from auth_utils import Result, SessionUser
from devtools.testing import LANDING, WEB, SoftAuthenticator, csrf_token, leftovers_of


def everything(db, user_id: str) -> dict[str, int]:
    """What each collection still holds of alice (her passkey is named "laptop")."""
    return leftovers_of(db, user_id, "alice", named="laptop")


def test_delete_my_account_needs_reauthentication_and_removes_everything(
        web, web_services, login_session, db, clock):
    core = web_services
    token, user, session = login_session("alice")
    me = SessionUser(user.id, "alice")
    device = SoftAuthenticator(origin=WEB)
    options = core.passkeys.passkeys.registration_options(user.id, "alice")
    assert core.passkeys.add(session, me, json.dumps(device.register(options)), "laptop").ok
    core.passkeys.registration_options(session, me)  # a challenge left stored
    assert core.second_factor.start(session, me).ok
    secret = core.second_factor.status(me).enrolment.secret
    confirmed, _ = core.second_factor.confirm(session, me, pyotp.TOTP(secret).at(clock()))
    assert confirmed.ok
    token, session = confirmed.token, confirmed.session  # turning it on rotates the session
    other, _ = core.sessions.create_session(user.id, "alice")  # another browser
    core.accounts.log_in("alice", "wrong horse!", ip="192.0.2.7")  # a counted failure
    bob_token, bob, _ = login_session("bob")
    assert all(everything(db, user.id).values()), everything(db, user.id)
    web.cookies["auth_session"] = token

    assert "Delete my account" in web.get("/account").content.decode()
    clock.advance(minutes=11)  # the log-in's verification is too old now
    r = web.post("/account/delete", {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 303 and r["Location"] == "/account/confirm?next=%2Faccount"
    page = web.get("/account/confirm?next=/account").content.decode()
    r = web.post("/account/confirm", {"csrfmiddlewaretoken": csrf_token(page),
                                      "next": "/account", "password": "correct horse",
                                      "code": pyotp.TOTP(secret).at(clock())})
    assert r.status_code == 303 and r["Location"] == "/account?done=confirmed"

    # The confirmation step: what goes, and the username typed.
    r = web.post("/account/delete", {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    body = r.content.decode()
    assert r.status_code == 200 and 'name="confirm"' in body and "cannot be undone" in body
    r = web.post("/account/delete", {"csrfmiddlewaretoken": csrf_token(body),
                                     "confirm": "bob"})
    assert r.status_code == 400 and "Type your username" in r.content.decode()
    assert all(everything(db, user.id).values())  # nothing happened yet

    r = web.post("/account/delete", {"csrfmiddlewaretoken": csrf_token(body),
                                     "confirm": " Alice "})
    assert r.status_code == 303 and r["Location"] == f"{LANDING}/?notice=deleted"
    assert r.cookies["auth_session"]["max-age"] == 0
    assert everything(db, user.id) == dict.fromkeys(everything(db, user.id), 0)
    kept = list(db.security_events.find({"user_id": user.id}))
    assert kept and all("username" not in e for e in kept)  # kept, without the name
    assert [e["detail"] for e in kept if e["kind"] == "account_deleted"] == ["by the user"]

    for replayed in (token, other):  # every session ended, in both apps
        assert not core.sessions.validate_session_token(replayed).valid
    web.cookies["auth_session"] = token
    assert web.get("/account").status_code == 302
    assert core.accounts.log_in("alice", "correct horse", ip="1").result is Result.INCORRECT
    assert core.accounts.sign_up("alice", "correct horse", ip="1").result is Result.TAKEN
    assert core.sessions.validate_session_token(bob_token).valid  # bob is untouched
    assert db.users.count_documents({"_id": bob.id}) == 1


def test_deleting_needs_a_post_with_the_csrf_token(web, login_session, db):
    token, user, _ = login_session("alice")
    web.cookies["auth_session"] = token
    assert web.get("/account/delete").status_code == 405
    assert web.post("/account/delete", {"confirm": "alice"}).status_code == 403
    assert db.users.count_documents({"_id": user.id}) == 1
