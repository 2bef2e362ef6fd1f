"""The partner app against our real provider: the landing app and the partner each served
by uvicorn on a free loopback port (the provider on 127.0.0.1, the partner on localhost:
two hosts, two cookie jars), a browser played by httpx. The log-in shows the user's name;
the provider's back channel (its real logout sender, over HTTP) ends the partner's
session; hostile callbacks, log-outs and Logout Tokens are refused with a 4xx."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
import uvicorn
from joserfc import jwt
from joserfc.jwk import ECKey

from devtools.dbserver import free_port
from devtools.partner import client_fields
from devtools.testing import wait_for
from devtools.testing.journeys import authorize_as
from partner.app import Config, create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def system(served_landing):
    """(core, provider origin, partner URL): the partner registered as dev registers it."""
    core, origin = served_landing
    assert core.accounts.register("alice", PASSWORD).ok
    port = free_port()
    url = f"http://localhost:{port}"
    client_id, secret = core.openid.register(**client_fields(url))
    server = uvicorn.Server(uvicorn.Config(create_app(Config(url, origin, client_id, secret)),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="partner-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield core, origin, url
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser():
    with httpx.Client(timeout=10) as client:
        yield client


def log_in(browser, origin: str, url: str) -> None:
    r = browser.get(f"{url}/login")
    assert r.status_code == 302 and r.headers["location"].startswith(
        f"{origin}/oauth2/authorize?"), r.text[:300]
    callback = authorize_as(browser, origin, r.headers["location"], "alice", PASSWORD)
    assert callback.startswith(f"{url}/callback?code="), callback
    r = browser.get(callback)
    assert r.status_code == 303, r.text[:300]
    assert "Hello, alice!" in browser.get(f"{url}/").text


def logged_out(browser, url: str) -> bool:
    return 'href="/login"' in browser.get(f"{url}/").text


def test_log_in_then_the_back_channel_logs_out(system, browser):
    core, origin, url = system
    log_in(browser, origin, url)
    # Each site's cookie is its host's only (host-only cookies, no Domain attribute).
    jar = {(c.domain, c.name, c.domain_specified) for c in browser.cookies.jar}
    assert ("localhost.local", "partner_session", False) in jar
    assert ("127.0.0.1", "auth_session", False) in jar
    assert {name for domain, name, _ in jar if domain == "localhost.local"} == \
        {"partner_session"}
    user = core.storage.users.by_username("alice")
    started = time.monotonic()
    assert core.sessions.invalidate_user_sessions(user.id) == 1  # e.g. a password change
    assert wait_for(lambda: logged_out(browser, url), timeout=15), "still logged in"
    print(f"partner logged out {time.monotonic() - started:.2f} s after the session ended")
    # Logging in again needs the provider again (its session is gone): no consent twice.
    r = browser.get(f"{url}/login")
    assert browser.get(r.headers["location"]).headers["location"].startswith(
        f"{origin}/login?")


def test_rp_initiated_logout_ends_both_sessions(system, browser):
    core, origin, url = system
    log_in(browser, origin, url)
    # From another site: refused, nothing ends.
    r = browser.post(f"{url}/logout", headers={"origin": "https://evil.test"})
    assert r.status_code == 403 and not logged_out(browser, url)
    r = browser.post(f"{url}/logout", headers={"origin": url})
    assert r.status_code == 302
    end_session = r.headers["location"]
    assert end_session.startswith(f"{origin}/oauth2/logout?id_token_hint=")
    r = browser.get(end_session)  # the provider: the hint names its user, no question
    assert r.status_code == 302 and r.headers["location"].startswith(f"{url}/")
    assert logged_out(browser, url)
    user = core.storage.users.by_username("alice")
    assert core.sessions.invalidate_user_sessions(user.id) == 0  # the provider's ended too


def test_hostile_callbacks_are_refused(system, browser):
    _, origin, url = system
    r = browser.get(f"{url}/login")
    back = authorize_as(browser, origin, r.headers["location"], "alice", PASSWORD)
    cases = {
        "no iss (RFC 9207)": back.replace("&iss=", "&was_iss="),
        "another issuer": back.split("&iss=")[0] + "&iss=https%3A%2F%2Fevil.test",
        "another state": back.replace("state=", "state=x"),
        "no code": f"{url}/callback?state=x&iss={origin}",
        "an error answer": f"{url}/callback?error=access_denied&iss={origin}",
    }
    for what, callback in cases.items():
        r = browser.get(callback)
        assert 400 <= r.status_code < 500, (what, r.status_code, r.text[:200])
    assert browser.get(back).status_code == 303  # the real answer still works once
    assert browser.get(back).status_code == 400  # and once only (its state is used up)


def test_hostile_logout_tokens_are_refused_and_end_nothing(system, browser):
    core, origin, url = system
    log_in(browser, origin, url)
    endpoint = f"{url}/backchannel-logout"
    record = core.storage.oauth.list_clients()[0]
    kid = core.openid.keys.current().kid
    user = core.storage.users.by_username("alice")
    forged = jwt.encode(
        {"alg": "ES256", "kid": kid, "typ": "logout+jwt"},
        {"iss": origin, "aud": record.id, "iat": int(time.time()),
         "exp": int(time.time()) + 60, "jti": "x", "sub": user.id,
         "events": {"http://schemas.openid.net/event/backchannel-logout": {}}},
        ECKey.generate_key("P-256"), algorithms=["ES256"])
    unknown_key = jwt.encode({"alg": "ES256", "kid": "nope", "typ": "logout+jwt"},
                             {"sub": user.id}, ECKey.generate_key("P-256"),
                             algorithms=["ES256"])
    bodies = {"no token": {}, "empty": {"logout_token": ""},
              "garbage": {"logout_token": "a.b.c"}, "forged": {"logout_token": forged},
              "unknown key": {"logout_token": unknown_key}}
    for what, data in bodies.items():
        r = httpx.post(endpoint, data=data)
        assert r.status_code == 400, (what, r.status_code, r.text)
        assert r.headers["cache-control"] == "no-store"
    r = httpx.post(endpoint, content=b"logout_token=" + b"a" * 20_000,
                   headers={"content-type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert not logged_out(browser, url)  # nothing ended
