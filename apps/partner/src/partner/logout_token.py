"""The checks OpenID Connect Back-Channel Logout 1.0 (section 2.6) asks of a relying party
before it believes a Logout Token. joserfc does the cryptography; this module only says
which claims must be there and what they must hold."""

from __future__ import annotations

from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

__all__ = ["EVENT", "InvalidKeyIdError", "LogoutTokenError", "validate_logout_token"]

EVENT = "http://schemas.openid.net/event/backchannel-logout"


class LogoutTokenError(ValueError):
    """The token is not a Logout Token from our provider for us: answer 400."""


def validate_logout_token(token: str, keys: KeySet, *, issuer: str, client_id: str,
                          algorithms: list[str], now: int | None = None,
                          leeway: int = 60) -> dict:
    """The token's claims once every check of spec 2.6 passed; raises LogoutTokenError
    (or InvalidKeyIdError: a key we do not have yet, so fetch the JWKS again)."""
    try:
        # Signed by one of the provider's published keys, with an algorithm it announced
        # (never "none", never an HMAC keyed with a public key).
        decoded = jwt.decode(token, keys, algorithms=algorithms)
    except InvalidKeyIdError:
        raise
    except (JoseError, ValueError) as exc:
        raise LogoutTokenError(f"not a valid signed JWT ({exc})") from None
    if decoded.header.get("typ") != "logout+jwt":
        # Explicit typing (spec 2.4): an ID token or another JWT of the provider cannot be
        # replayed here as a Logout Token.
        raise LogoutTokenError("typ is not logout+jwt")
    claims = decoded.claims
    registry = jwt.JWTClaimsRegistry(
        now=now, leeway=leeway,
        iss={"essential": True, "value": issuer},    # from our provider,
        aud={"essential": True, "value": client_id}, # meant for us,
        iat={"essential": True}, exp={"essential": True},  # fresh (not from the future),
        jti={"essential": True})                     # and with an id to spot a replay.
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise LogoutTokenError(f"claims refused ({exc})") from None
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
        raise LogoutTokenError("no back-channel logout event")
    if "nonce" in claims:  # spec 2.4: forbidden, so an ID token is never accepted here
        raise LogoutTokenError("a Logout Token has no nonce")
    if not any(isinstance(claims.get(k), str) and claims[k] for k in ("sid", "sub")):
        raise LogoutTokenError("neither sid nor sub: no session to end")
    return claims
