"""Log in with an outside OpenID Connect provider, against a real one nobody here wrote
(panva's oidc-provider, started by the `oidc_provider` fixture): the whole code flow over
HTTP through its log-in pages, the linking rules, and the hostile cases."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pyotp
import pytest

from auth_utils import Result
from auth_utils.config import OidcProvider
from auth_utils.flows.federated import Begun, flow_key
from auth_utils.services.oidc import ProviderError
from devtools.testing import parallel
from devtools.testing.oidc import free_port

IP = "192.0.2.10"


def callback_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def start(core, intent="login", **who) -> Begun:
    begun = core.federation.begin("testidp", intent, **who)
    assert isinstance(begun, Begun), begun
    return begun


def journey(core, provider, login, intent="login", session=None, user=None, **changes):
    """Begin, log in at the provider as `login`, come back: the Federated."""
    begun = start(core, intent, session=session, user=user)
    params = callback_params(provider.log_in(begun.url, login)) | changes
    return core.federation.complete(params, begun.state, session=session, user=user, ip=IP)


def signed_up(core, provider, login, username):
    found = journey(core, provider, login)
    assert found.action == "signup", found
    done = core.identities.finish_signup(found.signup_token, username, ip=IP)
    assert done.action == "login" and done.outcome.ok, done
    return done.outcome


def test_off_without_providers(core):
    assert not core.federation.enabled and core.federation.providers == []
    assert core.federation.begin("testidp").status == 404


def test_a_new_identity_makes_an_account_with_a_chosen_name_and_logs_in_to_it_again(
        oidc_core, oidc_provider, db):
    core = oidc_core()
    begun = start(core)
    query = callback_params(begun.url)
    # The code flow with PKCE (S256), state and nonce, as Authlib built it.
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert query["state"] == begun.state and len(query["nonce"]) >= 40
    assert "openid" in query["scope"].split()
    stored = db.oidc_flows.find_one()
    assert stored["_id"] == flow_key(begun.state) and begun.state not in str(stored)
    found = core.federation.complete(callback_params(oidc_provider.log_in(begun.url, "carol")),
                                     begun.state, session=None, user=None, ip=IP)
    assert (found.action, found.provider, found.suggested) == ("signup", "Test IdP", "carol")
    assert db.users.count_documents({}) == 0  # nothing until the user picks a name
    taken = core.accounts.sign_up("taken", "correct horse battery", ip=IP)
    refused = core.identities.finish_signup(found.signup_token, "taken", ip=IP)
    assert (refused.status, refused.outcome.field) == (409, "username")
    assert core.identities.finish_signup(found.signup_token, "x", ip=IP).status == 400
    done = core.identities.finish_signup(found.signup_token, "Carol_C", ip=IP)
    assert done.action == "login" and done.outcome.ok and done.outcome.username == "carol_c"
    user = db.users.find_one({"username": "carol_c"})
    assert user["password_unknown"] is True and user["password_hash"].startswith("$argon2id$")
    linked = db.linked_identities.find_one()
    assert (linked["issuer"], linked["subject"], linked["user_id"]) == (
        oidc_provider.issuer, "carol", user["_id"])
    # The sign-up token is used up; no password logs in to the account.
    assert core.identities.finish_signup(found.signup_token, "carol_d", ip=IP).status == 400
    assert core.accounts.log_in("carol_c", "", ip=IP).result is Result.INVALID
    assert core.accounts.log_in("carol_c", "any password", ip=IP).result is Result.INCORRECT
    # Again with the same identity: a fresh session of the same account.
    again = journey(core, oidc_provider, "carol")
    assert again.action == "login" and again.outcome.ok
    assert again.outcome.user.id == user["_id"] and again.outcome.token != done.outcome.token
    assert core.sessions.validate_session_token(again.outcome.token).user.username == "carol_c"
    kinds = [e["kind"] for e in db.security_events.find({"user_id": user["_id"]},
                                                         sort=[("at", 1), ("_id", 1)])]
    assert kinds[:2] == ["signup", "identity_linked"] and kinds[-1] == "login"
    assert taken.ok


def test_link_needs_a_recent_reauthentication_and_then_logs_in_to_that_account(
        oidc_core, oidc_provider, clock, db):
    core = oidc_core()
    alice = core.accounts.sign_up("alice", "correct horse battery", ip=IP)
    clock.advance(minutes=11)
    refused = core.federation.begin("testidp", "link", session=alice.session,
                                    user=alice.user)
    assert (refused.status, refused.outcome.result) == (403, Result.REAUTH)
    assert core.federation.begin("testidp", "link").status == 403  # not logged in
    assert core.passwords.reauthenticate(alice.session, alice.user, "correct horse battery",
                                        "", ip=IP).ok
    session = core.sessions.validate_session_token(alice.token).session
    linked = journey(core, oidc_provider, "alice-at-idp", "link", session, alice.user)
    assert linked.action == "linked", linked
    assert db.linked_identities.find_one()["user_id"] == alice.user.id
    # The callback of a link must come back to the session that asked for it.
    other = core.accounts.log_in("alice", "correct horse battery", ip=IP)
    begun = start(core, "link", session=session, user=alice.user)
    params = callback_params(oidc_provider.log_in(begun.url, "someone-else"))
    stolen = core.federation.complete(params, begun.state, session=other.session,
                                      user=other.user, ip=IP)
    assert stolen.status == 403 and db.linked_identities.count_documents({}) == 1
    # Logging in with the linked identity opens alice's account.
    back = journey(core, oidc_provider, "alice-at-idp")
    assert back.action == "login" and back.outcome.user.id == alice.user.id
    # Linking an identity another account has is refused.
    bob = signed_up(core, oidc_provider, "bob-at-idp", "bob")
    taken = journey(core, oidc_provider, "bob-at-idp", "link", session, alice.user)
    assert (taken.status, taken.outcome.result) == (409, Result.TAKEN)
    assert db.linked_identities.find_one({"subject": "bob-at-idp"})["user_id"] == bob.user.id


def test_unlinking_needs_another_way_in(oidc_core, oidc_provider, db):
    core = oidc_core()
    only = signed_up(core, oidc_provider, "erin", "erin")
    identity = core.identities.linked(only.user.id)[0]
    refused = core.identities.unlink(only.session, only.user, identity.id, ip=IP)
    assert refused.result is Result.INVALID and "only way" in refused.message
    assert db.linked_identities.count_documents({"user_id": only.user.id}) == 1
    # With a password of its own (set by the operator here), the identity may go.
    assert core.passwords.set_password(only.user.id, "a new long password",
                                      keep_session_id=only.session.id).ok
    assert not db.users.find_one({"_id": only.user.id}).get("password_unknown")
    assert core.identities.unlink(only.session, only.user, identity.id, ip=IP).ok
    assert db.linked_identities.count_documents({}) == 0
    assert db.security_events.count_documents({"kind": "identity_unlinked"}) == 1
    # Unlinked, the identity is a new one again (a new account, never erin's).
    assert journey(core, oidc_provider, "erin").action == "signup"


def test_a_matching_unverified_email_neither_links_nor_logs_in(oidc_core, oidc_provider,
                                                               db, clock):
    """The takeover the anchors' users suffered: an outside identity made with the
    victim's address. Here an address never finds an account, verified or not."""
    core = oidc_core()
    victim = core.accounts.sign_up("dave", "correct horse battery", ip=IP)
    db.users.update_one({"_id": victim.user.id}, {"$set": {
        "email": "dave@example.com", "email_key": "dave@example.com",
        "email_verified_at": clock()}})
    sessions_before = db.sessions.count_documents({"user_id": victim.user.id})
    for login in ("dave", "verified-dave"):  # email_verified false, then true
        found = journey(core, oidc_provider, login)
        assert found.action == "signup" and found.outcome.token is None
    assert db.linked_identities.count_documents({}) == 0
    assert db.sessions.count_documents({"user_id": victim.user.id}) == sessions_before
    assert core.identities.finish_signup(found.signup_token, "dave", ip=IP).status == 409


def test_replayed_and_swapped_state_are_refused(oidc_core, oidc_provider, caplog):
    caplog.set_level("INFO", logger="auth.events")
    core = oidc_core()
    first, second = start(core), start(core)
    params = callback_params(oidc_provider.log_in(first.url, "frank"))
    # Another browser's state (the attacker's callback URL in the victim's browser).
    swapped = core.federation.complete(params, second.state, session=None, user=None, ip=IP)
    assert swapped.status == 400 and "did not start in this browser" in swapped.outcome.message
    assert core.federation.complete(params, None, session=None, user=None, ip=IP).status == 400
    done = core.federation.complete(params, first.state, session=None, user=None, ip=IP)
    assert done.action == "signup"
    replay = core.federation.complete(params, first.state, session=None, user=None, ip=IP)
    assert replay.status == 400 and replay.action == "refused"
    # A used code under a fresh state is refused by the provider (and by PKCE).
    third = start(core)
    reused = core.federation.complete(params | {"state": third.state}, third.state,
                                      session=None, user=None, ip=IP)
    assert reused.status == 400 and "did not accept" in reused.outcome.message
    # Logged (not stored: no account is known yet), with why.
    assert "state not this browser" in caplog.text and "invalid_grant" in caplog.text


def test_a_wrong_iss_or_nonce_is_refused(oidc_core, oidc_provider, db, caplog):
    caplog.set_level("INFO", logger="auth.events")
    core = oidc_core()
    wrong_iss = journey(core, oidc_provider, "gina", iss="http://127.0.0.1:1")
    assert wrong_iss.status == 400 and "another provider" in wrong_iss.outcome.message
    begun = start(core)
    params = callback_params(oidc_provider.log_in(begun.url, "gina"))
    del params["iss"]  # the provider says it always sends one (RFC 9207)
    assert core.federation.complete(params, begun.state, session=None, user=None,
                                    ip=IP).status == 400
    # An authorization request whose nonce is not the one this log-in stored.
    begun = start(core)
    parts = urlsplit(begun.url)
    query = dict(parse_qsl(parts.query)) | {"nonce": "n" * 43}
    url = urlunsplit(parts._replace(query=urlencode(query)))
    params = callback_params(oidc_provider.log_in(url, "gina"))
    refused = core.federation.complete(params, begun.state, session=None, user=None, ip=IP)
    assert refused.status == 400 and "could not be verified" in refused.outcome.message
    assert "InvalidClaimError" in caplog.text and "nonce" in caplog.text
    assert db.linked_identities.count_documents({}) == 0 and db.oidc_flows.count_documents(
        {"purpose": "signup"}) == 0


def test_an_id_token_for_another_client_is_refused(oidc_core, oidc_provider, clock):
    ours, theirs = oidc_core(), oidc_core(1)
    begun = start(theirs)
    params = callback_params(oidc_provider.log_in(begun.url, "hank"))
    flow = theirs.storage.identities.take_flow(flow_key(begun.state), "authorize", clock())
    token = theirs.federation.clients["testidp"].exchange(params["code"], flow["verifier"])
    now = int(clock().timestamp())
    claims = theirs.federation.clients["testidp"].id_token_claims(
        token["id_token"], nonce=flow["nonce"], access_token=token["access_token"], now=now)
    assert claims["aud"] in ("other", ["other"])  # a good token, for the other client
    with pytest.raises(ProviderError, match="could not be verified") as refused:
        ours.federation.clients["testidp"].id_token_claims(
            token["id_token"], nonce=flow["nonce"], access_token=token["access_token"],
            now=now)
    assert "aud" in refused.value.detail


def test_eight_parallel_callbacks_with_one_code_give_one_session(oidc_core, oidc_provider,
                                                                 db):
    core = oidc_core()
    ivan = signed_up(core, oidc_provider, "ivan", "ivan")
    before = db.sessions.count_documents({"user_id": ivan.user.id})
    begun = start(core)
    params = callback_params(oidc_provider.log_in(begun.url, "ivan"))
    results = parallel(8, lambda _: core.federation.complete(
        params, begun.state, session=None, user=None, ip=IP).action)
    assert results == {"login": 1, "refused": 7}
    assert db.sessions.count_documents({"user_id": ivan.user.id}) == before + 1


def test_a_second_factor_is_still_asked(oidc_core, oidc_provider, clock):
    core = oidc_core()
    judy = signed_up(core, oidc_provider, "judy", "judy")
    assert core.second_factor.start(judy.session, judy.user).ok
    secret = core.second_factor.status(judy.user).enrolment.secret
    assert core.second_factor.confirm(judy.session, judy.user,
                                      pyotp.TOTP(secret).at(clock()))[0].ok
    found = journey(core, oidc_provider, "judy")
    assert found.action == "login" and found.outcome.result is Result.SECOND_FACTOR
    assert core.sessions.validate_session_token(found.outcome.token).session.pending
    # Trusting the provider's own multi-factor claim is the operator's choice, per provider.
    flows = core.federation
    assert not flows._mfa_asserted(OidcProvider("p", "P", "https://p", "c", "s"),
                                   {"amr": ["mfa"]})
    trusting = OidcProvider("p", "P", "https://p", "c", "s", trust_mfa=True, mfa_acr=("x",))
    assert flows._mfa_asserted(trusting, {"amr": ["pwd", "mfa"]})
    assert flows._mfa_asserted(trusting, {"acr": "x"})
    assert not flows._mfa_asserted(trusting, {"amr": ["pwd"], "acr": "y"})


def test_denied_consent_is_a_clear_refusal(oidc_core, oidc_provider):
    core = oidc_core()
    begun = start(core)
    params = callback_params(oidc_provider.log_in(begun.url, "kate", abort=True))
    assert params["error"] == "access_denied"
    refused = core.federation.complete(params, begun.state, session=None, user=None, ip=IP)
    assert refused.status == 403 and "did not allow" in refused.outcome.message


def test_a_provider_that_is_down_is_a_quick_503_and_passwords_still_work(make_core):
    nobody = OidcProvider("down", "Down IdP", f"http://127.0.0.1:{free_port()}", "c", "s",
                          timeout=1.0)
    core = make_core(oidc_providers=(nobody,))
    core.accounts.sign_up("lena", "correct horse battery", ip=IP)
    began = time.monotonic()
    refused = core.federation.begin("down")
    assert refused.status == 503 and "not answering" in refused.outcome.message
    assert time.monotonic() - began < 3
    began = time.monotonic()
    assert core.accounts.log_in("lena", "correct horse battery", ip=IP).ok
    assert time.monotonic() - began < 3
