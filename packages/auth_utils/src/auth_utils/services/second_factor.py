"""The second factor: authenticator-app codes (TOTP, RFC 6238) and recovery codes.

SHA-1, 6 digits, 30 s steps (what every authenticator app reads); the step before and
after the current one are accepted (clock drift) and nothing wider; a step once accepted
for a user is never accepted again. Secrets are sealed with AES-GCM under a key derived
from MFA_ENCRYPTION_KEY and bound to the user id; recovery codes (80 random bits each)
are kept only as HMAC-SHA-256 hashes under another derived key, so a database dump alone
yields neither.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp

from auth_utils.rules.agents import describe_user_agent
from auth_utils.rules.clock import Clock, utc_now
from auth_utils.rules.sealing import SealedBox, derive_key
from auth_utils.storage import SecondFactorStore, StoredSecondFactor

__all__ = [
    "RECOVERY_CODES",
    "Check",
    "Enrolment",
    "FactorStatus",
    "SecondFactors",
    "SecretBox",
    "format_secret",
    "is_app_code",
    "matching_step",
    "new_recovery_codes",
]

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1  # one step before and after, nothing wider
RECOVERY_CODES = 10
TRUST_LIFETIME = timedelta(days=30)  # "trust this browser": at most this long
TRUSTED_MAX = 10  # per user; trusting one more forgets the oldest
ISSUER = "monorepo-auth"
_CODE = re.compile(r"[0-9]{6}")


def is_app_code(code: str) -> bool:
    """Shaped like an authenticator app's code (six digits), not a recovery code."""
    return bool(_CODE.fullmatch(code.strip()))


class SecretBox:
    """Seals secrets at rest (AES-256-GCM) and hashes recovery codes (HMAC-SHA-256),
    with two keys derived (HKDF) from the one operator secret."""

    def __init__(self, key_material: str) -> None:
        self._key_material = key_material
        self._box = SealedBox(key_material, b"totp secret")
        self._mac_key = derive_key(key_material, b"recovery code")

    def key_for(self, purpose: bytes) -> bytes:
        """A 256-bit key of its own for another purpose, from the same operator secret."""
        return derive_key(self._key_material, purpose)

    def seal(self, secret: str, user_id: str) -> str:
        return self._box.seal(secret, user_id)

    def open(self, sealed: str, user_id: str) -> str | None:
        """The secret, or None when it was not sealed for this user with this key."""
        return self._box.open(sealed, user_id)

    def recovery_hash(self, code: str, user_id: str) -> str:
        message = f"{user_id}:{_normal_recovery(code)}".encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()


def _normal_recovery(code: str) -> str:
    return re.sub(r"[\s-]", "", code).upper()


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes of 80 random bits, as XXXX-XXXX-XXXX-XXXX (base32: no 0/1/8 look-alikes)."""
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(10)).decode()  # 16 characters
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def format_secret(secret: str) -> str:
    """The secret in groups of four, for typing by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is (within the drift), or None."""
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


class Check(enum.Enum):
    CODE = "code"  # an authenticator-app code
    RECOVERY = "recovery"  # a recovery code, now used up
    WRONG = "wrong"


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str  # otpauth:// for the QR code

    @property
    def grouped(self) -> str:
        return format_secret(self.secret)


@dataclass(frozen=True)
class FactorStatus:
    """What the security page shows: on or off, codes left, an enrolment under way, the
    browsers trusted to skip the code."""

    enabled: bool
    recovery_left: int
    enrolment: Enrolment | None
    trusted: list[dict]


class SecondFactors:
    """Enrol, check, regenerate, turn off: the rules, on any SecondFactorStore."""

    def __init__(self, store: SecondFactorStore, box: SecretBox, *,
                 clock: Clock = utc_now) -> None:
        self.store = store
        self.box = box
        self.clock = clock

    def enabled(self, user_id: str) -> bool:
        record = self.store.get(user_id)
        return record is not None and record.enabled

    def recovery_left(self, user_id: str) -> int:
        record = self.store.get(user_id)
        return len(record.recovery) if record is not None and record.enabled else 0

    def start(self, user_id: str, username: str) -> Enrolment | None:
        """A new 160-bit secret, stored sealed until a code confirms it; None when a
        second factor is already on."""
        secret = pyotp.random_base32(32)  # 32 base32 characters: 160 bits
        if not self.store.save_pending(user_id, self.box.seal(secret, user_id), self.clock()):
            return None
        return self.enrolment(user_id, username)

    def status(self, user_id: str, username: str) -> FactorStatus:
        """Everything the security page shows, from one read."""
        record = self.store.get(user_id)
        enabled = record is not None and record.enabled
        return FactorStatus(enabled, len(record.recovery) if enabled else 0,
                            None if enabled else self._enrolment_of(record, user_id, username),
                            self._trusted_of(record))

    def enrolment(self, user_id: str, username: str) -> Enrolment | None:
        """The enrolment in progress (to show the QR code again), if any."""
        return self._enrolment_of(self.store.get(user_id), user_id, username)

    def _enrolment_of(self, record: StoredSecondFactor | None, user_id: str, username: str
                      ) -> Enrolment | None:
        if record is None or record.enabled:
            return None
        secret = self.box.open(record.secret, user_id)
        if secret is None:
            return None
        uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
        return Enrolment(secret, uri)

    def confirm(self, user_id: str, code: str) -> list[str] | None:
        """Turn the second factor on with a code from the app; the recovery codes, shown
        once, or None for a wrong code."""
        record = self.store.get(user_id)
        if record is None or record.enabled:
            return None
        secret = self.box.open(record.secret, user_id)
        step = matching_step(secret, code.strip(), self.clock()) if secret else None
        if step is None or not self.store.use_step(user_id, step):
            return None
        codes = new_recovery_codes()
        if not self.store.enable(user_id, [self.box.recovery_hash(c, user_id) for c in codes]):
            return None
        return codes

    def check(self, user_id: str, code: str) -> Check:
        """An app code (each step once) or an unused recovery code."""
        record = self.store.get(user_id)
        if record is None or not record.enabled:
            return Check.WRONG
        code = code.strip()
        if _CODE.fullmatch(code):
            secret = self.box.open(record.secret, user_id)
            step = matching_step(secret, code, self.clock()) if secret else None
            # The compare-and-set: of two requests with the same code, one wins.
            return Check.CODE if step is not None and self.store.use_step(user_id, step) \
                else Check.WRONG
        if len(code) > 64:
            return Check.WRONG
        if self.store.use_recovery(user_id, self.box.recovery_hash(code, user_id)):
            return Check.RECOVERY
        return Check.WRONG

    def regenerate(self, user_id: str) -> list[str] | None:
        codes = new_recovery_codes()
        hashes = [self.box.recovery_hash(c, user_id) for c in codes]
        return codes if self.store.set_recovery(user_id, hashes) else None

    def disable(self, user_id: str) -> bool:
        return self.store.delete(user_id)

    def cancel(self, user_id: str) -> bool:
        """Drop an enrolment half-way (its secret is forgotten); never an enabled one."""
        return self.store.delete(user_id, pending_only=True)

    # -- trusted browsers: skip the code (never the password) for up to 30 days ---------

    def trust(self, user_id: str, *, user_agent: str, ip: str) -> str | None:
        """Trust this browser: the token for its cookie (only its hash is stored, in the
        user's own second-factor record, so it is bound to the user and goes when the
        factor changes); None when the factor is off."""
        token, now = secrets.token_urlsafe(32), self.clock()
        entry = {"id": hashlib.sha256(token.encode()).hexdigest(), "created_at": now,
                 "expires_at": now + TRUST_LIFETIME, "ip": ip[:64],
                 "browser": describe_user_agent(user_agent)[:100]}
        return token if self.store.trust(user_id, entry, TRUSTED_MAX) else None

    def trusted_browsers(self, user_id: str) -> list[dict]:
        """This user's trusted browsers still in force, newest first."""
        return self._trusted_of(self.store.get(user_id))

    def _trusted_of(self, record: StoredSecondFactor | None) -> list[dict]:
        now = self.clock()
        if record is None or not record.enabled:
            return []
        return sorted((e for e in record.trusted if e["expires_at"] > now),
                      key=lambda e: e["created_at"], reverse=True)

    def is_trusted(self, user_id: str, token: str | None) -> bool:
        if not token or len(token) > 64:
            return False
        wanted = hashlib.sha256(token.encode()).hexdigest()
        return any(hmac.compare_digest(e["id"], wanted)
                   for e in self.trusted_browsers(user_id))

    def forget(self, user_id: str, browser_id: str | None = None) -> bool:
        """Forget one trusted browser (by its id), or all of them."""
        return self.store.forget(user_id, browser_id)
