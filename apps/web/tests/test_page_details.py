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
