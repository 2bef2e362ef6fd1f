"""The landing app as an OpenID Connect provider, driven over HTTP in process: the code
flow with PKCE through our own log-in, consent, refresh rotation, and hostile requests
(each refused with the right OAuth error, no token issued, nothing 5xx)."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from auth_utils import SessionUser
from devtools.testing import LANDING

CALLBACK = "https://partner.test/callback"
PASSWORD = "correct horse battery"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


@pytest.fixture
def core(landing_app):
    return landing_app.state.core


@pytest.fixture
def partner(core):
    """A confidential client that is not first-party (its users are asked to consent)."""
    client_id, secret = core.openid.register("Partner", [CALLBACK])
    return client_id, secret


@pytest.fixture
def user(core, landing):
    assert core.accounts.register("alice", PASSWORD).ok
    return core.storage.users.by_username("alice")


def authorize_params(client_id, challenge, **extra):
    return {"response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
            "scope": "openid profile", "state": "st-123", "nonce": "n-456",
            "code_challenge": challenge, "code_challenge_method": "S256", **extra}


def log_in_and_authorize(landing, client_id, challenge, *, consent="allow", **extra):
    """Drive a browser through authorize -> our log-in -> consent -> the callback URL."""
    r = landing.get("/oauth2/authorize?" + urlencode(authorize_params(client_id, challenge,
                                                                        **extra)))
    if r.status_code == 302 and r.headers["location"].startswith(LANDING + "/login?"):
        next_url = parse_qs(urlsplit(r.headers["location"]).query)["next"][0]
        r = landing.post("/login", data={"username": "alice", "password": PASSWORD,
                                         "next": next_url})
        assert r.status_code == 303 and r.headers["location"] == next_url, r.text[:300]
        r = landing.get(next_url)
    if r.status_code == 200 and "consent" not in extra:
        assert "Allow Partner" in r.text
        fields = authorize_params(client_id, challenge, **extra)
        r = landing.post("/oauth2/authorize", data={**fields, "decision": consent})
    assert r.status_code in (302, 303), r.text[:300]
    return r.headers["location"]


def code_of(location: str) -> str:
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(CALLBACK), location
    assert query["state"] == ["st-123"] and query["iss"] == [LANDING]  # RFC 9207
    return query["code"][0]


def exchange(landing, client, code, verifier, redirect_uri=CALLBACK):
    return landing.post("/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "code_verifier": verifier}, auth=client, headers={"origin": "https://partner.test"})


def refresh(landing, client, token):
    return landing.post("/oauth2/token", data={"grant_type": "refresh_token",
                                               "refresh_token": token}, auth=client)


def test_discovery_and_keys(landing):
    meta = landing.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == LANDING
    assert meta["authorization_endpoint"] == f"{LANDING}/oauth2/authorize"
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "implicit" not in meta["grant_types_supported"]
    assert "password" not in meta["grant_types_supported"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    keys = landing.get("/oauth2/jwks").json()["keys"]
    assert keys and all(k["kid"] and "d" not in k for k in keys)


def test_code_flow_consent_tokens_userinfo_refresh(landing, core, partner, user, db):
    verifier, challenge = pkce()
    location = log_in_and_authorize(landing, partner[0], challenge)
    r = exchange(landing, partner, code_of(location), verifier)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert r.headers["cache-control"] == "no-store"
    claims = jwt.decode(tokens["id_token"], KeySet.import_key_set(
        landing.get("/oauth2/jwks").json())).claims
    assert claims["iss"] == LANDING and claims["aud"] == partner[0]
    assert claims["sub"] == user.id and claims["nonce"] == "n-456"
    assert claims["preferred_username"] == "alice" and claims["auth_time"] and claims["sid"]
    info = landing.get("/oauth2/userinfo",
                       headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.json() == {"sub": user.id, "preferred_username": "alice", "name": "alice"}
    assert db.oauth_consents.count_documents({"user_id": user.id}) == 1
    assert db.security_events.count_documents({"kind": "client_authorized"}) == 1
    # Nothing stored works as a token: only hashes are kept.
    assert db.oauth_tokens.find_one({"_id": tokens["access_token"]}) is None

    rotated = refresh(landing, partner, tokens["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["refresh_token"] != tokens["refresh_token"]

    # Consent is remembered: the next authorization goes straight back to the client.
    _, challenge2 = pkce()
    r = landing.get("/oauth2/authorize?" + urlencode(authorize_params(partner[0], challenge2)))
    assert r.status_code == 302 and code_of(r.headers["location"])


def test_refresh_gives_a_new_id_token_of_the_same_log_in(landing, partner, user, clock):
    """OpenID Connect Core 12.2: same iss, sub, aud, sid; auth_time of the log-in (not
    of the refresh); a new iat/exp; no nonce."""
    clock.advance(hours=-1)  # the log-in an hour before the real time ID tokens carry
    verifier, challenge = pkce()
    first = exchange(landing, partner, code_of(log_in_and_authorize(
        landing, partner[0], challenge)), verifier).json()
    keys = KeySet.import_key_set(landing.get("/oauth2/jwks").json())
    before = jwt.decode(first["id_token"], keys).claims
    rotated = refresh(landing, partner, first["refresh_token"]).json()
    assert "id_token" in rotated, rotated
    after = jwt.decode(rotated["id_token"], keys).claims
    for claim in ("iss", "sub", "aud", "sid", "auth_time", "preferred_username"):
        assert after[claim] == before[claim], claim
    assert after["auth_time"] <= int(clock().timestamp()) < after["iat"] - 3000
    assert after["iat"] >= before["iat"] and after["exp"] == after["iat"] + 600
    assert "nonce" not in after and before["nonce"] == "n-456"
    assert rotated["id_token"] != first["id_token"]
    # A refresh that narrows the scope to no `openid` gets no ID token.
    narrowed = landing.post("/oauth2/token", data={
        "grant_type": "refresh_token", "refresh_token": rotated["refresh_token"],
        "scope": "profile"}, auth=partner)
    assert narrowed.status_code == 200 and "id_token" not in narrowed.json()


def test_denied_consent_goes_back_with_access_denied(landing, partner, user):
    _, challenge = pkce()
    location = log_in_and_authorize(landing, partner[0], challenge, consent="deny")
    query = parse_qs(urlsplit(location).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["st-123"]
    assert query["iss"] == [LANDING] and "code" not in query


def test_first_party_client_is_not_asked_and_public_client_needs_no_secret(
        landing, core, user):
    client_id, secret = core.openid.register("Ours", [CALLBACK], public=True,
                                             first_party=True)
    assert secret is None
    verifier, challenge = pkce()
    r = landing.post("/login", data={"username": "alice", "password": PASSWORD})
    r = landing.get("/oauth2/authorize?" + urlencode(authorize_params(client_id, challenge)))
    assert r.status_code == 302
    r = landing.post("/oauth2/token", data={
        "grant_type": "authorization_code", "code": code_of(r.headers["location"]),
        "redirect_uri": CALLBACK, "code_verifier": verifier, "client_id": client_id})
    assert r.status_code == 200 and r.json()["id_token"]


def test_pending_second_factor_is_not_logged_in(landing, core, partner, user, db):
    core.openid.register("x", [CALLBACK])  # unrelated client
    session = core.sessions.create_session(user.id, "alice", pending=True)[0]
    landing.cookies.set("auth_session", session)
    _, challenge = pkce()
    r = landing.get("/oauth2/authorize?" + urlencode(authorize_params(partner[0], challenge)))
    assert r.status_code == 302 and r.headers["location"].startswith(LANDING + "/login?")
    assert db.oauth_codes.count_documents({}) == 0


def test_prompt_login_and_max_age_force_a_fresh_log_in(landing, partner, user, clock):
    landing.post("/login", data={"username": "alice", "password": PASSWORD})
    _, challenge = pkce()
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        clock.advance(seconds=5)
        r = landing.get("/oauth2/authorize?" + urlencode(
            authorize_params(partner[0], challenge, **extra)))
        assert r.status_code == 302 and r.headers["location"].startswith(LANDING + "/login?")
        assert "reauth=1" in r.headers["location"]
        page = landing.get(r.headers["location"])
        assert page.status_code == 200 and 'name="password"' in page.text  # asked again
    r = landing.get("/oauth2/authorize?" + urlencode(
        authorize_params(partner[0], challenge, prompt="none")))
    assert parse_qs(urlsplit(r.headers["location"]).query)["error"] == ["consent_required"]


@pytest.mark.parametrize("change, error", [
    ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"scope": "profile"}, "invalid_scope"),
])
def test_bad_authorization_requests_go_back_with_an_error(landing, partner, user, change,
                                                          error, db):
    landing.post("/login", data={"username": "alice", "password": PASSWORD})
    _, challenge = pkce()
    params = {k: v for k, v in {**authorize_params(partner[0], challenge), **change}.items()
              if v is not None}
    r = landing.get("/oauth2/authorize?" + urlencode(params))
    assert r.status_code == 302, r.text[:300]
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert r.headers["location"].startswith(CALLBACK)
    assert query["error"] == [error] and query["state"] == ["st-123"]
    assert query["iss"] == [LANDING] and "code" not in query
    assert db.oauth_codes.count_documents({}) == 0


@pytest.mark.parametrize("change", [
    {"redirect_uri": "https://evil.test/callback"},
    {"redirect_uri": CALLBACK + "/"},  # exact match: no prefix, no normalisation
    {"redirect_uri": CALLBACK + "?x=1"},
    {"redirect_uri": None},
    {"client_id": "nobody"},
    {"client_id": None},
    {"state": "s" * 5000},
])
def test_untrusted_redirects_get_an_error_page_never_a_redirect(landing, partner, user,
                                                               change):
    landing.post("/login", data={"username": "alice", "password": PASSWORD})
    _, challenge = pkce()
    params = {k: v for k, v in {**authorize_params(partner[0], challenge), **change}.items()
              if v is not None}
    r = landing.get("/oauth2/authorize?" + urlencode(params))
    assert r.status_code == 400 and "location" not in r.headers
    assert "evil.test" not in r.text


def test_replayed_code_is_refused_and_revokes_its_tokens(landing, partner, user, db):
    verifier, challenge = pkce()
    code = code_of(log_in_and_authorize(landing, partner[0], challenge))
    tokens = exchange(landing, partner, code, verifier).json()
    again = exchange(landing, partner, code, verifier)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert "access_token" not in again.json()
    info = landing.get("/oauth2/userinfo",
                       headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 401
    assert refresh(landing, partner, tokens["refresh_token"]).json()["error"] == \
        "invalid_grant"
    assert db.security_events.count_documents({"kind": "token_reuse"}) == 1


def test_reused_refresh_token_revokes_the_family(landing, partner, user, db):
    verifier, challenge = pkce()
    code = code_of(log_in_and_authorize(landing, partner[0], challenge))
    first = exchange(landing, partner, code, verifier).json()
    second = refresh(landing, partner, first["refresh_token"]).json()
    stolen = refresh(landing, partner, first["refresh_token"])  # used once already
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"
    # The legitimate holder's newer tokens are gone too: the family is revoked.
    assert refresh(landing, partner, second["refresh_token"]).json()["error"] == \
        "invalid_grant"
    assert landing.get("/oauth2/userinfo", headers={
        "authorization": f"Bearer {second['access_token']}"}).status_code == 401


def test_code_verifier_redirect_uri_and_client_must_match(landing, core, partner, user, db):
    other = core.openid.register("Other", [CALLBACK])
    verifier, challenge = pkce()
    code = code_of(log_in_and_authorize(landing, partner[0], challenge))
    # Another client presenting the code (with its own valid credentials): refused.
    r = exchange(landing, other, code, verifier)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # A wrong secret: invalid_client.
    r = exchange(landing, (partner[0], "wrong"), code, verifier)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    # No verifier, then a wrong redirect URI: refused, and the code is used up either way.
    r = landing.post("/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": CALLBACK}, auth=partner)
    assert r.status_code == 400 and r.json()["error"] in ("invalid_request", "invalid_grant")
    verifier2, challenge2 = pkce()
    code2 = code_of(log_in_and_authorize(landing, partner[0], challenge2))
    r = exchange(landing, partner, code2, verifier2, redirect_uri=CALLBACK + "/x")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    _, challenge3 = pkce()
    code3 = code_of(log_in_and_authorize(landing, partner[0], challenge3))
    r = exchange(landing, partner, code3, verifier)  # another request's verifier
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert db.oauth_tokens.count_documents({}) == 0
    # Unsupported grants: the password grant does not exist here.
    r = landing.post("/oauth2/token", data={"grant_type": "password", "username": "alice",
                                            "password": PASSWORD}, auth=partner)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_an_ended_session_ends_its_tokens(landing, core, partner, user):
    verifier, challenge = pkce()
    code = code_of(log_in_and_authorize(landing, partner[0], challenge))
    tokens = exchange(landing, partner, code, verifier).json()
    # "Log out everywhere" (or a password change, a disabled account...) in any app:
    core.accounts.revoke_other_sessions(SessionUser(user.id, "alice"), keep=None)
    assert refresh(landing, partner, tokens["refresh_token"]).json()["error"] == \
        "invalid_grant"
    assert landing.get("/oauth2/userinfo", headers={
        "authorization": f"Bearer {tokens['access_token']}"}).status_code == 401


def test_revocation_and_rp_initiated_logout(landing, core, partner, user, db):
    verifier, challenge = pkce()
    code = code_of(log_in_and_authorize(landing, partner[0], challenge))
    tokens = exchange(landing, partner, code, verifier).json()
    r = landing.post("/oauth2/revoke", data={"token": tokens["refresh_token"]}, auth=partner)
    assert r.status_code == 200
    assert refresh(landing, partner, tokens["refresh_token"]).json()["error"] == \
        "invalid_grant"
    # A bare link to the log-out endpoint asks first (no id_token_hint)...
    r = landing.get("/oauth2/logout")
    assert r.status_code == 200 and "Log out?" in r.text
    assert core.sessions.list_user_sessions(user.id)
    # ...and with the user's ID token it logs out and ends the session.
    r = landing.get("/oauth2/logout?" + urlencode({"id_token_hint": tokens["id_token"]}))
    assert r.status_code == 302 and "auth_session=" in r.headers["set-cookie"]
    assert not core.sessions.list_user_sessions(user.id)


def form_action(response) -> set[str]:
    policy = response.headers["content-security-policy"]
    directive = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    return set(directive.split()[1:])


def test_login_pages_let_forms_lead_to_the_registered_client_only(landing, core, partner,
                                                                   user):
    """Chromium applies form-action to the redirects after a form submission (our log-in
    POST -> /oauth2/authorize -> the client): the log-in page of an authorization request
    allows that client's registered origin, and nothing an attacker can name."""
    _, challenge = pkce()
    r = landing.get("/oauth2/authorize?" + urlencode(authorize_params(partner[0], challenge)))
    login_url = r.headers["location"]
    assert login_url.startswith(f"{LANDING}/login?")
    page = landing.get(login_url)
    assert page.status_code == 200 and "https://partner.test" in form_action(page)
    assert "https://partner.test" not in form_action(landing.get("/login"))
    next_url = parse_qs(urlsplit(login_url).query)["next"][0]
    # A wrong password re-renders the form: it still leads there.
    wrong = landing.post("/login", data={"username": "alice", "password": "wrong password",
                                         "next": next_url})
    assert wrong.status_code == 400 and "https://partner.test" in form_action(wrong)
    hostile = {
        "unregistered redirect URI": next_url.replace(
            "https%3A%2F%2Fpartner.test%2Fcallback", "https%3A%2F%2Fevil.test%2Fcallback"),
        "unknown client": next_url.replace(partner[0], "0" * 32),
        "two redirect URIs": next_url + "&redirect_uri=https%3A%2F%2Fevil.test%2Fcb",
        "not our authorization endpoint": next_url.replace(
            f"{LANDING}/oauth2/authorize", "https://evil.test/oauth2/authorize"),
    }
    for what, value in hostile.items():
        assert value != next_url, what
        page = landing.get("/login?" + urlencode({"next": value}))
        assert page.status_code == 200, what
        origins = form_action(page)
        assert "https://evil.test" not in origins and "https://partner.test" not in origins, \
            what
    # The second-factor page of a pending log-in posts on to the same redirects.
    session = core.sessions.create_session(user.id, "alice", pending=True)[0]
    landing.cookies.set("auth_session", session)
    verify = landing.get("/login/verify?" + urlencode({"next": next_url}))
    assert verify.status_code == 200 and "https://partner.test" in form_action(verify)
