""""Trust this browser" on the landing app: the checkbox on the code page sets a host-only
30-day cookie that skips the code (never the password) at the next log-in."""

from __future__ import annotations

import pyotp

from devtools.testing import WEB


def test_the_trust_cookie_skips_the_code_at_the_next_log_in(landing, landing_app, db):
    core = landing_app.state.core
    out = core.accounts.sign_up("alice", "correct horse", ip="1")
    core.second_factor.start(out.session, out.user)
    secret = core.second_factor.status(out.user).enrolment.secret
    _, codes = core.second_factor.confirm(out.session, out.user,
                                          pyotp.TOTP(secret).at(core.sessions.clock()))
    form = {"username": "alice", "password": "correct horse"}
    r = landing.post("/login", data=form)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/verify")
    r = landing.post("/login/verify", data={"code": codes[0], "trust": "on"})
    assert r.status_code == 303 and r.headers["location"] == WEB
    trust = next(c for c in r.headers.get_list("set-cookie") if c.startswith("auth_trusted="))
    assert "Max-Age=2592000" in trust and "HttpOnly" in trust and "Path=/" in trust
    assert "Domain" not in trust  # the landing host only
    landing.cookies.delete("auth_session")
    r = landing.post("/login", data=form)
    assert r.status_code == 303 and r.headers["location"] == WEB  # no code asked
    landing.cookies.delete("auth_session")
    r = landing.post("/login", data={**form, "password": "wrong horse"})
    assert r.status_code == 400  # the password still is
    landing.cookies.delete("auth_trusted")
    r = landing.post("/login", data=form)
    assert r.headers["location"].startswith("/login/verify")
