"""Our own OpenID Connect provider driven through the core, without HTTP: for tests of an
app or a flow that needs a client to hold a consent and tokens (the web app's account
page, auth-admin) without running the landing app's endpoints. The real flow runs:
`core.openid.authorize` with the user's session (allowing on the consent step), then the
token endpoint's logic with PKCE."""

from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlsplit

__all__ = ["grant_tokens", "pkce_pair", "token_request"]


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def grant_tokens(core, session_token: str, client_id: str, redirect_uri: str, *,
                 secret: str | None = None, scope: str = "openid profile") -> dict:
    """The tokens a client gets for the user of `session_token` (consent given if asked):
    the token endpoint's JSON answer, which must be a 200."""
    from auth_utils.flows.provider import OAuthRequest

    issuer = core.openid.issuer
    verifier, challenge = pkce_pair()
    params = {"response_type": ["code"], "client_id": [client_id],
              "redirect_uri": [redirect_uri], "scope": [scope], "state": ["st"],
              "code_challenge": [challenge], "code_challenge_method": ["S256"]}
    validation = core.sessions.validate_session_token(session_token)
    found = core.openid.authorize(OAuthRequest("GET", f"{issuer}/oauth2/authorize", {},
                                               params), validation)
    if found.action == "consent":
        found = core.openid.authorize(OAuthRequest("POST", f"{issuer}/oauth2/authorize", {},
                                                   params), validation, decision="allow")
    assert found.action == "redirect" and found.location.startswith(redirect_uri), found
    code = parse_qs(urlsplit(found.location).query)["code"][0]
    answer = token_request(core, client_id, secret, grant_type="authorization_code",
                           code=code, redirect_uri=redirect_uri, code_verifier=verifier)
    assert answer.status == 200, answer.body
    return answer.body


def token_request(core, client_id: str, secret: str | None, **fields: str):
    """The token endpoint's answer (`Answer`: status, body) to a form of `fields`, the
    client authenticating by `client_secret_post` (or as a public client)."""
    from auth_utils.flows.provider import OAuthRequest

    form = {k: [v] for k, v in fields.items()} | {"client_id": [client_id]}
    if secret:
        form["client_secret"] = [secret]
    return core.openid.token(OAuthRequest(
        "POST", f"{core.openid.issuer}/oauth2/token",
        {"content-type": "application/x-www-form-urlencoded"}, form))
