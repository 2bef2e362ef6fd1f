"""The landing app's passkey endpoints: JSON in, a redirect and a cookie out, or a clear
4xx and no cookie."""

from __future__ import annotations

import json

from devtools.testing import LANDING, WEB, SoftAuthenticator


def registered(landing_app):
    core = landing_app.state.core
    out = core.accounts.sign_up("alice", "correct horse", ip="1")
    device = SoftAuthenticator(origin=WEB)
    options = core.passkeys.passkeys.registration_options(out.user.id, "alice")
    assert core.passkeys.add(out.session, out.user,
                                     json.dumps(device.register(options)), "laptop").ok
    device.origin = LANDING
    return device


def test_passkey_log_in_sets_the_cookie_and_follows_next(landing, landing_app, db):
    device = registered(landing_app)
    options = landing.post("/login/passkey/options")
    assert options.status_code == 200 and options.json()["userVerification"] == "required"
    assert options.json().get("allowCredentials", []) == []  # discoverable: no username
    r = landing.post("/login/passkey", json={"credential": device.assert_(options.text),
                                             "next": "/account"})
    assert r.status_code == 200 and r.json() == {"redirect": f"{WEB}/account"}
    assert r.headers["set-cookie"].startswith("auth_session=")
    assert landing.get("/").status_code == 303  # logged in


def test_bad_passkey_requests_are_4xx_without_a_cookie(landing, landing_app, db):
    device = registered(landing_app)
    for body in (b"", b"not json", b'{"credential": 5}', b'{"credential": {"id": "x"}}'):
        r = landing.post("/login/passkey", content=body,
                         headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "error" in r.json(), body
        assert "set-cookie" not in r.headers
    options = landing.post("/login/passkey/options").text
    wrong_origin = device.assert_(options, origin="https://evil.example")
    r = landing.post("/login/passkey", json={"credential": wrong_origin})
    assert r.status_code == 400 and "set-cookie" not in r.headers
    r = landing.post("/login/passkey/options", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    r = landing.post("/login/verify/passkey", json={"credential": wrong_origin})
    assert r.status_code == 400 and r.json()["redirect"] == "/login"  # nothing pending
    assert db.sessions.count_documents({}) == 1  # only the sign-up's


def test_anonymous_option_requests_store_nothing(landing, db):
    """Security round 3, item 2, as found: option requests from one address, with no
    log-in, stored one challenge each (2,000 in 8 s). They store nothing now."""
    challenges = {landing.post("/login/passkey/options").json()["challenge"]
                  for _ in range(300)}
    assert len(challenges) == 300
    assert db.webauthn_challenges.count_documents({}) == 0
