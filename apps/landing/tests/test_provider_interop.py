"""Interoperability: panva's openid-client (npm, a relying party no one here wrote) runs
the code flow with PKCE against the landing app served by uvicorn on a free loopback
port, while the test plays the browser with httpx (our log-in form, our consent page)."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from devtools.testing.journeys import authorize_as

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "packages/devtools/src/devtools/testing/openid_client.mjs"
CALLBACK = "http://127.0.0.1:9/callback"  # never contacted: the test reads the redirect
PASSWORD = "correct horse battery"


def test_openid_client_code_flow_userinfo_refresh_revocation(served_landing):
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules/openid-client").is_dir():
        pytest.skip("needs Node.js and `npm ci` (openid-client)")
    core, origin = served_landing
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
        with httpx.Client(timeout=10) as browser:
            callback = authorize_as(browser, origin, authorize, "alice", PASSWORD)
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
