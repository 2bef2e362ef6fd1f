"""Interoperability: panva's openid-client (npm, a relying party no one here wrote) runs
the code flow with PKCE against the landing app served by uvicorn on a free loopback
port, while the test plays the browser with httpx (our log-in form, our consent page)."""

import html
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest
import uvicorn

from devtools.testing.oidc import free_port

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "packages/devtools/src/devtools/testing/openid_client.mjs"
CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: the test reads the redirect
PASSWORD = "correct horse battery"


@pytest.fixture
def served(make_core):
    """The landing app in a uvicorn thread; its issuer (LANDING_URL) on that port."""
    from landing.app import create_app

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    core = make_core(landing_url=origin)
    server = uvicorn.Server(uvicorn.Config(create_app(core), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="landing-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield core, origin
    server.should_exit = True
    thread.join(10)


def browse(origin: str, url: str) -> str:
    """A browser: our log-in form, our consent page; the URL sent back to the client."""
    with httpx.Client(timeout=10, headers={"origin": origin}) as browser:
        for _ in range(10):
            r = browser.get(url)
            if r.is_redirect:
                url = urljoin(url, r.headers["location"])
                if not url.startswith(origin):
                    return url
                continue
            form = re.search(r'<form method="post" action="([^"]+)"[^>]*>(.*?)</form>',
                             r.text, re.S)
            assert form, r.text[:300]
            fields = {html.unescape(k): html.unescape(v) for k, v in re.findall(
                r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(2))}
            if 'name="password"' in form.group(2):
                fields |= {"username": "alice", "password": PASSWORD}
            else:
                fields["decision"] = "allow"
            r = browser.post(urljoin(url, html.unescape(form.group(1))), data=fields)
            assert r.is_redirect, r.text[:300]
            url = urljoin(url, r.headers["location"])
            if not url.startswith(origin):
                return url
    raise AssertionError("never sent back to the client")


def test_openid_client_code_flow_userinfo_refresh_revocation(served):
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules/openid-client").is_dir():
        pytest.skip("needs Node.js and `npm ci` (openid-client)")
    core, origin = served
    assert core.accounts.register("alice", PASSWORD).ok
    client_id, secret = core.openid.register("Partner", [CALLBACK])
    process = subprocess.Popen(
        [node, str(SCRIPT)], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "ISSUER": origin, "CLIENT_ID": client_id,
             "CLIENT_SECRET": secret, "REDIRECT_URI": CALLBACK, "NODE_NO_WARNINGS": "1"})
    try:
        first = process.stdout.readline()
        assert first, process.stderr.read()
        authorize = json.loads(first)["authorize"]
        assert authorize.startswith(f"{origin}/oauth2/authorize?")
        callback = browse(origin, authorize)
        assert callback.startswith(CALLBACK + "?code=")
        out, err = process.communicate(callback + "\n", timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    result = json.loads(out.strip().splitlines()[-1])
    assert "error" not in result, (result, err)
    user = core.storage.users.by_username("alice")
    claims = result["claims"]
    assert claims["iss"] == origin and claims["aud"] == client_id and claims["sub"] == user.id
    assert result["userinfo"]["sub"] == user.id
    assert result["userinfo"]["preferred_username"] == "alice"
    assert result["rotated"] is True
    renewed = result["refreshed_claims"]  # a new ID token on refresh (OIDC Core 12.2)
    assert renewed and renewed["sub"] == claims["sub"] and renewed["aud"] == client_id
    assert renewed["auth_time"] == claims["auth_time"] and "nonce" not in renewed
    assert result["userinfo_after_refresh"]["sub"] == user.id
    assert result["after_revocation"] == "invalid_grant"
    assert result["end_session"].startswith(f"{origin}/oauth2/logout?id_token_hint=")
