"""The web app's security section: enrolment with a QR code, recovery codes shown once,
re-authentication ("sudo mode") before the sensitive changes."""

from __future__ import annotations

import re

import pyotp
import pytest

from devtools.testing import csrf_token


@pytest.fixture
def alice(web, login_session):
    token, user, _ = login_session("alice")
    web.cookies["auth_session"] = token
    return user


def enrol(web, clock) -> tuple[str, list[str]]:
    web.post("/account/security/totp", {"csrfmiddlewaretoken": csrf_token(web,
                                                                          "/account/security")})
    page = web.get("/account/security").content.decode()
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    assert '<svg' in page and "otpauth" not in page.split("<svg")[0]
    r = web.post("/account/security/totp/confirm", {
        "csrfmiddlewaretoken": csrf_token(page), "code": pyotp.TOTP(secret).at(clock())})
    codes = re.findall(r"<code>([A-Z2-7-]{19})</code>", r.content.decode())
    assert r.status_code == 200 and len(codes) == 10
    return secret, codes


def test_enrol_shows_codes_once_and_the_account_page_says_on(web, alice, clock, db):
    r = web.post("/account/security/totp/confirm", {
        "csrfmiddlewaretoken": csrf_token(web, "/account"), "code": "123456"})
    assert r.status_code == 400  # nothing started yet
    _, codes = enrol(web, clock)
    assert db.second_factors.find_one({})["enabled"] is True
    page = web.get("/account/security").content.decode()
    assert "10 of 10 recovery codes left" in page and codes[0] not in page
    assert "Second factor: <strong>on</strong>" in web.get("/account").content.decode()
    r = web.post("/account/security/recovery-codes.txt", {
        "csrfmiddlewaretoken": csrf_token(page), "code": [*codes, "not-a-code"]})
    assert r["Content-Disposition"] == 'attachment; filename="recovery-codes.txt"'
    assert r.content.decode().count("-") >= 30 and "not-a-code" not in r.content.decode()


def test_wrong_enrolment_code_is_a_400_with_the_field_marked(web, alice):
    web.post("/account/security/totp", {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    r = web.post("/account/security/totp/confirm", {
        "csrfmiddlewaretoken": csrf_token(web, "/account/security"), "code": "000000"})
    body = r.content.decode()
    assert r.status_code == 400 and 'aria-invalid="true"' in body and "not right" in body


def test_sensitive_changes_ask_for_the_password_and_code_again(web, alice, clock,
                                                               web_services):
    secret, codes = enrol(web, clock)
    other, _ = web_services.sessions.create_session(alice.id, "alice")
    clock.advance(minutes=11)  # the log-in's verification is too old now
    for path in ("/account/security/recovery-codes", "/account/security/totp/disable"):
        r = web.post(path, {"csrfmiddlewaretoken": csrf_token(web, "/account/security")})
        assert r.status_code == 303
        assert r["Location"] == "/account/confirm?next=%2Faccount%2Fsecurity"
    r = web.post("/account/password", {
        "csrfmiddlewaretoken": csrf_token(web, "/account"), "current_password": "correct horse",
        "new_password": "new password 1", "confirm_password": "new password 1"})
    assert r.status_code == 303 and r["Location"].startswith("/account/confirm")
    page = web.get("/account/confirm?next=/account/security").content.decode()
    assert 'autocomplete="one-time-code"' in page
    r = web.post("/account/confirm", {"csrfmiddlewaretoken": csrf_token(page),
                                      "next": "/account/security", "password": "correct horse",
                                      "code": "000000"})
    assert r.status_code == 400 and "not right" in r.content.decode()
    r = web.post("/account/confirm", {"csrfmiddlewaretoken": csrf_token(page),
                                      "next": "https://evil.example/", "password": "correct horse",
                                      "code": pyotp.TOTP(secret).at(clock())})
    assert r.status_code == 303 and r["Location"] == "/account?done=confirmed"  # no open redirect
    r = web.post("/account/security/recovery-codes",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account/security")})
    new_codes = re.findall(r"<code>([A-Z2-7-]{19})</code>", r.content.decode())
    assert r.status_code == 200 and len(new_codes) == 10 and not set(new_codes) & set(codes)
    r = web.post("/account/security/totp/disable",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account/security")})
    assert r["Location"] == "/account/security?done=off"
    assert not web_services.second_factor.factors.enabled(alice.id)
    assert not web_services.sessions.validate_session_token(other).valid  # others ended
    assert web.get("/account").status_code == 200  # this one stays


def test_a_pending_session_is_listed_as_waiting_for_the_second_factor(web, alice, clock,
                                                                     web_services):
    enrol(web, clock)
    web_services.accounts.log_in("alice", "correct horse", ip="203.0.113.5")
    assert "waiting for the second factor" in web.get("/account").content.decode()


def test_trusted_browsers_are_listed_and_forgotten(web, alice, clock, web_services):
    _, codes = enrol(web, clock)
    core = web_services
    for code in codes[:2]:
        pending = core.accounts.log_in("alice", "correct horse", ip="192.0.2.7",
                                       user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0")
        v = core.sessions.validate_session_token(pending.token)
        assert core.second_factor.verify(v.session, v.user, code, ip="192.0.2.7",
                                         user_agent="Mozilla/5.0 (X11; Linux x86_64) "
                                         "Firefox/130.0", trust=True).trusted_browser
    page = web.get("/account/security").content.decode()
    assert "Trusted browsers" in page and page.count("<td data-label=\"Browser\">") == 2
    browser_id = core.second_factor.trusted_browsers(alice)[0]["id"]
    assert f'action="/account/security/trusted/{browser_id}/forget" class="inline"' in page
    assert 'aria-label="Forget Firefox on Linux">Forget</button>' in page
    r = web.post(f"/account/security/trusted/{browser_id}/forget",
                 {"csrfmiddlewaretoken": csrf_token(page)})
    assert r.status_code == 303 and r["Location"] == "/account/security?done=forgotten"
    assert len(core.second_factor.trusted_browsers(alice)) == 1
    r = web.post("/account/security/trusted/forget",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account/security")})
    assert r["Location"] == "/account/security?done=forgotten-all"
    assert core.second_factor.trusted_browsers(alice) == []
    assert web.post("/account/security/trusted/forget", {"csrfmiddlewaretoken": csrf_token(
        web, "/account/security")}).status_code == 400  # nothing left to forget


def test_a_required_second_factor_is_enrolled_before_anything_else(web, make_core, clock,
                                                                    django_setup):
    """Issue 25, item 4: with REQUIRE_SECOND_FACTOR=on a user without one can reach only
    the enrolment (and log-out) in the web app until it is on; then it cannot be turned
    off. The landing app sends a logged-in visitor to the web app, which applies it."""
    from web import services

    core = services.configure(make_core(require_second_factor=True))
    out = core.accounts.sign_up("carla", "correct horse", ip="1")
    assert out.session.must_enrol
    web.cookies["auth_session"] = out.token
    for path in ("/", "/account", "/account/activity"):
        r = web.get(path)
        assert r.status_code == 302 and r["Location"] == "/account/security?done=required"
    page = web.get("/account/security?done=required")
    assert page.status_code == 200 and "asks every account for a second factor" in \
        page.content.decode()
    enrol(web, clock)  # the confirmation sends a new session's cookie
    assert web.cookies["auth_session"].value != out.token
    assert not core.sessions.validate_session_token(out.token).valid
    assert web.get("/").status_code == 200
    r = web.post("/account/security/totp/disable",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account/security")})
    assert r.status_code == 400 and "cannot be turned off" in r.content.decode()
    assert core.second_factor.enabled(out.user.id)
    # A later password log-in is a pending one, as usual; its code gives a full session.
    again = core.accounts.log_in("carla", "correct horse", ip="1")
    assert again.session.pending and not again.session.must_enrol
