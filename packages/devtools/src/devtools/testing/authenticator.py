"""A software WebAuthn authenticator for the server-side passkey tests."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from devtools.testing.environment import LANDING

__all__ = ["SoftAuthenticator"]


class SoftAuthenticator:
    """A software passkey for server-side tests: makes the registration and assertion
    JSON a browser would send (attestation "none", ES256), so tests can bend one field
    at a time (origin, RP id, sign count, user handle) the way an attacker would. The
    browser tests use Chromium's own virtual authenticator instead."""

    def __init__(self, rp_id: str = "localhost", origin: str = LANDING) -> None:
        self.rp_id, self.origin = rp_id, origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.sign_count = 0
        self.user_handle = b""

    @staticmethod
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def _client_data(self, kind: str, options: dict, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": options["challenge"],
                           "origin": origin or self.origin, "crossOrigin": False}).encode()

    def _auth_data(self, flags: int, rp_id: str | None, extra: bytes = b"") -> bytes:
        return (hashlib.sha256((rp_id or self.rp_id).encode()).digest() + bytes([flags])
                + self.sign_count.to_bytes(4, "big") + extra)

    def register(self, options_json: str, *, origin: str | None = None) -> dict:
        options = json.loads(options_json)
        self.user_handle = _b64decode(options["user"]["id"])
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + \
            self.credential_id + cose
        auth_data = self._auth_data(0x45, None, attested)  # UP, UV, attested data
        client_data = self._client_data("webauthn.create", options, origin)
        return {"id": self.b64(self.credential_id), "rawId": self.b64(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": self.b64(client_data), "transports": [
                    "internal"], "attestationObject": self.b64(cbor2.dumps(
                        {"fmt": "none", "attStmt": {}, "authData": auth_data}))}}

    def assert_(self, options_json: str, *, origin: str | None = None,
                rp_id: str | None = None, user_handle: bytes | None = None,
                count: int | None = None) -> dict:
        options = json.loads(options_json)
        self.sign_count = self.sign_count + 1 if count is None else count
        auth_data = self._auth_data(0x05, rp_id)  # UP, UV
        client_data = self._client_data("webauthn.get", options, origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {"id": self.b64(self.credential_id), "rawId": self.b64(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": self.b64(client_data),
                             "authenticatorData": self.b64(auth_data),
                             "signature": self.b64(signature),
                             "userHandle": self.b64(user_handle if user_handle is not None
                                                    else self.user_handle)}}


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
