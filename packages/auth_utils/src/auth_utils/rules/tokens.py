"""Random tokens, only their SHA-256 in the database: session tokens (in the cookie) and
single-use link tokens (password reset and e-mail verification links).

A plain hash suffices (no salt, no slow hash): a token is 256 uniformly random bits, so
there is nothing to guess. A link token's hash is domain-separated from a session id's,
so neither can stand in for the other."""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = ["TOKEN_BYTES", "generate_session_token", "hash_link_token", "hash_token",
           "is_well_formed", "new_link_token"]

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


def new_link_token() -> tuple[str, str]:
    """A link token (>= 128 bits, as the contract asks; 256 here): (the token for the
    link, its hash for the database)."""
    token = generate_session_token()
    return token, hash_link_token(token) or ""


def hash_link_token(token: str) -> str | None:
    """The stored form of a link token; None for anything that is not one (answered as an
    invalid link without a database round trip)."""
    if not is_well_formed(token):
        return None
    return hashlib.sha256(f"link-token:{token}".encode("ascii")).hexdigest()
