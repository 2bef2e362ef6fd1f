"""Session tokens: random secrets in the cookie, only their SHA-256 in the database."""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = ["TOKEN_BYTES", "generate_session_token", "hash_token", "is_well_formed"]

TOKEN_BYTES = 32  # 256 bits; DESIGN.md asks for at least 160
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def generate_session_token() -> str:
    """A new token: 32 bytes from `secrets`, URL-safe base64 without padding (43 chars)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The session id stored in MongoDB: a leaked database holds no usable cookie."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def is_well_formed(token: str | None) -> bool:
    """Reject junk cookies before they cost a database round trip."""
    return token is not None and _TOKEN_RE.fullmatch(token) is not None
