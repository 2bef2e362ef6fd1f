"""Our OpenID Connect provider's clients (`auth-admin clients`) and signing keys: the
secret shown once and stored hashed, exact redirect URIs, keys sealed at rest and
published with a kid, rotation with an overlap."""

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import KeySet

from auth_utils.services.signing_keys import PUBLISH_CACHE_SECONDS, SigningKeys


def admin(*args):
    """`auth-admin` as the operator runs it: a process of its own against the server."""
    exe = Path(sys.executable).with_name("auth-admin")
    return subprocess.run([str(exe), *args], capture_output=True, text=True,
                          env={**os.environ}, timeout=60)


def test_clients_add_list_remove(db):
    r = admin("clients", "add", "Partner", "--redirect-uri", "https://partner.test/cb",
              "--redirect-uri", "http://localhost:8000/cb")
    assert r.returncode == 0, r.stderr
    lines = dict(line.split("\t") for line in r.stdout.splitlines())
    client_id, secret = lines["client_id"], lines["client_secret"]
    assert "shown this once" in r.stderr
    stored = db.oauth_clients.find_one({"_id": client_id})
    assert stored["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(stored, default=str)
    assert stored["redirect_uris"] == ["https://partner.test/cb", "http://localhost:8000/cb"]
    assert not stored["public"] and not stored["first_party"]

    r = admin("clients", "add", "Phone app", "--redirect-uri", "https://app.test/cb",
              "--public", "--first-party")
    assert r.returncode == 0 and "client_secret" not in r.stdout
    public_id = r.stdout.split("\t")[1].split()[0]
    assert db.oauth_clients.find_one({"_id": public_id})["secret_hash"] == ""

    listed = admin("clients", "list").stdout
    assert "Partner" in listed and "Phone app" in listed and secret not in listed
    assert admin("clients", "remove", client_id).returncode == 0
    assert db.oauth_clients.find_one({"_id": client_id}) is None
    assert admin("clients", "remove", client_id).returncode == 1


def test_redirect_uris_must_be_safe(db):
    for bad in ("http://partner.test/cb", "https://partner.test/cb#x", "/cb",
                "https://user:pw@partner.test/cb", "javascript:alert(1)"):
        r = admin("clients", "add", "Bad", "--redirect-uri", bad)
        assert r.returncode == 1, bad
    assert db.oauth_clients.count_documents({}) == 0


def test_keys_sealed_published_and_rotated(db, core):
    keys: SigningKeys = core.openid.keys
    signer = keys.current()
    published = keys.jwks()["keys"]
    assert {k["kid"] for k in published} == {signer.kid, *(k["kid"] for k in published)}
    assert len(published) == 2 and all("d" not in k for k in published)  # public only
    assert all(k["alg"] == "ES256" and k["use"] == "sig" for k in published)
    for doc in db.signing_keys.find():
        assert "d" not in doc["public"] and '"d"' not in doc["sealed"]  # sealed at rest
    upcoming = next(k["kid"] for k in published if k["kid"] != signer.kid)

    token = jwt.encode({"alg": "ES256", "kid": signer.kid}, {"sub": "x"}, signer)
    assert keys.rotate() == upcoming  # the key published ahead starts signing
    after = KeySet.import_key_set(SigningKeys(core.storage.oauth, core.settings.mfa_encryption_key
                                              ).jwks())
    assert {signer.kid, upcoming} <= {k.kid for k in after.keys}  # the old one overlaps
    assert len(after.keys) == 3
    assert jwt.decode(token, after).claims["sub"] == "x"  # its tokens still verify
    fresh = SigningKeys(core.storage.oauth, core.settings.mfa_encryption_key)
    assert fresh.current().kid == upcoming
    # Another MFA_ENCRYPTION_KEY cannot open the keys: a copy of the database cannot sign.
    other = SigningKeys(core.storage.oauth, "another key entirely, 43 characters long...")
    try:
        other.current()
        raise AssertionError("opened with the wrong key")
    except RuntimeError as exc:
        assert "MFA_ENCRYPTION_KEY" in str(exc)


def test_keys_rotate_from_the_cli(db):
    first = admin("keys", "list")  # the first use makes a current key and a next one
    assert sorted(line.split("\t")[1] for line in first.stdout.splitlines()) == \
        ["current", "next"]
    r = admin("keys", "rotate")
    assert r.returncode == 0, r.stderr
    states = [line.split("\t")[1] for line in r.stdout.splitlines()[1:]]
    assert states.count("current") == 1 and states.count("next") == 1
    assert "retired" in states


def test_every_process_signs_with_a_key_every_process_publishes(db, core):
    """Two processes (the CLI, and `keys` here, which has already signed): after two
    rotations in a row, and after the stored keys are gone, this one signs with the key
    the database holds and publishes it within PUBLISH_CACHE_SECONDS. With a 60 s cache
    it signed with a retired key, then with a key no longer stored, and another process
    published neither for up to a minute: relying parties refused those tokens."""
    keys: SigningKeys = core.openid.keys
    first = keys.current().kid
    assert first in {k["kid"] for k in keys.jwks()["keys"]}
    for _ in range(2):
        assert admin("keys", "rotate").returncode == 0

    def stored_current() -> str:
        return db.signing_keys.find_one({"state": "current"}, sort=[("created_at", -1)])["_id"]

    signer = keys.current().kid
    assert signer == stored_current() != first
    time.sleep(PUBLISH_CACHE_SECONDS)
    assert signer in {k["kid"] for k in keys.jwks()["keys"]}

    db.signing_keys.delete_many({})  # an operator restored an older dump, say
    replacement = keys.current().kid
    assert replacement == stored_current() != signer
    time.sleep(PUBLISH_CACHE_SECONDS)
    assert {k["kid"] for k in keys.jwks()["keys"]} == {
        d["_id"] for d in db.signing_keys.find()}


def test_an_id_token_signed_across_a_rotation_names_the_key_that_signed_it(db, core):
    """Authlib asks for the ID token's header (our kid) and for the key separately; a
    rotation in another process between the two must not give a token whose kid names
    another key than the one that signed it (relying parties would refuse it)."""
    from auth_utils.flows.provider.grants import _IdToken

    id_token = _IdToken(core.openid.context)
    header = id_token.get_encode_header(None)
    assert admin("keys", "rotate").returncode == 0
    token = jwt.encode(header, {"sub": "x"}, id_token.resolve_client_private_key(None),
                       algorithms=["ES256"])
    published = KeySet.import_key_set(core.openid.keys.jwks())
    decoded = jwt.decode(token, published)  # the key of the header's kid verifies it
    assert decoded.header["kid"] == header["kid"] != core.openid.keys.current().kid

    # A retired key sealed under an earlier MFA_ENCRYPTION_KEY (deploy.md's rotation of
    # that key) stays published for two days; it must not stop every ID token meanwhile.
    earlier = SigningKeys(core.storage.oauth, "an earlier MFA_ENCRYPTION_KEY, 43 characters")
    earlier._new("retired")
    header = id_token.get_encode_header(None)
    token = jwt.encode(header, {"sub": "y"}, id_token.resolve_client_private_key(None),
                       algorithms=["ES256"])
    assert jwt.decode(token, KeySet.import_key_set(core.openid.keys.jwks())).claims["sub"] == "y"


def test_client_ids_never_read_as_a_command_line_option(core):
    """A base64url id started with "-" one time in 64, and `auth-admin clients remove
    -abc...` then failed as an unknown option (seen in a full run)."""
    ids = [core.openid.register(f"client {n}", ["https://app.example.org/cb"],
                                public=True)[0] for n in range(40)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", client_id) for client_id in ids), ids


def test_clients_logouts_lists_the_failed_ones_and_requeues_them(db, core):
    """An operator sees which client did not hear of a log-out after every retry, and can
    have it tried again once the client is fixed."""
    import httpx

    from auth_utils.services.backchannel import LogoutSender
    from db_utils.outbox import Retry
    from devtools.testing.oidc import free_port

    down, _ = core.openid.register("Down app", ["https://down.test/cb"],
                                   backchannel_logout_uri=f"http://127.0.0.1:{free_port()}/bc")
    fine, _ = core.openid.register("Fine app", ["https://fine.test/cb"],
                                   backchannel_logout_uri="https://fine.test/bc")
    assert core.accounts.register("alice", "correct horse battery").ok
    alice = core.storage.users.by_username("alice")
    _, ended = core.sessions.create_session(alice.id, "alice")
    _, live = core.sessions.create_session(alice.id, "alice")
    backchannel = core.openid.backchannel
    backchannel.arm(session_id=ended.id, client_id=down, user_id=alice.id, sid="s1")
    backchannel.arm(session_id=live.id, client_id=fine, user_id=alice.id, sid="s2")
    core.sessions.invalidate_session(ended.id)  # its pair is due
    sender = LogoutSender(backchannel, retry=Retry(max_attempts=1), timeout=1)
    with httpx.Client(timeout=1, trust_env=False) as http:  # the port refuses: failed
        assert sender.run_once(http) == 1
    assert sender.outcomes == {"failed": 1}

    r = admin("clients", "logouts")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "armed 1\tpending 0\tdelivered 0\tfailed 1"
    assert len(lines) == 3
    r = admin("clients", "logouts", "--failed")
    assert r.returncode == 0, r.stderr
    [line] = r.stdout.splitlines()[1:]
    fields = line.split("\t")
    assert fields[1:6] == ["failed", "1 attempt(s)", down, "Down app", "alice"]
    assert "ConnectError" in fields[6]
    assert admin("clients", "logouts", "--status", "armed", "--client", down
                 ).stdout.splitlines()[1:] == []
    # One-line errors: an unknown client, contradicting or bad options.
    r = admin("clients", "logouts", "--client", "no-such-client")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.strip().splitlines()[-1].startswith("auth-admin: no client 'no-such")
    assert admin("clients", "logouts", "--failed", "--status", "armed").returncode == 2
    # Requeued: pending again from zero attempts, for the sender to try once more.
    r = admin("clients", "logouts", "--requeue", "--client", down)
    assert r.returncode == 0 and r.stdout == "1 failed log-out(s) queued again\n"
    again = db.oauth_logouts.find_one({"client_id": down})
    assert again["status"] == "pending" and again["attempts"] == 0
    assert "expires_at" not in again


def test_log_outs_of_an_issuer_nobody_serves_are_failed_for_operators_after_a_day(db, core):
    """Senders claim only their issuer's pairs; one armed under a LANDING_URL since moved
    would stay pending for ever, unseen. The sweep fails it after UNCLAIMED_AFTER, with
    the reason, so `clients logouts --failed` shows it; ours and recent ones stay."""
    from datetime import timedelta

    from auth_utils.services.backchannel import UNCLAIMED_AFTER, Backchannel

    client, _ = core.openid.register("App", ["https://app.test/cb"],
                                     backchannel_logout_uri="https://app.test/bc")
    ours = core.openid.backchannel
    moved = Backchannel(core.storage.oauth, ours.keys, issuer="https://old.example")
    cases = [(moved, UNCLAIMED_AFTER), (ours, UNCLAIMED_AFTER), (moved, timedelta(hours=1))]
    for n, (backchannel, _) in enumerate(cases):
        backchannel.arm(session_id=f"gone-{n}", client_id=client, user_id="u", sid=f"s{n}")
    assert ours.sweep() == 3  # no such sessions: all three due now
    for n, (_, overdue) in enumerate(cases):
        db.oauth_logouts.update_one({"session_id": f"gone-{n}"}, {"$set": {
            "next_attempt_at": ours.clock() - overdue - timedelta(seconds=1)}})
    ours.sweep()
    status = {d["session_id"]: d for d in db.oauth_logouts.find()}
    assert status["gone-0"]["status"] == "failed" and status["gone-0"]["expires_at"]
    assert status["gone-0"]["last_error"] == "no sender of its issuer claimed it in 24 h"
    assert status["gone-1"]["status"] == "pending"  # ours: the sender's own accounting
    assert status["gone-2"]["status"] == "pending"  # not a day yet
    assert db.oauth_logouts.find_one({"session_id": "gone-0"})["issuer"] == \
        "https://old.example"


def test_clients_logouts_help():
    r = admin("clients", "logouts", "--help")
    assert r.returncode == 0 and "--failed" in r.stdout and "after their retries" in r.stdout


def test_the_backchannel_set_on_the_provider_reaches_its_parts(db, core):
    """`core.openid.backchannel` is the context the parts share: cleared or set again on
    the provider after it was built, the consents part sees it at once (no Logout Token
    queued without it, one with it)."""
    from datetime import UTC, datetime

    from auth_utils.services.sessions import SessionUser

    openid = core.openid
    client, _ = openid.register("Partner", ["https://partner.test/cb"],
                                backchannel_logout_uri="https://partner.test/bc")
    assert core.accounts.register("alice", "correct horse battery").ok
    alice = core.storage.users.by_username("alice")
    _, session = core.sessions.create_session(alice.id, "alice")
    backchannel = openid.backchannel

    def allowed_then_withdrawn() -> int:
        backchannel.arm(session_id=session.id, client_id=client, user_id=alice.id, sid="s")
        openid.store.put_consent(id=f"{alice.id}:{client}", user_id=alice.id,
                                 client_id=client, scope="openid",
                                 created_at=datetime.now(UTC))
        assert openid.withdraw(SessionUser(alice.id, "alice"), client)
        return openid.logout_counts().get("pending", 0)

    openid.backchannel = None
    try:
        assert allowed_then_withdrawn() == 0
    finally:
        openid.backchannel = backchannel
    assert allowed_then_withdrawn() == 1
