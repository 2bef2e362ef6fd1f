"""What a person meets on the web app's pages beyond the contract (issue 27): code fields
that take recovery codes keep the letters on a phone's keyboard, the authenticator key and
recovery codes can be copied and kept, an enrolment can be cancelled half-way."""

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


def input_tag(page: str, field_id: str) -> str:
    found = re.search(rf'<input[^>]*\bid="{field_id}"[^>]*>', page)
    assert found, f"no #{field_id} on the page"
    return found.group(0)


def start_enrolment(web) -> str:
    web.post("/account/security/totp", {"csrfmiddlewaretoken": csrf_token(web,
                                                                          "/account/security")})
    return web.get("/account/security").content.decode()


def enrol(web, clock) -> tuple[str, str]:
    page = start_enrolment(web)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    r = web.post("/account/security/totp/confirm", {
        "csrfmiddlewaretoken": csrf_token(page), "code": pyotp.TOTP(secret).at(clock())})
    assert r.status_code == 200
    return secret, r.content.decode()


def test_the_confirm_page_code_field_keeps_the_letters(web, alice, clock):
    enrol(web, clock)
    page = web.get("/account/confirm?next=/account/security").content.decode()
    tag = input_tag(page, "code")
    assert "inputmode" not in tag, tag
    assert 'autocapitalize="none"' in tag and "code-hint" in tag
    r = web.post("/account/confirm", {"csrfmiddlewaretoken": csrf_token(page),
                                      "next": "/account/security", "password": "correct horse",
                                      "code": "000000"})
    assert r.status_code == 400 and "inputmode" not in input_tag(r.content.decode(), "code")


def test_the_key_breaks_only_between_groups_can_be_copied_and_the_set_up_cancelled(
        web, alice, db):
    from theme import STATIC_DIR

    css = (STATIC_DIR / "style.css").read_text()
    rule = re.search(r"code\.secret\s*\{[^}]*\}", css).group(0)
    assert "break-all" not in rule and "word-break: normal" in rule
    page = start_enrolment(web)
    assert re.search(r'id="totp-secret">[A-Z2-7]{4}( [A-Z2-7]{4})+<', page)
    assert re.search(r'<button type="button"[^>]*data-copy="totp-secret"[^>]*>Copy', page)
    assert re.search(r'<script type="module" src="/static/pages\.[0-9a-f]{12}\.js">', page)
    assert 'action="/account/security/totp/cancel"' in page
    assert db.second_factors.count_documents({}) == 1
    r = web.post("/account/security/totp/cancel",
                 {"csrfmiddlewaretoken": csrf_token(page)})
    assert r.status_code == 303 and r["Location"] == "/account/security?done=cancelled"
    assert db.second_factors.count_documents({}) == 0  # the key is forgotten
    page = web.get(r["Location"]).content.decode()
    assert "stays off" in page and "totp-secret" not in page
    r = web.post("/account/security/totp/cancel", {"csrfmiddlewaretoken": csrf_token(page)})
    assert r.status_code == 400  # nothing to cancel


def test_cancel_never_turns_an_enabled_second_factor_off(web, alice, clock, db):
    enrol(web, clock)
    r = web.post("/account/security/totp/cancel",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account/security")})
    assert r.status_code == 400
    assert db.second_factors.find_one({})["enabled"] is True


def test_recovery_codes_can_be_copied_printed_and_must_be_said_saved(web, alice, clock):
    _, page = enrol(web, clock)
    assert re.search(r'<button type="button"[^>]*data-copy="recovery-codes"[^>]*>Copy', page)
    assert re.search(r'<button type="button"[^>]*data-print[^>]*>Print', page)
    saved = re.search(r'<form method="get" action="/account/security"[^>]*>(.*?)</form>',
                      page, re.S)
    assert saved, "no 'I have saved them' step"
    assert re.search(r'<input type="checkbox" id="saved"[^>]*required', saved.group(1))
    assert "I have saved these codes" in saved.group(1)
    assert 'href="/account/security">Done' not in page  # no way out that skips it
    done = web.get("/account/security?done=codes-saved&saved=yes").content.decode()
    assert "recovery codes are saved" in done


def test_a_skip_link_the_current_page_and_focus_on_a_success_notice(web, alice):
    page = web.get("/account").content.decode()
    assert page.split("<body>")[1].lstrip().startswith(
        '<a class="skip-link" href="#main">Skip to content</a>')
    assert '<main id="main"' in page
    assert re.search(r'<a href="/account" aria-current="page">Account</a>', page)
    security = web.get("/account/security").content.decode()
    assert 'aria-current="page"' not in security  # a page under it, not the page itself
    assert 'aria-current="location">Account</a>' in security
    done = web.get("/account/security?done=forgotten-all").content.decode()
    assert re.search(r'<p class="notice" role="status" id="notice" tabindex="-1" autofocus>',
                     done)
    assert done.count("autofocus") == 1


def test_this_browser_is_listed_first_among_the_sessions(web, alice, web_services, clock):
    for _ in range(3):
        clock.advance(minutes=1)
        web_services.sessions.create_session(alice.id, "alice")
    page = web.get("/account").content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", page.split('id="sessions-heading"')[1], re.S)
    rows = [r for r in rows if "<td" in r]
    assert len(rows) == 4
    assert "this browser" in rows[0] and all("this browser" not in r for r in rows[1:])


def test_activity_is_grouped_by_day_without_session_hashes(web, alice, web_services, clock):
    from auth_utils.services.activity import Actor, Kind, session_ref

    activity = web_services.activity
    clock.advance(days=-3)
    activity.record(Kind.LOGIN, Actor(alice.id, "alice", ip="192.0.2.1", session_id="other"))
    clock.advance(days=3)
    for n in range(3):
        clock.advance(seconds=1)
        activity.record(Kind.LOGIN_FAILED, Actor(alice.id, "alice", ip=f"198.51.100.{n}"),
                        success=False)
    page = web.get("/account/activity").content.decode()
    headings = re.findall(r'<h2 id="day-\d+"><time datetime="([\d-]+)">([^<]+)</time></h2>',
                          page)
    assert len(headings) == 2 and headings[0][1] == "Today"
    assert re.fullmatch(r"[A-Z][a-z]+day \d{1,2} [A-Z][a-z]+ \d{4}", headings[1][1])
    today = page.split('id="day-1"')[1].split('id="day-2"')[0]
    assert today.count('<li class="event">') == 3 and "192.0.2.1" not in today
    assert session_ref("other") not in page and "<code>" not in page  # no raw hashes


def test_the_security_page_is_as_wide_as_the_account_page_with_calmer_buttons(
        web, alice, web_services, clock):
    for name in ("My laptop", "Work key"):
        web_services.storage.passkeys.add(id=f"cred-{name}", user_id=alice.id, public_key="k",
                                          name=name, created_at=clock(), sign_count=0)
    page = web.get("/account/security").content.decode()
    assert re.search(r'<main id="main" class="wide">', page)
    main = page.split("<main")[1]
    buttons = re.findall(r"<button([^>]*)>", main)
    primary = [b for b in buttons if not re.search(r'class="[^"]*(secondary|danger)', b)]
    assert len(primary) == 1, primary  # one primary action, not two competing
    for name in ("My laptop", "Work key"):
        assert re.search(rf'<button type="submit" class="danger secondary" '
                         rf'aria-label="Remove {name}">Remove</button>', main)
        assert f'aria-label="Rename {name}">Rename</button>' in main
        assert f'<form method="post" action="/account/passkeys/cred-{name}/remove" ' \
               'class="inline">' in main
    assert 'data-passkey-unavailable' not in main  # passkeys listed: no such sentence
    web_services.storage.passkeys.delete(alice.id, "cred-My laptop")
    web_services.storage.passkeys.delete(alice.id, "cred-Work key")
    page = web.get("/account/security").content.decode()
    assert "<span data-passkey-unavailable>Passkeys need JavaScript" in page  # hidden by JS


def test_confirm_it_is_you_with_a_passkey(web, alice, web_services, clock):
    import json

    from auth_utils import SessionUser
    from devtools.testing import WEB, SoftAuthenticator

    core, me = web_services, SessionUser(alice.id, "alice")
    device = SoftAuthenticator(origin=WEB)
    options = core.passkeys.passkeys.registration_options(alice.id, "alice")
    session = core.sessions.validate_session_token(web.cookies["auth_session"].value).session
    assert core.passkeys.add(session, me, json.dumps(device.register(options)), "laptop").ok
    clock.advance(minutes=11)  # the log-in's verification is too old now
    start = {"csrfmiddlewaretoken": csrf_token(web, "/account/security")}
    r = web.post("/account/security/totp", start)
    assert r["Location"].startswith("/account/confirm")
    page = web.get("/account/confirm?next=/account/security").content.decode()
    assert 'data-verify="/account/confirm/passkey"' in page and "Use a passkey" in page
    token = csrf_token(page)
    stranger = SoftAuthenticator(origin=WEB)  # a passkey that is not alice's
    options = web.post("/account/confirm/passkey/options", HTTP_X_CSRFTOKEN=token).content
    r = web.post("/account/confirm/passkey", json.dumps(
        {"credential": stranger.assert_(options.decode()), "next": "/account/security"}),
        content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 400 and "error" in r.json()
    options = web.post("/account/confirm/passkey/options", HTTP_X_CSRFTOKEN=token).content
    r = web.post("/account/confirm/passkey", json.dumps(
        {"credential": device.assert_(options.decode()), "next": "/account/security"}),
        content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200, r.content
    assert r.json() == {"redirect": "/account/security?done=confirmed"}
    r = web.post("/account/security/totp", start)
    assert r["Location"] == "/account/security#enrol"  # no password asked this time
