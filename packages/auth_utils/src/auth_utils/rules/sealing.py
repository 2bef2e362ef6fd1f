"""Values sealed at rest: AES-256-GCM under a key of its own per purpose, each derived
(HKDF-SHA-256) from the one operator secret MFA_ENCRYPTION_KEY, and each value bound to
its context (a user id, a message id) so it opens nowhere else. Used for TOTP secrets,
mail bodies, signing keys and the stateless passkey challenges' key."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["SealedBox", "derive_key"]


def derive_key(key_material: str, purpose: bytes) -> bytes:
    """A 256-bit key for one purpose (HKDF-SHA-256) from the one operator secret: keys of
    different purposes are independent, so none opens what another sealed."""
    return HKDF(SHA256(), 32, salt=None, info=b"monorepo-auth " + purpose).derive(
        key_material.encode())


class SealedBox:
    """AES-256-GCM under the key derived for `purpose`; each sealed value is bound to a
    context (the associated data: a user id, a message id), so it opens nowhere else."""

    def __init__(self, key_material: str, purpose: bytes) -> None:
        self._aead = AESGCM(derive_key(key_material, purpose))

    def seal(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, sealed: str, context: str) -> str | None:
        """The plaintext, or None when it was not sealed for this context with this key."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode())
            return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except (InvalidTag, ValueError):
            return None
