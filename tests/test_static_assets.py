"""Both apps serve the theme's files the same way (theme.assets decides): the stylesheet
under a content-hashed URL, cached for a year and gzip-compressed; a favicon; robots.txt
(landing open, web closed); no session work for any of them; HTML never compressed."""

from __future__ import annotations

import gzip
import re

import pytest

from theme import STATIC_DIR

UNKNOWN_TOKEN = "A" * 43


def landing_get(client, path, **headers):
    r = client.get(path, headers=headers)
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content, r.text


def web_get(client, path, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    r = client.get(path, **extra)
    body = b"".join(r.streaming_content) if r.streaming else r.content
    headers = {k.lower(): v for k, v in r.headers.items()}
    if r.cookies:  # Django keeps Set-Cookie apart from the other headers
        headers["set-cookie"] = r.cookies.output(header="").strip()
    return r.status_code, headers, body, body.decode(errors="replace")


@pytest.fixture
def apps(landing, web):
    landing.cookies.clear()
    return {"landing": (landing, landing_get, "/", False),
            "web": (web, web_get, "/no-such-page", True)}


@pytest.mark.parametrize("app", ["landing", "web"])
def test_stylesheet_hashed_immutable_and_gzipped(apps, app):
    client, get, page, _ = apps[app]
    _, _, _, html = get(client, page)
    link = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    assert re.fullmatch(r"/static/style\.[0-9a-f]{12}\.css", link), link
    status, headers, body, _ = get(client, link, **{"Accept-Encoding": "gzip, br"})
    assert status == 200
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
    # httpx (the landing TestClient) has already undone the gzip it announced.
    plain = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    assert plain == (STATIC_DIR / "style.css").read_bytes()
    assert int(headers["content-length"]) < len(plain) / 2
    assert "set-cookie" not in headers
    status, headers, _, _ = get(client, "/static/style.0123456789ab.css")
    assert status == 404  # an old or made-up hash is not served as if it were current


@pytest.mark.parametrize("app", ["landing", "web"])
def test_pages_are_never_compressed(apps, app):
    """HTML carries CSRF tokens and user data: compressing it with attacker-chosen text
    would leak them through the size (BREACH). Only the static files are compressed."""
    client, get, page, _ = apps[app]
    _, headers, _, html = get(client, page, **{"Accept-Encoding": "gzip"})
    assert "content-encoding" not in headers
    assert re.search(r'<meta name="description" content="[^"]{20,}">', html)
    assert re.search(r'<link rel="icon" href="/static/favicon\.[0-9a-f]{12}\.svg"', html)


@pytest.mark.parametrize(("app", "rule"), [("landing", "Allow: /"), ("web", "Disallow: /")])
def test_robots_and_favicon(apps, app, rule):
    client, get, _, _ = apps[app]
    status, headers, _, text = get(client, "/robots.txt")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert text == f"User-agent: *\n{rule}\n"
    status, headers, body, _ = get(client, "/favicon.ico")
    assert status == 200 and headers["content-type"] == "image/svg+xml"
    assert body.startswith(b"<svg")


@pytest.mark.parametrize("app", ["landing", "web"])
def test_static_files_skip_the_session(apps, app):
    """An unknown session cookie on a page is answered with a blank cookie (it was looked
    up); on the static files, the favicon and robots.txt it is not even read."""
    client, get, page, _ = apps[app]
    cookie = f"auth_session={UNKNOWN_TOKEN}"
    _, headers, _, _ = get(client, page, Cookie=cookie)
    assert "auth_session=" in headers.get("set-cookie", "")
    for path in ("/static/style.css", "/favicon.ico", "/robots.txt"):
        status, headers, _, _ = get(client, path, Cookie=cookie)
        assert status == 200 and "set-cookie" not in headers, path


@pytest.mark.parametrize(("app", "page"), [("landing", "/signup"), ("web", "/account")])
def test_password_strength_module_hashed_and_served_by_both(apps, app, page, web_services):
    """The live strength hint is one theme module, referenced by its hashed URL on the
    forms where a password is chosen (sign-up, change password), never inline."""
    client, get, _, _ = apps[app]
    if app == "web":  # the change-password form is on the account page
        user = web_services.storage.users.create("alice", "-", web_services.sessions.clock())
        client.cookies["auth_session"] = web_services.sessions.create_session(
            user.id, user.username)[0]
    _, _, _, html = get(client, page)
    # Every page also loads the theme's pages.js (Copy, Print, Show password).
    sources = re.findall(r'<script type="module" src="([^"]+)"></script>', html)
    assert all(re.fullmatch(r"/static/[a-z-]+\.[0-9a-f]{12}\.js", s) for s in sources), sources
    src = next(s for s in sources if "password-strength" in s)
    assert re.fullmatch(r"/static/password-strength\.[0-9a-f]{12}\.js", src), src
    assert "<script>" not in html
    status, headers, body, _ = get(client, src, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    plain = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
    assert plain == (STATIC_DIR / "password-strength.js").read_bytes()
