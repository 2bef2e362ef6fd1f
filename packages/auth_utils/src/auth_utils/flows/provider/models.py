"""The provider's values as Authlib asks for them (a registered client, a code, a token,
the user a grant is for), the lifetimes and limits, how codes and tokens are stored
(their SHA-256) and which redirect URIs may be registered."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oidc.core import UserInfo

__all__ = ["ACCESS_LIFETIME", "AUTH_METHODS", "CODE_LIFETIME", "ID_TOKEN_SECONDS",
           "PARAM_MAX", "REFRESH_LIFETIME", "SCOPES", "GrantUser", "RegisteredClient",
           "generate_token", "redirect_uri_problem", "session_sid", "token_hash",
           "user_info"]

CODE_LIFETIME = timedelta(seconds=60)  # RFC 9700 4.1: short; one redirect and one POST
ACCESS_LIFETIME = timedelta(minutes=10)
REFRESH_LIFETIME = timedelta(days=30)  # and never past the browser session it came from
ID_TOKEN_SECONDS = 600
SCOPES = ("openid", "profile")
PARAM_MAX = 2048  # a longer parameter is refused (400) before anything is looked up
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


def token_hash(value: str) -> str:
    """Codes and tokens are stored under their SHA-256: a copy of the database holds none
    that works (they are 256-bit random, so no slow hash is needed)."""
    return hashlib.sha256(value.encode()).hexdigest()


def session_sid(session_id: str) -> str:
    """The `sid` claim: names the browser session to its clients without revealing the
    session's id (which is itself the hash of the cookie's token)."""
    return hashlib.sha256(f"oidc-sid:{session_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):
    """A client as Authlib sees it, from its stored record."""

    record: Any

    @property
    def client_id(self) -> str:
        return self.record.id

    @property
    def client_metadata(self) -> dict:
        return {"post_logout_redirect_uris": list(self.record.post_logout_redirect_uris)}

    def get_client_id(self) -> str:
        return self.record.id

    def get_default_redirect_uri(self) -> None:
        return None  # the request must name one: OpenID Connect Core 3.1.2.1

    def get_allowed_scope(self, scope: str | None) -> str | None:
        asked = (scope or "").split()
        if "openid" not in asked:
            return None  # an OpenID Connect provider only: invalid_scope
        return " ".join(s for s in dict.fromkeys(asked) if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.record.redirect_uris  # exact string match (RFC 9700 4.1.3)

    def check_client_secret(self, client_secret: str) -> bool:
        return bool(self.record.secret_hash) and hmac.compare_digest(
            token_hash(client_secret), self.record.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # A confidential client always authenticates; a public one never can.
        if self.record.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


@dataclass(frozen=True)
class GrantUser:
    """The logged-in user an authorization is for, with its browser session."""

    id: str
    username: str
    session_id: str
    auth_time: int


def user_info(user: GrantUser, scope: str) -> UserInfo:
    """The claims a token's scope gives (userinfo and the ID token): `sub`, and the name
    with `profile`."""
    info = {"sub": user.id}
    if "profile" in scope.split():
        info |= {"preferred_username": user.username, "name": user.username}
    return UserInfo(info)


def generate_token(grant_type: str, client: RegisteredClient, user: Any = None,
                   scope: str | None = None, expires_in: int | None = None,
                   include_refresh_token: bool = True) -> dict:
    """Authlib's token generator: opaque random tokens (stored under their hash)."""
    token = {"token_type": "Bearer", "access_token": secrets.token_urlsafe(32),
             "expires_in": int(ACCESS_LIFETIME.total_seconds()), "scope": scope or ""}
    if include_refresh_token:
        token["refresh_token"] = secrets.token_urlsafe(32)
    return token


@dataclass(frozen=True)
class _Code:
    record: Any

    @property
    def code_challenge(self) -> str:
        return self.record.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.record.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.record.redirect_uri

    def get_scope(self) -> str:
        return self.record.scope

    def get_nonce(self) -> str | None:
        return self.record.nonce or None

    def get_auth_time(self) -> int:
        return self.record.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


@dataclass(frozen=True)
class _Token:
    record: Any

    def check_client(self, client: RegisteredClient) -> bool:
        return self.record.client_id == client.client_id

    def get_scope(self) -> str:
        return self.record.scope


def redirect_uri_problem(uri: str) -> str | None:
    """Why a URI cannot be registered (None: it can): absolute, https (http only for a
    loopback host, RFC 8252 7.3), no fragment, no user info."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an absolute http(s) URL"
    if parts.fragment or "#" in uri:
        return "must have no fragment"
    if parts.username or parts.password:
        return "must have no user name or password"
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        return "http only for localhost; use https"
    return None
