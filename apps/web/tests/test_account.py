
import re

import pytest

from devtools.mailserver import links_in
from devtools.testing import LANDING, csrf_token


@pytest.fixture
def alice(web, web_services, login_session):
    token, user, session = login_session("alice")
    web.cookies["auth_session"] = token
    return token, user, session


def test_account_requires_login(web, db):
    r = web.get("/account")
    assert r.status_code == 302 and "next=http%3A//localhost%3A3000/account" in r["Location"]


def test_lists_own_sessions_this_browser_first_then_newest(web, alice, web_services, clock):
    _, user, current = alice
    clock.advance(minutes=1)
    web_services.sessions.create_session(
        user.id, "alice", ip="203.0.113.5",
        user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 "
                   "Firefox/133.0")
    web_services.sessions.create_session("someone-else", "bob")
    r = web.get("/account")
    body = r.content.decode()
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    assert body.count("/revoke\"") == 2  # bob's session is not listed
    assert body.index("this browser") < body.index("Firefox on Windows")  # issue 27
    assert "203.0.113.5" in body and f'action="/account/sessions/{current.id}/revoke"' in body
    assert 'aria-label="Log out Firefox on Windows">Log out</button>' in body
    assert re.search(r'aria-label="Log out [^"]+ \(this browser\)">Log out</button>', body)
    assert alice[0] not in body  # the cookie token never appears


def test_revoke_one_and_another_users_id_is_404(web, alice, web_services, db):
    _, user, _current = alice
    other_token, other = web_services.sessions.create_session(user.id, "alice")
    _, bobs = web_services.sessions.create_session("bob-id", "bob")
    token = csrf_token(web, "/account")
    r = web.post(f"/account/sessions/{bobs.id}/revoke", {"csrfmiddlewaretoken": token})
    assert r.status_code == 404
    assert db.sessions.count_documents({"_id": bobs.id}) == 1
    r = web.post(f"/account/sessions/{'0' * 64}/revoke", {"csrfmiddlewaretoken": token})
    assert r.status_code == 404
    r = web.post(f"/account/sessions/{other.id}/revoke", {"csrfmiddlewaretoken": token})
    assert r.status_code == 303 and r["Location"] == "/account?done=revoked"
    assert not web_services.sessions.validate_session_token(other_token).valid
    assert web.get("/account").status_code == 200


def test_revoking_the_current_session_logs_out(web, alice, db):
    token, _, current = alice
    r = web.post(f"/account/sessions/{current.id}/revoke",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 303 and r["Location"] == LANDING
    assert r.cookies["auth_session"]["max-age"] == 0
    web.cookies["auth_session"] = token
    assert web.get("/account").status_code == 302


def test_revoke_others(web, alice, web_services, db):
    _, user, _current = alice
    t2, _ = web_services.sessions.create_session(user.id, "alice")
    _t3, _ = web_services.sessions.create_session(user.id, "alice")
    r = web.post("/account/sessions/revoke-others",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 303
    assert db.sessions.count_documents({"user_id": user.id}) == 1
    assert not web_services.sessions.validate_session_token(t2).valid
    assert web.get("/").status_code == 200


def test_change_password(web, alice, web_services, db):
    _, user, _current = alice
    other_token, _ = web_services.sessions.create_session(user.id, "alice")
    form = {"current_password": "wrong password", "new_password": "new password 1",
            "confirm_password": "new password 1"}
    r = web.post("/account/password", {**form, "csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 400 and "Your current password is incorrect." in r.content.decode()
    form["current_password"] = "correct horse"
    r = web.post("/account/password", {**form, "confirm_password": "different",
                                       "csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 400 and "do not match" in r.content.decode()
    r = web.post("/account/password", {**form, "new_password": "short",
                                       "confirm_password": "short",
                                       "csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 400 and "8 to 255" in r.content.decode()
    r = web.post("/account/password", {**form, "csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 303 and r["Location"] == "/account?done=password"
    assert "password was changed" in web.get(r["Location"]).content.decode()
    assert not web_services.sessions.validate_session_token(other_token).valid
    assert web.get("/").status_code == 200
    assert web_services.accounts.log_in("alice", "new password 1", ip="1").ok


def test_change_password_is_throttled(web, alice, web_services, db):
    from dataclasses import replace

    web_services.accounts.steps.throttler.settings = replace(
        web_services.settings, login_max_failures_per_user=2)
    form = {"current_password": "wrong password", "new_password": "new password 1",
            "confirm_password": "new password 1"}
    for _ in range(2):
        web.post("/account/password", {**form, "csrfmiddlewaretoken": csrf_token(web, "/account")})
    form["current_password"] = "correct horse"
    r = web.post("/account/password", {**form, "csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 429 and int(r["Retry-After"]) > 0


def test_account_posts_need_csrf(web, alice, db):
    _, _, current = alice
    web.get("/account")
    for path in (f"/account/sessions/{current.id}/revoke", "/account/sessions/revoke-others",
                 "/account/password"):
        assert web.post(path, {}).status_code == 403
    assert db.sessions.count_documents({}) == 1


def test_user_agent_names():
    from auth_utils.rules.agents import describe_user_agent

    assert describe_user_agent("") == "Unknown browser"
    assert describe_user_agent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36") == "Chrome on Linux"
    assert describe_user_agent(
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1") == "Safari on iOS"
    assert describe_user_agent("python-httpx/0.28.1") == "Python"


def test_activity_page_lists_only_the_users_own_events_newest_first_paged(
        web, alice, web_services, clock):
    from auth_utils.services.activity import Actor, Kind

    _, me, _ = alice
    activity = web_services.activity
    bob = web_services.accounts.sign_up("bob", "bob's password", ip="192.0.2.99").user
    for n in range(22):
        clock.advance(seconds=1)
        activity.record(Kind.LOGIN_FAILED, Actor(me.id, "alice", ip=f"198.51.100.{n}"),
                        success=False)
    activity.record(Kind.LOGIN, Actor(bob.id, "bob", ip="192.0.2.99"))
    page1 = web.get("/account/activity").content.decode()
    page2 = web.get("/account/activity?page=2").content.decode()
    assert page1.count('<li class="event">') == 20 and "Older" in page1
    assert "198.51.100.21" in page1 and "198.51.100.0" not in page1  # newest first
    assert "198.51.100.0" in page2 and "Newer" in page2
    assert "192.0.2.99" not in page1 + page2  # bob's events are bob's
    assert web.get("/account/activity?page=x").status_code == 200


def test_failed_log_ins_notice_appears_then_goes_once_seen(web, alice, web_services,
                                                          clock):
    clock.advance(seconds=1)
    web_services.accounts.log_in("alice", "wrong guess 1", ip="203.0.113.1")
    web_services.accounts.log_in("alice", "wrong guess 2", ip="203.0.113.1")
    clock.advance(seconds=1)
    page = web.get("/account").content.decode()
    assert "2 failed log-in attempts since your last visit" in page
    assert 'action="/account/sessions/revoke-others"' in page.split('id="failed-logins"')[1]
    clock.advance(seconds=1)
    assert 'id="failed-logins"' not in web.get("/account").content.decode()


def test_changes_made_here_record_the_address_and_browser(web, alice, web_services, db):
    """Security round 3, item 5: a password change, sessions ended and log-out made in
    the web app were stored with an empty address ("unknown / Unknown browser")."""
    browser = {"REMOTE_ADDR": "192.0.2.61",
               "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"}
    form = {"current_password": "correct horse", "new_password": "new password 1",
            "confirm_password": "new password 1"}
    r = web.post("/account/password", {**form, "csrfmiddlewaretoken": csrf_token(web, "/account")},
                 **browser)
    assert r.status_code == 303
    r = web.post("/account/sessions/revoke-others",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account")},
                 **browser)
    assert r.status_code == 303
    web.post("/logout", {"csrfmiddlewaretoken": csrf_token(web, "/account")}, **browser)
    events = list(db.security_events.find({"kind": {"$in": [
        "password_changed", "session_revoked", "logout"]}}))
    assert {e["kind"] for e in events} == {"password_changed", "session_revoked", "logout"}
    assert all(e["ip"] == "192.0.2.61" and e["browser"] == "Firefox on Linux"
               for e in events), events


def test_the_address_section_needs_reauthentication_then_mails_a_link(web, alice,
                                                                      web_services, db,
                                                                      clock):
    _, user, session = alice
    clock.advance(minutes=11)  # the log-in is no longer recent
    assert "No verified address" in web.get("/account").content.decode()
    form = {"email": "alice@example.com", "csrfmiddlewaretoken": csrf_token(web, "/account")}
    r = web.post("/account/email", form)
    assert r.status_code == 303 and r["Location"].startswith("/account/confirm?next=")
    assert db.users.find_one({"_id": user.id}).get("pending_email") is None
    web_services.sessions.mark_verified(session.id)  # as /account/confirm does
    r = web.post("/account/email", {**form, "email": "not an address"})
    assert r.status_code == 400 and 'aria-invalid="true"' in r.content.decode()
    r = web.post("/account/email", form)
    assert r.status_code == 303 and r["Location"] == "/account?done=email"
    page = web.get("/account?done=email").content.decode()
    assert "Waiting for verification: alice@example.com" in page
    r = web.post("/account/email/remove", {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 303 and db.users.find_one({"_id": user.id}).get(
        "pending_email") is None


def test_changes_made_from_another_session_are_shown_once(web, alice, web_services, clock):
    _, user, _session = alice
    clock.advance(seconds=1)
    elsewhere = web_services.accounts.log_in("alice", "correct horse", ip="198.51.100.4")
    assert web_services.email.add(elsewhere.session, elsewhere.user, "alice@example.com").ok
    assert web_services.email.of(user.id).pending_email == "alice@example.com"
    mail = web_services.outbox.get(web_services.outbox.list()[0].message_id)
    link = links_in(web_services.outbox.compose(mail))[0]
    assert web_services.email.verify(link.rsplit("/", 1)[1], ip="198.51.100.4").ok
    clock.advance(seconds=1)
    page = web.get("/account").content.decode()
    assert "Email address verified" in page.split('id="account-changes"')[1]
    clock.advance(seconds=1)
    assert 'id="account-changes"' not in web.get("/account").content.decode()


# -- apps that use the user's log-in (our OpenID Connect provider's consents) -----------

APP_CALLBACK = "https://partner.test/callback"


@pytest.fixture
def allowed(web_services, alice):
    """Alice allowed "Partner" (not first-party) and it holds her tokens; Bob allowed it
    too. Returns (client_id, secret, alice's tokens, bob's tokens)."""
    from devtools.testing.provider import grant_tokens

    client_id, secret = web_services.openid.register("Partner <b>&co</b>", [APP_CALLBACK])
    tokens = grant_tokens(web_services, alice[0], client_id, APP_CALLBACK, secret=secret)
    bob_token, _, _ = web_services_login(web_services, "bob")
    bobs = grant_tokens(web_services, bob_token, client_id, APP_CALLBACK, secret=secret)
    return client_id, secret, tokens, bobs


def web_services_login(core, username: str):
    from auth_utils import hash_password

    user = core.storage.users.create(username, hash_password("correct horse"),
                                     core.sessions.clock())
    token, session = core.sessions.create_session(user.id, user.username)
    return token, user, session


def works(core, client_id: str, secret: str, tokens: dict) -> tuple[bool, bool]:
    """(the access token answers userinfo, the refresh token refreshes)."""
    from devtools.testing.provider import token_request

    info = core.openid.userinfo(f"Bearer {tokens['access_token']}").status == 200
    refreshed = token_request(core, client_id, secret, grant_type="refresh_token",
                              refresh_token=tokens["refresh_token"]).status == 200
    return info, refreshed


def test_allowed_apps_are_listed_with_a_revoke_button(web, alice, allowed, db):
    client_id = allowed[0]
    r = web.get("/account")
    body = r.content.decode()
    assert r.status_code == 200 and "Apps that use your log-in" in body
    assert "Partner &lt;b&gt;&amp;co&lt;/b&gt;" in body  # the operator's name, escaped
    assert "that you are this account, your username" in body
    assert f'action="/account/apps/{client_id}/revoke"' in body
    assert body.count('action="/account/apps/') == 1  # bob's consent is not hers


def test_no_apps_section_without_consents(web, alice):
    assert "Apps that use your log-in" not in web.get("/account").content.decode()


def test_revoking_an_app_withdraws_consent_and_ends_its_tokens_at_once(
        web, alice, allowed, web_services, db):
    from devtools.testing.provider import grant_tokens

    client_id, secret, tokens, bobs = allowed
    user = alice[1]
    assert web_services.openid.userinfo(f"Bearer {tokens['access_token']}").status == 200
    live = db.oauth_tokens.count_documents({"user_id": user.id, "revoked_at": None})
    r = web.post(f"/account/apps/{client_id}/revoke",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 303 and r["Location"] == "/account?done=app-revoked"
    assert live == 2 and db.oauth_tokens.count_documents(
        {"user_id": user.id, "revoked_at": None}) == 0
    # Right after: her access and refresh tokens are refused...
    assert works(web_services, client_id, secret, tokens) == (False, False)
    assert db.oauth_consents.count_documents({"user_id": user.id}) == 0
    # A revoked token presented is refused, not taken for a stolen one: no false alarm.
    assert db.security_events.count_documents({"kind": "token_reuse"}) == 0
    # ...Bob's consent and tokens are untouched, and her own log-in goes on.
    assert works(web_services, client_id, secret, bobs) == (True, True)
    assert web_services.sessions.validate_session_token(alice[0]).valid
    page = web.get("/account?done=app-revoked").content.decode()
    assert "That app can no longer use your log-in" in page
    assert "Apps that use your log-in" not in page
    event = db.security_events.find_one({"kind": "client_revoked"})
    assert event["user_id"] == user.id and event["detail"].startswith("Partner")
    # The next authorization asks for consent again.
    from auth_utils.flows.provider import OAuthRequest
    from devtools.testing.provider import pkce_pair

    found = web_services.openid.authorize(OAuthRequest(
        "GET", f"{web_services.openid.issuer}/oauth2/authorize", {}, {
        "response_type": ["code"], "client_id": [client_id], "redirect_uri": [APP_CALLBACK],
        "scope": ["openid"], "code_challenge": [pkce_pair()[1]],
        "code_challenge_method": ["S256"]}),
        web_services.sessions.validate_session_token(alice[0]))
    assert found.action == "consent"
    # Allowing again works as the first time.
    again = grant_tokens(web_services, alice[0], client_id, APP_CALLBACK, secret=secret)
    assert works(web_services, client_id, secret, again) == (True, True)


def test_an_exchange_racing_the_revocation_gets_nothing_that_works(
        web, alice, allowed, web_services, db):
    """A code issued before the revocation and exchanged after it: refused, and tokens
    saved by an exchange that raced it are refused at use (the consent is checked)."""
    from devtools.testing.provider import pkce_pair, token_request

    client_id, secret, tokens, _ = allowed
    user = alice[1]
    web.post(f"/account/apps/{client_id}/revoke",
             {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    # Tokens that a racing exchange saved after the revocation's update (a copy made
    # live again by hand, as that exchange would have left them): still refused.
    db.oauth_tokens.update_many({"user_id": user.id}, {"$set": {"revoked_at": None}})
    assert works(web_services, client_id, secret, tokens) == (False, False)
    # A code saved before the revocation went with it: the exchange is invalid_grant.
    assert db.oauth_codes.count_documents({"user_id": user.id, "used_at": None}) == 0
    answer = token_request(web_services, client_id, secret, grant_type="authorization_code",
                           code="x" * 43, redirect_uri=APP_CALLBACK,
                           code_verifier=pkce_pair()[0])
    assert answer.status == 400 and answer.body["error"] == "invalid_grant"


@pytest.mark.parametrize("client_id", ["bobs", "0" * 32, "x" * 65, "a%00b", "%F0%9F%92%A9",
                                       "first-party"])
def test_revoking_what_the_user_never_allowed_is_404_and_changes_nothing(
        web, alice, allowed, web_services, db, client_id):
    partner = allowed[0]
    if client_id == "bobs":  # a client only Bob allowed
        other, other_secret = web_services.openid.register("Other", [APP_CALLBACK])
        bob = web_services.storage.users.by_username("bob")
        token, _ = web_services.sessions.create_session(bob.id, "bob")
        from devtools.testing.provider import grant_tokens
        grant_tokens(web_services, token, other, APP_CALLBACK, secret=other_secret)
        client_id = other
    elif client_id == "first-party":  # holds her tokens, but was never asked
        from devtools.testing.provider import grant_tokens
        client_id, _ = web_services.openid.register("Ours", [APP_CALLBACK], public=True,
                                                    first_party=True)
        grant_tokens(web_services, alice[0], client_id, APP_CALLBACK)
    before = (db.oauth_consents.count_documents({}),
              db.oauth_tokens.count_documents({"revoked_at": None}))
    r = web.post(f"/account/apps/{client_id}/revoke",
                 {"csrfmiddlewaretoken": csrf_token(web, "/account")})
    assert r.status_code == 404 and b"Traceback" not in r.content
    assert (db.oauth_consents.count_documents({}),
            db.oauth_tokens.count_documents({"revoked_at": None})) == before
    assert db.security_events.count_documents({"kind": "client_revoked"}) == 0
    assert works(web_services, partner, allowed[1], allowed[2]) == (True, True)


def test_revoking_an_app_needs_csrf_our_origin_and_a_post(web, alice, allowed, web_services, db):
    client_id = allowed[0]
    web.get("/account")
    assert web.post(f"/account/apps/{client_id}/revoke", {}).status_code == 403
    token = csrf_token(web, "/account")
    assert web.post(f"/account/apps/{client_id}/revoke", {"csrfmiddlewaretoken": token},
                    headers={"Origin": "https://evil.example"}).status_code == 403
    assert web.get(f"/account/apps/{client_id}/revoke").status_code == 405
    assert db.oauth_consents.count_documents({"client_id": client_id}) == 2
    assert works(web_services, client_id, allowed[1], allowed[2]) == (True, True)
