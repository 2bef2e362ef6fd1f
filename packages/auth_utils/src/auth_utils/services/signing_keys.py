"""The keys our OpenID Connect provider signs ID tokens with (ES256, P-256), made and
used by joserfc; no cryptography here beyond calling it.

Each private key is stored sealed (AES-GCM under a key derived from MFA_ENCRYPTION_KEY
for this purpose, bound to its `kid`), so a copy of the database cannot sign tokens.
The `kid` is the key's RFC 7638 thumbprint.

Rotation with a published overlap (`auth-admin keys rotate`, docs/deploy.md): there is
always a "next" key in the JWKS besides the "current" one, so relying parties that cache
the JWKS already hold the next key before it signs anything. Rotating makes "next" sign,
retires the old current key (still published for `RETIRED_OVERLAP`, longer than any ID
token lives) and makes a new "next".

Every process signs with a key the database holds now and publishes the keys the database
holds: `current()` reads them at each use (signing is rare: a token exchange, a refresh, a
Logout Token), and `jwks()` reuses a read for at most `PUBLISH_CACHE_SECONDS` (the JWKS is
public, so a flood of requests costs one read a second). A longer cache let one process
sign with a key another process did not publish yet (two processes making the first keys
at once, two rotations within the cache's life) or with a key no longer stored, and a
relying party refused its ID tokens and Logout Tokens for that long.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from joserfc.jwk import ECKey, KeySet

from auth_utils.rules.clock import Clock, utc_now
from auth_utils.rules.sealing import SealedBox
from auth_utils.storage import OAuthStore

__all__ = ["ALG", "PUBLISH_CACHE_SECONDS", "RETIRED_OVERLAP", "SigningKeys"]

ALG = "ES256"
PURPOSE = b"oidc signing key"
PUBLISH_CACHE_SECONDS = 1.0  # how long `jwks()` reuses the keys it read
RETIRED_OVERLAP = timedelta(days=2)  # a retired key stays in the JWKS this long


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    state: str
    created_at: Any


class SigningKeys:
    """The provider's keys: `current()` to sign with, `jwks()` to publish."""

    def __init__(self, store: OAuthStore, key_material: str, *, clock: Clock = utc_now
                 ) -> None:
        self.store = store
        self.box = SealedBox(key_material, PURPOSE)
        self.clock = clock
        self._lock = threading.Lock()
        self._published: tuple[float, list] | None = None

    def _new(self, state: str) -> str:
        key = ECKey.generate_key("P-256", private=True)
        kid = key.thumbprint()
        private = {**key.as_dict(private=True), "kid": kid, "alg": ALG, "use": "sig"}
        public = {**key.as_dict(private=False), "kid": kid, "alg": ALG, "use": "sig"}
        self.store.add_key(id=kid, alg=ALG, sealed=self.box.seal(json.dumps(private), kid),
                           public=public, state=state, created_at=self.clock(),
                           expires_at=None)
        self._published = None
        return kid

    def _records(self) -> list:
        """The stored keys, read now."""
        records = self.store.keys(self.clock())
        if not any(r.state == "current" for r in records):
            # First use: a current key and its successor. Two processes racing here make
            # two current keys; both are stored, so both are published, and the newest
            # signs.
            self._new("current")
            self._new("next")
            records = self.store.keys(self.clock())
        return records

    def _published_records(self) -> list:
        with self._lock:
            if self._published and \
                    time.monotonic() - self._published[0] < PUBLISH_CACHE_SECONDS:
                return self._published[1]
        records = self._records()
        with self._lock:
            self._published = (time.monotonic(), records)
        return records

    def current(self) -> ECKey:
        """The private key that signs now (the newest "current" one), read from the
        database at each call: never one it no longer holds or one being replaced."""
        record = next(r for r in self._records() if r.state == "current")
        key = self._open(record)
        if key is None:
            raise RuntimeError(f"signing key {record.id} cannot be opened: was "
                               "MFA_ENCRYPTION_KEY changed? (docs/deploy.md)")
        return key

    def signing_set(self) -> KeySet:
        """The stored private keys that open (current, next, retired), for a signer that
        took its header's `kid` from an earlier read (Authlib asks for the header and the
        key separately): the key of that kid is found even if a rotation came in between.
        A retired key sealed under an earlier MFA_ENCRYPTION_KEY is left out, not an
        error: it signs nothing, and every ID token would fail for its two days."""
        opened = (self._open(record) for record in self._records())
        return KeySet([key for key in opened if key is not None])

    def _open(self, record: Any) -> ECKey | None:
        """The private key, or None when it does not open (sealed under another key)."""
        opened = self.box.open(record.sealed, record.id)
        return None if opened is None else ECKey.import_key(json.loads(opened))

    def jwks(self) -> dict:
        """The public keys to publish: current, next and the retired ones still in overlap."""
        return {"keys": [dict(r.public) for r in self._published_records()]}

    def list(self) -> list[KeyInfo]:
        return [KeyInfo(r.id, r.state, r.created_at) for r in self._records()]

    def rotate(self) -> str:
        """The "next" key signs from now on; the old current one is retired (published for
        RETIRED_OVERLAP more), and a new "next" key is published. The new signing kid."""
        records = self.store.keys(self.clock())
        upcoming = next((r for r in records if r.state == "next"), None)
        # None published ahead only when rotating before any first use.
        upcoming_kid = self._new("next") if upcoming is None else upcoming.id
        self.store.retire_keys("current", self.clock() + RETIRED_OVERLAP)
        self.store.set_key_state(upcoming_kid, "current", from_state="next")
        self._new("next")
        self._published = None
        return upcoming_kid
