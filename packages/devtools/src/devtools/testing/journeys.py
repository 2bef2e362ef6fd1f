"""A user's steps over HTTP against both apps as real processes (httpx clients): post a
form as a browser would, turn the second factor on in the web app, the next TOTP code,
log in at our OpenID Connect provider for a client."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import urljoin

import pyotp

from devtools.testing.helpers import csrf_token

__all__ = ["authorize_as", "enrol_totp", "next_step_code", "post", "sign_up_with_address"]

_FORM = re.compile(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def authorize_as(browser, origin: str, url: str, username: str, password: str, *,
                 decision: str = "allow") -> str:
    """A browser (an httpx client, its own cookies) follows an authorization URL of our
    provider at `origin` through our log-in form and consent page (`decision`); the URL
    the provider sent it back to, on the client (not requested)."""
    for _ in range(10):
        r = browser.get(url)
        if r.is_redirect:
            url = urljoin(url, r.headers["location"])
            if not url.startswith(origin):
                return url
            continue
        form = _FORM.search(r.text)
        assert form, r.text[:300]
        fields = {html.unescape(k): html.unescape(v)
                  for k, v in _HIDDEN.findall(form.group(2))}
        if 'name="password"' in form.group(2):
            fields |= {"username": username, "password": password}
        else:
            fields["decision"] = decision
        r = post(browser, urljoin(url, html.unescape(form.group(1))), fields, origin)
        assert r.is_redirect, r.text[:300]
        url = urljoin(url, r.headers["location"])
        if not url.startswith(origin):
            return url
    raise AssertionError("never sent back to the client")


def post(client, url: str, data: dict, origin: str):
    """A form's POST with the `Origin` header a browser sends."""
    return client.post(url, data=data, headers={"Origin": origin})


def enrol_totp(client, web_url: str, at: float | None = None) -> tuple[str, list[str]]:
    """Turn the second factor on in the web app as a user would (the client is logged
    in), with the code of the time `at` (default now; `time.time() - 30`, the step before,
    is accepted too and leaves this step's and the next one's codes unused); (secret,
    recovery codes)."""
    W = web_url
    r = post(client, f"{W}/account/security/totp",
             {"csrfmiddlewaretoken": csrf_token(client, f"{W}/account/security")}, W)
    assert r.status_code == 303
    page = client.get(f"{W}/account/security").text
    assert "<svg" in page and 'autocomplete="one-time-code"' in page  # the QR code, inline
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    code = pyotp.TOTP(secret).at(at or time.time())
    r = post(client, f"{W}/account/security/totp/confirm",
             {"csrfmiddlewaretoken": csrf_token(page), "code": code}, W)
    assert r.status_code == 200
    codes = re.findall(r"<code>([A-Z2-7]{4}(?:-[A-Z2-7]{4}){3})</code>", r.text)
    assert len(codes) == 10
    return secret, codes


def next_step_code(secret: str) -> str:
    """The code of the step after this one (accepted: one step of drift), so a code used a
    moment ago in this step is not a replay."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def sign_up_with_address(client, system, smtp, username: str, address: str,
                         password: str = "correct horse") -> None:  # noqa: S107
    """Sign up on the landing app with `address`, then follow the verification link
    mailed to it (to `smtp`, a devtools.mailserver.MailServer) as its owner would: GET
    shows what would be confirmed, POST confirms. The client is logged in afterwards."""
    from devtools.testing.helpers import mailed_link

    L = system.landing_url
    r = post(client, f"{L}/signup", {"username": username, "password": password,
                                     "email": address}, L)
    assert r.status_code == 303, r.text
    link = mailed_link(smtp, address, "/email/verify/")
    assert client.get(link).status_code == 200
    r = post(client, link, {}, L)
    assert r.status_code == 200 and "is now the verified address" in r.text
