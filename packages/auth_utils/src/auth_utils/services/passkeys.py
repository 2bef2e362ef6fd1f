"""Passkeys (WebAuthn) through the `webauthn` package: no CBOR or signature code here.

Registration and log-in both require a resident (discoverable) key and user
verification, so a passkey log-in is a complete multi-factor log-in. Challenges are
random, single use and live five minutes. A registration challenge is stored (only a
re-authenticated user asks for one); a log-in challenge, which anyone may ask for, is
signed instead (random bytes, expiry, HMAC) and nothing is stored until an assertion
spends it, so asking for options costs no write (security round 3, item 2). The relying party is the
registrable domain both apps share; both app origins are expected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from auth_utils.config import Settings
from auth_utils.rules.clock import Clock, utc_now
from auth_utils.storage import PasskeyStore, StoredPasskey

__all__ = ["PasskeyError", "Passkeys", "RelyingParty"]

CHALLENGE_LIFETIME = timedelta(minutes=5)
_NONCE, _EXPIRY, _TAG = 16, 8, 16  # a signed log-in challenge: 40 bytes
USED = "This passkey request has expired or was used already. Please try again."
NAME_MAX = 60


class PasskeyError(Exception):
    """A passkey step failed; the message is fit to show a person."""


@dataclass(frozen=True)
class RelyingParty:
    id: str  # "localhost" in development; the shared registrable domain in production
    name: str
    origins: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> RelyingParty:
        rp_id = settings.cookie_domain or urlsplit(settings.landing_url).hostname or "localhost"
        return cls(rp_id, "Monorepo Auth", tuple(sorted(settings.allowed_origins)))


def _challenge_of(client_data_json: bytes) -> str:
    return bytes_to_base64url(parse_client_data_json(client_data_json).challenge)


class Passkeys:
    def __init__(self, store: PasskeyStore, rp: RelyingParty, *, challenge_key: bytes,
                 clock: Clock = utc_now) -> None:
        self.store = store
        self.rp = rp
        self.clock = clock
        self._challenge_key = challenge_key  # signs log-in challenges (every process)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._challenge_key, b"login:" + body, hashlib.sha256).digest()[:_TAG]

    def _login_challenge(self) -> bytes:
        expiry = int((self.clock() + CHALLENGE_LIFETIME).timestamp())
        body = os.urandom(_NONCE) + expiry.to_bytes(_EXPIRY, "big")
        return body + self._sign(body)

    def _spend_login_challenge(self, challenge: str) -> None:
        """Accept a log-in challenge once: ours (the signature), unexpired, never spent
        before (the one write, made only for an assertion that got this far)."""
        try:
            raw = base64url_to_bytes(challenge)
        except ValueError:
            raise PasskeyError(USED) from None
        body, tag = raw[:_NONCE + _EXPIRY], raw[_NONCE + _EXPIRY:]
        if len(raw) != _NONCE + _EXPIRY + _TAG or not hmac.compare_digest(tag, self._sign(body)):
            raise PasskeyError(USED)
        expires_at = datetime.fromtimestamp(int.from_bytes(body[_NONCE:], "big"), UTC)
        if expires_at <= self.clock() or not self.store.spend_challenge(challenge, expires_at):
            raise PasskeyError(USED)

    def _remember(self, challenge: bytes, purpose: str, user_id: str) -> None:
        self.store.put_challenge(bytes_to_base64url(challenge), purpose, user_id,
                                 self.clock() + CHALLENGE_LIFETIME)

    def _take(self, challenge: str, purpose: str) -> str:
        user_id = self.store.take_challenge(challenge, purpose, self.clock())
        if user_id is None:
            raise PasskeyError(USED)
        return user_id

    # -- registration (web app, logged in, re-authenticated) -----------------------------

    def registration_options(self, user_id: str, username: str) -> str:
        options = generate_registration_options(
            rp_id=self.rp.id, rp_name=self.rp.name, user_name=username,
            user_id=user_id.encode(), user_display_name=username,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.REQUIRED,
                user_verification=UserVerificationRequirement.REQUIRED),
            exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.id))
                                 for p in self.store.for_user(user_id)],
        )
        self._remember(options.challenge, "register", user_id)
        return options_to_json(options)

    def register(self, user_id: str, credential_json: str, name: str) -> StoredPasskey:
        name = " ".join(name.split())[:NAME_MAX] or "Passkey"
        try:
            credential = parse_registration_credential_json(credential_json)
            challenge = _challenge_of(credential.response.client_data_json)
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise PasskeyError("The passkey response could not be read.") from exc
        if self._take(challenge, "register") != user_id:
            raise PasskeyError("This passkey request belongs to another session.")
        try:
            verified = verify_registration_response(
                credential=credential, expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=self.rp.id, expected_origin=list(self.rp.origins),
                require_user_verification=True)
        except WebAuthnException as exc:
            raise PasskeyError("The passkey could not be verified.") from exc
        credential_id = bytes_to_base64url(verified.credential_id)
        now = self.clock()
        if not self.store.add(id=credential_id, user_id=user_id,
                              public_key=bytes_to_base64url(verified.credential_public_key),
                              name=name, created_at=now, sign_count=verified.sign_count):
            raise PasskeyError("This passkey is registered already.")
        stored = self.store.get(credential_id)
        assert stored is not None
        return stored

    # -- log-in (landing app) ------------------------------------------------------------

    def authentication_options(self) -> str:
        """Discoverable credentials: no list of allowed ids, no username typed."""
        options = generate_authentication_options(
            rp_id=self.rp.id, challenge=self._login_challenge(),
            user_verification=UserVerificationRequirement.REQUIRED)
        return options_to_json(options)

    def authenticate(self, credential_json: str, *, user_id: str | None = None
                     ) -> StoredPasskey:
        """The passkey that signed this assertion, verified; with `user_id`, it must be one
        of that user's (a credential of another user never logs in as this one)."""
        try:
            credential = parse_authentication_credential_json(credential_json)
            challenge = _challenge_of(credential.response.client_data_json)
            credential_id = bytes_to_base64url(credential.raw_id)
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
            raise PasskeyError("The passkey response could not be read.") from exc
        self._spend_login_challenge(challenge)
        passkey = self.store.get(credential_id)
        if passkey is None:
            raise PasskeyError("This passkey is not registered here (any more).")
        if user_id is not None and passkey.user_id != user_id:
            raise PasskeyError("This passkey belongs to another account.")
        handle = credential.response.user_handle
        if handle is not None and handle != passkey.user_id.encode():
            raise PasskeyError("This passkey belongs to another account.")
        try:
            verified = verify_authentication_response(
                credential=credential, expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=self.rp.id, expected_origin=list(self.rp.origins),
                credential_public_key=base64url_to_bytes(passkey.public_key),
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True)
        except WebAuthnException as exc:  # incl. a sign count that did not go up
            raise PasskeyError("The passkey could not be verified.") from exc
        if not self.store.use(passkey.id, passkey.sign_count, verified.new_sign_count,
                              self.clock()):
            raise PasskeyError("The passkey was used at the same moment elsewhere.")
        return passkey

    # -- management (web app) ------------------------------------------------------------

    def for_user(self, user_id: str) -> list[StoredPasskey]:
        return self.store.for_user(user_id)

    def rename(self, user_id: str, credential_id: str, name: str) -> bool:
        name = " ".join(name.split())[:NAME_MAX]
        return bool(name) and self.store.rename(user_id, credential_id, name)

    def remove(self, user_id: str, credential_id: str) -> bool:
        return self.store.delete(user_id, credential_id)


def passkey_request(body: bytes) -> tuple[str, dict[str, str]]:
    """A passkey request's JSON body: the `credential` as the JSON text webauthn reads,
    and its other text fields (e.g. `next`, `name`)."""
    try:
        data = json.loads(body)
        credential = json.dumps(data["credential"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PasskeyError("The request did not carry a passkey response.") from exc
    return credential, {k: v for k, v in data.items() if isinstance(v, str)}
