"""Back-channel log-out (OpenID Connect Back-Channel Logout 1.0) end to end: clients that
got tokens through the landing app are real HTTP servers on loopback ports; each Logout
Token they receive is checked as a client must (signature against our JWKS, iss, aud,
the event, sid, no nonce). However the session ends (log-out in either app, revocation
from /account, a password change, a deletion behind our back), each of its clients gets
exactly one; a client that is down gets it once back; a client of another session gets
nothing."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from auth_utils.services.backchannel import EVENT
from db_utils.outbox import Retry
from devtools.testing import LANDING, csrf_token

CALLBACK = "http://127.0.0.1/callback"
PASSWORD = "correct horse battery"


class Receiver:
    """A client's back-channel log-out endpoint: records each `logout_token` POSTed.
    `down()`: the port is bound but not listening (connections refused) until `up()`."""

    def __init__(self, *, listening: bool = True) -> None:
        self.tokens: list[str] = []
        received = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                received.extend(form.get("logout_token", []))
                self.send_response(200)
                self.send_header("cache-control", "no-store")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler,
                                          bind_and_activate=False)
        self.server.server_bind()  # the port is ours; nothing answers until `up()`
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel"
        self.thread: threading.Thread | None = None
        if listening:
            self.up()

    def up(self) -> None:
        self.server.server_activate()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        if self.thread is not None:
            self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(**options: bool) -> Receiver:
        made.append(Receiver(**options))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def core(landing_app):
    return landing_app.state.core


@pytest.fixture
def sender(core, landing):
    """The landing process's sender, polling fast and retrying after 0.3 s (tests)."""
    core.stop_logout_sender()
    return core.start_logout_sender(
        poll_every=0.1, sweep_every=0.5,
        retry=Retry(first_delay=timedelta(seconds=0.3), max_delay=timedelta(seconds=0.5)))


def register(core, name: str, receiver: Receiver | None) -> str:
    client_id, _ = core.openid.register(
        name, [CALLBACK], public=True, first_party=True,
        backchannel_logout_uri=receiver.uri if receiver else "")
    return client_id


def sign_up(core, username: str) -> str:
    assert core.accounts.register(username, PASSWORD).ok
    return core.storage.users.by_username(username).id


def log_in(client, username: str) -> None:
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 303, r.text[:300]


def get_tokens(client, client_id: str, *, consent: bool = False) -> dict:
    """The code flow with PKCE for a logged-in browser (`client`): the client's tokens
    (`consent`: the user is asked, and allows)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    r = client.get("/oauth2/authorize?" + urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
        "scope": "openid", "state": "s", "nonce": "n", "code_challenge": challenge,
        "code_challenge_method": "S256"}))
    if consent:
        assert r.status_code == 200 and "Allow" in r.text, r.text[:300]
        r = client.post("/oauth2/authorize", data={
            "response_type": "code", "client_id": client_id, "redirect_uri": CALLBACK,
            "scope": "openid", "state": "s", "nonce": "n", "code_challenge": challenge,
            "code_challenge_method": "S256", "decision": "allow"})
        assert r.status_code == 303, r.text[:300]
    else:
        assert r.status_code == 302, r.text[:300]
    code = parse_qs(urlsplit(r.headers["location"]).query)["code"][0]
    r = client.post("/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
        "code_verifier": verifier, "client_id": client_id})
    assert r.status_code == 200, r.text
    return r.json()


def checked(token: str, jwks: dict, client_id: str) -> dict:
    """What a client must check (Back-Channel Logout 1.0, 2.6); the claims."""
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    claims = decoded.claims
    assert decoded.header["typ"] == "logout+jwt" and decoded.header["kid"]
    assert claims["iss"] == LANDING and claims["aud"] == client_id
    assert claims["events"] == {EVENT: {}} and "nonce" not in claims
    assert claims["sid"] and claims["sub"] and claims["jti"]
    assert claims["iat"] <= time.time() + 5 < claims["exp"] + 5
    return claims


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def settle(core, sender) -> None:
    """Long enough for any duplicate to have gone out: a sweep and a retry passed."""
    time.sleep(sender.sweep_every * 2 + 0.4)


def sid_of(tokens: dict, jwks: dict) -> str:
    return jwt.decode(tokens["id_token"], KeySet.import_key_set(jwks)).claims["sid"]


def alice_logged_in_to(landing, core, receiver: Receiver) -> tuple[str, dict, str]:
    """Alice logged in on `landing`, and a client with `receiver` as its back-channel
    holding her tokens: (its client id, our JWKS, her session's sid)."""
    client_id = register(core, "A", receiver)
    sign_up(core, "alice")
    log_in(landing, "alice")
    jwks = landing.get("/oauth2/jwks").json()
    return client_id, jwks, sid_of(get_tokens(landing, client_id), jwks)


def test_discovery_says_back_channel_log_out_is_supported(landing):
    meta = landing.get("/.well-known/openid-configuration").json()
    assert meta["backchannel_logout_supported"] is True
    assert meta["backchannel_logout_session_supported"] is True


def test_landing_log_out_tells_each_client_of_that_session_once(
        landing, landing_app, core, sender, receivers, db):
    from starlette.testclient import TestClient

    one, two, bobs = receivers(), receivers(), receivers()
    a, b, c = register(core, "A", one), register(core, "B", two), register(core, "C", bobs)
    register(core, "Silent", None)  # no URI: nothing armed, nothing sent
    alice, bob = sign_up(core, "alice"), sign_up(core, "bob")
    log_in(landing, "alice")
    jwks = landing.get("/oauth2/jwks").json()
    tokens_a, _ = get_tokens(landing, a), get_tokens(landing, b)
    get_tokens(landing, a)  # a second code for the same pair: still one record
    # Another browser, without `with`: its lifespan's end would stop this app's senders.
    bob_browser = TestClient(landing_app, base_url=LANDING, headers={"Origin": LANDING},
                             follow_redirects=False)
    log_in(bob_browser, "bob")
    get_tokens(bob_browser, c)
    get_tokens(bob_browser, a)  # client A of bob's session: not told of alice's end
    assert db.oauth_logouts.count_documents({"status": "armed"}) == 4

    r = landing.post("/oauth2/logout", data={"confirm": "1"})  # our confirmation page
    assert r.status_code == 302
    wait_for(lambda: one.tokens and two.tokens)
    settle(core, sender)
    assert len(one.tokens) == 1 and len(two.tokens) == 1 and bobs.tokens == []
    sid = sid_of(tokens_a, jwks)
    for token, client_id in ((one.tokens[0], a), (two.tokens[0], b)):
        claims = checked(token, jwks, client_id)
        assert claims["sid"] == sid and claims["sub"] == alice
    # Bob's pairs stay armed; alice's are delivered (kept for operators, then TTL).
    assert db.oauth_logouts.count_documents({"user_id": bob, "status": "armed"}) == 2
    assert db.oauth_logouts.count_documents({"user_id": alice, "status": "delivered"}) == 2
    # Her refresh token stopped working with the session.
    r = landing.post("/oauth2/token", data={"grant_type": "refresh_token", "client_id": a,
                                            "refresh_token": tokens_a["refresh_token"]})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


@pytest.fixture
def web_browser(web, web_services):
    """The web app as the same browser: the landing session's cookie sent to it."""

    def share(landing) -> None:
        web.cookies["auth_session"] = landing.cookies["auth_session"]
    return share


@pytest.mark.parametrize("how", ["web log-out", "revoke from /account", "password change"])
def test_ends_in_the_web_app_reach_the_clients(
        how, landing, core, sender, receivers, web, web_browser, web_services, db):
    one, other = receivers(), receivers()
    a = register(core, "A", one)
    b = register(core, "B", other)
    sign_up(core, "alice")
    log_in(landing, "alice")
    jwks = landing.get("/oauth2/jwks").json()
    sid = sid_of(get_tokens(landing, a), jwks)
    web_browser(landing)
    if how == "web log-out":
        r = web.post("/logout", {"csrfmiddlewaretoken": csrf_token(web, "/account")})
        assert r.status_code == 303
    else:
        # A second browser of alice's, with its own client: the one ended from the first.
        second_token, second = web_services.sessions.create_session(
            core.storage.users.by_username("alice").id, "alice")
        core.openid.backchannel.arm(session_id=second.id, client_id=b,
                                    user_id=second.user_id, sid="second")
        if how == "revoke from /account":
            r = web.post(f"/account/sessions/{second.id}/revoke",
                         {"csrfmiddlewaretoken": csrf_token(web, "/account")})
        else:  # ends every other session (the one changing it stays)
            r = web.post("/account/password", {
                "csrfmiddlewaretoken": csrf_token(web, "/account"),
                "current_password": PASSWORD, "new_password": "another horse staple",
                "confirm_password": "another horse staple"})
        assert r.status_code == 303, r.content[:300]
        assert not web_services.sessions.validate_session_token(second_token).valid
    # The web app's process marked them; the landing process's sender delivered.
    if how == "web log-out":
        wait_for(lambda: one.tokens)
        settle(core, sender)
        assert len(one.tokens) == 1 and other.tokens == []
        assert checked(one.tokens[0], jwks, a)["sid"] == sid
    else:
        wait_for(lambda: other.tokens)
        settle(core, sender)
        assert len(other.tokens) == 1 and one.tokens == []  # this browser stays in
        assert checked(other.tokens[0], jwks, b)["sid"] == "second"


def test_a_client_that_is_down_gets_it_once_back(landing, core, sender, receivers, db):
    late = receivers(listening=False)  # connections refused
    a, jwks, sid = alice_logged_in_to(landing, core, late)
    assert landing.post("/oauth2/logout", data={"confirm": "1"}).status_code == 302
    wait_for(lambda: (db.oauth_logouts.find_one({"client_id": a}) or {}).get("attempts", 0)
             >= 2)
    record = db.oauth_logouts.find_one({"client_id": a})
    assert record["status"] == "pending" and "Connect" in record["last_error"]
    late.up()
    wait_for(lambda: late.tokens)
    settle(core, sender)
    assert len(late.tokens) == 1 and checked(late.tokens[0], jwks, a)["sid"] == sid
    assert db.oauth_logouts.find_one({"client_id": a})["status"] == "delivered"


def test_a_session_deleted_behind_our_back_is_found_by_the_sweep(
        landing, core, sender, receivers, db):
    """MongoDB's TTL deletion (or an operator's) runs no hook of ours: the sweep, which
    judges by the sessions collection itself, still tells the client."""
    one = receivers()
    a, jwks, sid = alice_logged_in_to(landing, core, one)
    assert db.sessions.delete_many({}).deleted_count == 1
    wait_for(lambda: one.tokens)
    settle(core, sender)
    assert len(one.tokens) == 1 and checked(one.tokens[0], jwks, a)["sid"] == sid


def test_revoking_an_app_on_the_account_page_logs_it_out_of_each_session(
        landing, landing_app, core, sender, receivers, web, web_browser, db):
    """Withdrawing a client's access (web /account) is, for that client, the end of every
    session it got tokens from: one Logout Token per session, at once, though the user
    stays logged in here; another client of the same session hears nothing. Allowed
    again in the same session, the client is told of that session's later end."""
    from starlette.testclient import TestClient

    one, other = receivers(), receivers()
    partner, _ = core.openid.register("Partner", [CALLBACK], public=True,
                                      backchannel_logout_uri=one.uri)
    b = register(core, "B", other)
    alice = sign_up(core, "alice")
    log_in(landing, "alice")
    jwks = landing.get("/oauth2/jwks").json()
    tokens = get_tokens(landing, partner, consent=True)
    get_tokens(landing, b)
    phone = TestClient(landing_app, base_url=LANDING, headers={"Origin": LANDING},
                       follow_redirects=False)  # her second browser, also on Partner
    log_in(phone, "alice")
    phone_tokens = get_tokens(phone, partner)  # consent remembered
    sids = {sid_of(tokens, jwks), sid_of(phone_tokens, jwks)}
    web_browser(landing)
    r = web.post(f"/account/apps/{partner}/revoke",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 303, r.content[:300]
    wait_for(lambda: len(one.tokens) == 2)
    settle(core, sender)
    assert len(one.tokens) == 2 and other.tokens == []
    assert {checked(t, jwks, partner)["sid"] for t in one.tokens} == sids
    assert {checked(t, jwks, partner)["sub"] for t in one.tokens} == {alice}
    assert landing.get("/oauth2/userinfo", headers={
        "authorization": f"Bearer {tokens['access_token']}"}).status_code == 401
    assert db.oauth_logouts.count_documents({"client_id": b, "status": "armed"}) == 1
    # Allowed again in the same browser session: armed afresh, told when it ends.
    get_tokens(landing, partner, consent=True)
    assert db.oauth_logouts.count_documents({"client_id": partner, "status": "armed"}) == 1
    assert landing.post("/oauth2/logout", data={"confirm": "1"}).status_code == 302
    wait_for(lambda: len(one.tokens) == 3 and other.tokens)
    assert checked(one.tokens[2], jwks, partner)["sid"] == sid_of(tokens, jwks)


def test_a_sender_of_another_issuer_leaves_the_log_out_to_ours(
        landing, core, make_core, receivers, db):
    """Processes configured for another issuer on the same database (a staging
    deployment, a LANDING_URL since moved; in the suite, every live system) would sign the
    Logout Token with their own `iss`, which the client refuses, at every retry (most
    likely what failed the partner's browser test in CI at stop 24). Only a sender of the
    pair's issuer claims it."""
    one = receivers()
    a, jwks, sid = alice_logged_in_to(landing, core, one)
    core.stop_logout_sender()  # ours is down; only the other issuer's runs
    fast = {"poll_every": 0.05, "sweep_every": 0.2,
            "retry": Retry(first_delay=timedelta(seconds=0.1),
                           max_delay=timedelta(seconds=0.2))}
    other = make_core(landing_url="http://127.0.0.1:9")
    other.start_logout_sender(**fast)
    assert landing.post("/oauth2/logout", data={"confirm": "1"}).status_code == 302
    time.sleep(1.0)  # twenty of its polls and five sweeps
    record = db.oauth_logouts.find_one({"client_id": a})
    assert record["status"] == "pending" and record["attempts"] == 0, record
    assert one.tokens == []
    core.start_logout_sender(**fast)
    wait_for(lambda: one.tokens)
    time.sleep(0.5)
    assert len(one.tokens) == 1 and checked(one.tokens[0], jwks, a)["sid"] == sid
    assert db.oauth_logouts.find_one({"client_id": a})["issuer"] == LANDING
