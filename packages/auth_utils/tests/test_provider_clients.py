"""Our OpenID Connect provider's clients (`auth-admin clients`) and signing keys: the
secret shown once and stored hashed, exact redirect URIs, keys sealed at rest and
published with a kid, rotation with an overlap."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from joserfc import jwt
from joserfc.jwk import KeySet

from auth_utils.services.signing_keys import SigningKeys


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


def test_client_ids_never_read_as_a_command_line_option(core):
    """A base64url id started with "-" one time in 64, and `auth-admin clients remove
    -abc...` then failed as an unknown option (seen in a full run)."""
    ids = [core.openid.register(f"client {n}", ["https://app.example.org/cb"],
                                public=True)[0] for n in range(40)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", client_id) for client_id in ids), ids
