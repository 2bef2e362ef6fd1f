"""Both apps' glue applies the same auth_utils decisions: one table of requests (every
method, origin case and bad cookie) gets the same status from each app."""

from __future__ import annotations

import itertools

import pytest

from devtools.testing import LANDING, WEB

METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "TRACE"]
ORIGINS = {
    "ours": {"Origin": WEB},
    "other app": {"Origin": LANDING},
    "foreign": {"Origin": "https://evil.example"},
    "null": {"Origin": "null"},
    "referer only": {"Referer": f"{WEB}/somewhere"},
    "foreign referer": {"Referer": "https://evil.example/"},
    "none": {},
}
COOKIES = {
    "none": None,
    "unknown token": "A" * 43,
    "malformed": "not a token!",
    "oversized": "x" * 4000,
    "unicode": "\u00e9" * 43,
}
PATHS = ["/healthz", "/no-such-page"]


def landing_request(client, method, path, headers, cookie):
    client.cookies.clear()
    if cookie is not None:
        headers = {**headers, "Cookie": f"auth_session={cookie}".encode()}
    r = client.request(method, path, headers=headers)
    return r.status_code, "auth_session=;" in r.headers.get("set-cookie", "").replace('""', "")


def web_request(client, method, path, headers, cookie):
    client.cookies.clear()
    extra = {f"HTTP_{k.upper()}": v for k, v in headers.items()}
    if cookie is not None:
        # WSGI hands header bytes over as latin-1 text.
        extra["HTTP_COOKIE"] = f"auth_session={cookie}".encode().decode("latin-1")
    r = client.generic(method, path, **extra)
    morsel = r.cookies.get("auth_session")
    return r.status_code, morsel is not None and morsel.value == ""


@pytest.fixture
def both(landing, web):
    landing.headers.pop("Origin", None)
    return landing, web


def test_same_status_for_the_same_request_in_both_apps(both):
    landing, web = both
    web = type(web)(HTTP_HOST="localhost:3000", enforce_csrf_checks=True,
                    raise_request_exception=False)
    differences = []
    for method, path, (origin, headers), (kind, cookie) in itertools.product(
            METHODS, PATHS, ORIGINS.items(), COOKIES.items()):
        got = landing_request(landing, method, path, headers, cookie), \
            web_request(web, method, path, headers, cookie)
        if got[0] != got[1]:
            differences.append(f"{method} {path} origin={origin} cookie={kind}: "
                               f"landing {got[0]} web {got[1]}")
    assert not differences, f"{len(differences)} differ:\n" + "\n".join(differences[:40])


@pytest.mark.parametrize("length", ["70000", "abc", "-1"])
def test_same_refusal_of_bodies_in_both_apps(both, length):
    landing, web = both
    headers = {"Origin": WEB, "Content-Length": length,
               "Content-Type": "application/x-www-form-urlencoded"}
    status_landing = landing.post("/login", headers=headers, content=b"").status_code
    status_web = web.generic("POST", "/logout", b"", HTTP_ORIGIN=WEB,
                             CONTENT_LENGTH=length,
                             CONTENT_TYPE="application/x-www-form-urlencoded").status_code
    assert status_landing == status_web in (400, 413)
