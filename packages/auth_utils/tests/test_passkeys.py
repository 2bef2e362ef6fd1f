"""Passkeys on the real server, attacked the way the issue lists: a replayed assertion,
a stale or reused challenge, a wrong origin or RP id, another user's credential, a sign
count that does not go up. Each is refused with no session."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from auth_utils import Result
from auth_utils.services.passkeys import PasskeyError
from devtools.testing import LANDING, WEB, SoftAuthenticator, parallel


@pytest.fixture
def alice(core):
    """alice, signed up just now (so her session may add a passkey), and her passkey."""
    out = core.accounts.sign_up("alice", "correct horse", ip="1")
    device = SoftAuthenticator(origin=WEB)  # registered in the web app
    options = core.passkeys.passkeys.registration_options(out.user.id, "alice")
    added = core.passkeys.add(out.session, out.user,
                                      json.dumps(device.register(options)), "  My  laptop ")
    assert added.ok
    device.origin = LANDING  # and used on the landing app
    return out, device


def log_in(core, device, **bend):
    options = core.passkeys.login_options()
    return core.passkeys.log_in(json.dumps(device.assert_(options, **bend)),
                                             ip="1")


def test_register_then_log_in_without_a_username(core, alice, db):
    out, device = alice
    stored = db.passkeys.find_one()
    assert stored["user_id"] == out.user.id and stored["name"] == "My laptop"
    done = log_in(core, device)
    assert done.ok and done.user.username == "alice"
    assert core.sessions.validate_session_token(done.token).valid  # complete, not pending
    assert db.passkeys.find_one()["sign_count"] == 1 and db.passkeys.find_one()["last_used_at"]
    assert db.webauthn_challenges.count_documents({"purpose": {"$ne": "spent"}}) == 0


def test_replayed_assertion_and_reused_challenge_are_refused(core, alice, db):
    _, device = alice
    options = core.passkeys.login_options()
    assertion = json.dumps(device.assert_(options))
    assert core.passkeys.log_in(assertion, ip="1").ok
    sessions = db.sessions.count_documents({})
    replay = core.passkeys.log_in(assertion, ip="1")
    assert replay.result is Result.INVALID and "used already" in replay.message
    again = core.passkeys.log_in(json.dumps(device.assert_(options)), ip="1")
    assert again.result is Result.INVALID  # a new signature on a used challenge
    assert db.sessions.count_documents({}) == sessions


def test_stale_challenge_is_refused(core, alice, clock):
    _, device = alice
    options = core.passkeys.login_options()
    clock.advance(minutes=5, seconds=1)
    stale = core.passkeys.log_in(json.dumps(device.assert_(options)), ip="1")
    assert stale.result is Result.INVALID and stale.token is None


@pytest.mark.parametrize("bend", [{"origin": "https://evil.example"},
                                  {"origin": "http://localhost:4322"},
                                  {"rp_id": "evil.example"},
                                  {"count": 0},  # a sign count that did not go up
                                  {"user_handle": b"someone else"}])
def test_bent_assertions_are_refused(core, alice, bend, db):
    _, device = alice
    log_in(core, device)  # sign count 1 now
    sessions = db.sessions.count_documents({})
    refused = log_in(core, device, **bend)
    assert refused.result is Result.INVALID and refused.token is None, bend
    assert db.sessions.count_documents({}) == sessions


def test_a_credential_of_alice_never_logs_in_as_bob(core, alice):
    _, device = alice
    bob = core.accounts.sign_up("bob", "bob password!", ip="1")
    core.second_factor.factors.start(bob.user.id, "bob")
    # bob's pending log-in (as if he had a second factor) offered alice's passkey
    token, pending = core.sessions.create_session(bob.user.id, "bob", pending=True)
    options = core.passkeys.login_options()
    refused = core.second_factor.verify_with_passkey(
        pending, bob.user, json.dumps(device.assert_(options)), ip="1")
    assert refused.result is Result.INVALID and "another account" in refused.message
    assert core.sessions.validate_session_token(token).pending  # still only pending


def test_a_credential_id_is_unique_across_users(core, alice):
    _, device = alice
    bob = core.accounts.sign_up("bob", "bob password!", ip="1")
    options = core.passkeys.passkeys.registration_options(bob.user.id, "bob")
    device.origin = WEB
    with pytest.raises(PasskeyError, match="registered already"):
        core.passkeys.passkeys.register(bob.user.id, json.dumps(device.register(options)), "x")


def test_registration_needs_a_recent_verification_and_its_own_challenge(core, alice, clock):
    out, _ = alice
    other = core.accounts.sign_up("carol", "carol password", ip="1")
    options = core.passkeys.passkeys.registration_options(other.user.id, "carol")
    with pytest.raises(PasskeyError, match="another session"):  # carol's challenge
        core.passkeys.passkeys.register(out.user.id, json.dumps(
            SoftAuthenticator(origin=WEB).register(options)), "x")
    clock.advance(minutes=11)
    options = core.passkeys.passkeys.registration_options(out.user.id, "alice")
    late = core.passkeys.add(out.session, out.user, json.dumps(
        SoftAuthenticator(origin=WEB).register(options)), "phone")
    assert late.result is Result.REAUTH


def test_removed_passkey_no_longer_logs_in(core, alice, clock):
    out, device = alice
    credential_id = core.passkeys.passkeys.for_user(out.user.id)[0].id
    assert core.passkeys.remove(out.session, out.user, credential_id).ok
    refused = log_in(core, device)
    assert refused.result is Result.INVALID and "not registered" in refused.message
    clock.advance(minutes=1)
    assert core.passkeys.passkeys.rename(out.user.id, credential_id, "x") is False


def test_log_in_options_store_nothing_and_a_spent_challenge_is_swept_by_ttl(core, alice, db):
    """Security round 3, item 2: 2,000 anonymous option requests stored 2,000 challenges.
    A log-in challenge is signed now; only an assertion that spends it writes (a marker
    that expires with it)."""
    _, device = alice
    before = db.webauthn_challenges.count_documents({})
    results = parallel(20, lambda i: [core.passkeys.login_options() for _ in range(10)][-1])
    assert sum(results.values()) == 20 and len(results) == 20  # all different
    assert db.webauthn_challenges.count_documents({}) == before
    assert log_in(core, device).ok
    doc = db.webauthn_challenges.find_one({"purpose": "spent"})
    assert timedelta(minutes=4) < doc["expires_at"] - core.sessions.clock() <= timedelta(
        minutes=5)
    info = db.webauthn_challenges.index_information()
    assert any(s.get("expireAfterSeconds") == 0 for s in info.values())


@pytest.mark.parametrize("bend", ["tamper", "forge", "short"])
def test_a_log_in_challenge_we_did_not_sign_is_refused(core, alice, db, bend):
    """The signature is what makes a challenge ours: a changed byte, one signed with
    another key, or one of the wrong length is refused, and nothing is stored."""
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

    from auth_utils.services.passkeys import Passkeys

    _, device = alice
    options = json.loads(core.passkeys.login_options())
    raw = bytearray(base64url_to_bytes(options["challenge"]))
    if bend == "tamper":
        raw[20] ^= 1  # the expiry, pushed on
    elif bend == "forge":
        other = Passkeys(core.storage.passkeys, core.passkeys.passkeys.rp,
                         challenge_key=b"k" * 32, clock=core.sessions.clock)
        raw = bytearray(base64url_to_bytes(json.loads(other.authentication_options())[
            "challenge"]))
    else:
        raw = raw[:24]
    options["challenge"] = bytes_to_base64url(bytes(raw))
    before = db.webauthn_challenges.count_documents({})
    refused = core.passkeys.log_in(json.dumps(device.assert_(json.dumps(options))), ip="1")
    assert refused.result is Result.INVALID and "expired or was used" in refused.message
    assert db.webauthn_challenges.count_documents({}) == before


def test_one_assertion_sent_ten_times_at_once_logs_in_once(core, alice, db):
    _, device = alice
    assertion = json.dumps(device.assert_(core.passkeys.login_options()))
    sessions = db.sessions.count_documents({})
    results = parallel(10, lambda i: core.passkeys.log_in(assertion,
                                                                       ip="1").result)
    assert results[Result.OK] == 1 and results[Result.INVALID] == 9, results
    assert db.sessions.count_documents({}) == sessions + 1
