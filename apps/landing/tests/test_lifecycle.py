"""Issue 25, item 3, on the landing app: a disabled account's log-in (password or passkey)
is answered like a wrong one (status, page, no cookie, about the same time); only the
right password or passkey learns to contact the operator. After a deletion the landing
page says so."""

from __future__ import annotations

import html
import json
import statistics
import time

from auth_utils import INCORRECT
from auth_utils.flows.lifecycle import ACCOUNT_DISABLED
from devtools.testing import LANDING, WEB, SoftAuthenticator


def log_in(client, username: str, password: str):
    client.cookies.clear()
    start = time.perf_counter()
    r = client.post("/login", data={"username": username, "password": password})
    return r, time.perf_counter() - start


def test_a_disabled_account_is_answered_like_a_wrong_password(landing, landing_app, db):
    core = landing_app.state.core
    alice = core.accounts.sign_up("alice", "correct horse", ip="1")
    core.accounts.sign_up("carol", "correct horse", ip="1")
    device = SoftAuthenticator(origin=WEB)
    options = core.passkeys.passkeys.registration_options(alice.user.id, "alice")
    assert core.passkeys.add(alice.session, alice.user, json.dumps(device.register(options)),
                             "laptop").ok
    device.origin = LANDING
    assert core.lifecycle.disable(alice.user, "fraud")[0].ok

    timings: dict[str, list[float]] = {"wrong": [], "disabled wrong": [], "disabled right": []}
    for _ in range(3):
        wrong, took = log_in(landing, "carol", "wrong horse!")
        timings["wrong"].append(took)
        disabled_wrong, took = log_in(landing, "alice", "wrong horse!")
        timings["disabled wrong"].append(took)
        disabled_right, took = log_in(landing, "alice", "correct horse")
        timings["disabled right"].append(took)
    # A wrong password: the very same answer as anyone's.
    assert wrong.status_code == disabled_wrong.status_code == disabled_right.status_code == 400
    assert disabled_wrong.text == wrong.text.replace('value="carol"', 'value="alice"')
    # The right one: the same page, with the message to contact the operator instead.
    assert disabled_right.text == disabled_wrong.text.replace(
        INCORRECT, html.escape(ACCOUNT_DISABLED))
    for r in (wrong, disabled_wrong, disabled_right):
        assert "set-cookie" not in r.headers
    medians = {name: statistics.median(t) for name, t in timings.items()}
    assert medians["disabled right"] < 3 * medians["wrong"], medians  # roughly alike
    assert medians["disabled wrong"] < 3 * medians["wrong"], medians

    landing.cookies.clear()
    options = landing.post("/login/passkey/options").text
    r = landing.post("/login/passkey", json={"credential": device.assert_(options)})
    assert r.status_code == 400 and r.json()["error"] == ACCOUNT_DISABLED
    assert "set-cookie" not in r.headers
    assert db.sessions.count_documents({"user_id": alice.user.id}) == 0

    assert core.lifecycle.enable(core.storage.users.by_username("alice")).ok
    r, _ = log_in(landing, "alice", "correct horse")
    assert r.status_code == 303 and r.headers["set-cookie"].startswith("auth_session=")


def test_the_landing_page_says_the_account_was_deleted(landing, db):
    r = landing.get("/?notice=deleted")
    assert r.status_code == 200 and "Your account was deleted" in r.text
    for other in ("/", "/?notice=%3Cscript%3E", "/?notice=Your+account+was+deleted"):
        assert "Your account was deleted" not in landing.get(other).text
