"""Authlib's grants with our storage and rules plugged in: PKCE S256 for every client,
the authorization code grant (single use, a replay revokes what it issued), the refresh
grant (rotation, reuse detection, dead with its browser session or a withdrawn consent),
and the ID token both issue (OpenID Connect Core 3.1.3.6 and 12.2)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode, OpenIDToken

from auth_utils.flows.provider.models import (
    AUTH_METHODS,
    CODE_LIFETIME,
    ID_TOKEN_SECONDS,
    GrantUser,
    RegisteredClient,
    _Code,
    _Token,
    session_sid,
    token_hash,
    user_info,
)
from auth_utils.services.signing_keys import ALG

if TYPE_CHECKING:
    from auth_utils.flows.provider.context import ProviderContext
    from auth_utils.flows.provider.tokens import Tokens


class _Pkce(CodeChallenge):
    """PKCE with S256 for every client (RFC 9700 2.1.1): a request without a challenge,
    or with `plain`, is refused, and every code exchange must carry the verifier."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    CODE_CHALLENGE_METHODS = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send 'code_challenge'.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'.")
        super().validate_code_verifier(grant, result)


class _IdToken(OpenIDToken):
    """The ID token, from a code or a refresh token: signed with our current key (ES256,
    its `kid` in the header); `auth_time` and `sid` of the browser session it came from.
    On refresh (OpenID Connect Core 12.2) the same `iss`, `sub`, `aud` and `auth_time`
    (the original log-in, not now), a new `iat`/`exp`, and no `nonce` (Authlib adds one
    only from a code)."""

    def __init__(self, context: ProviderContext) -> None:
        self.context = context

    def resolve_client_private_key(self, client: Any) -> Any:
        # Every stored key: joserfc signs with the one of the header's kid, read a moment
        # before (get_encode_header), even if a rotation came in between.
        return self.context.keys.signing_set()

    def get_client_algorithm(self, client: Any) -> str:
        return ALG

    def get_encode_header(self, client: Any) -> dict:
        return {"alg": ALG, "kid": self.context.keys.current().kid, "typ": "JWT"}

    def get_client_claims(self, client: Any) -> dict:
        return {"iss": self.context.issuer, "aud": client.get_client_id(),
                "exp": int(time.time()) + ID_TOKEN_SECONDS}

    def get_compatible_claims(self, request: Any) -> dict:
        claims = super().get_compatible_claims(request)
        user: GrantUser = request.user
        claims["auth_time"] = user.auth_time  # Authlib's default would be "now"
        claims["sid"] = session_sid(user.session_id)
        return claims

    def generate_user_info(self, user: GrantUser, scope: str) -> UserInfo:
        return user_info(user, scope)


class _OpenIDCode(_IdToken, OpenIDCode):
    """The code grant's ID token (with the request's `nonce`)."""

    def __init__(self, context: ProviderContext) -> None:
        OpenIDCode.__init__(self, require_nonce=False)
        _IdToken.__init__(self, context)

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # the nonce is the client's own check; our codes are single use


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    AUTHORIZATION_CODE_LENGTH = 43  # 256 bits of base62

    @property
    def context(self) -> ProviderContext:
        return self.server.context

    @property
    def tokens(self) -> Tokens:
        return self.server.tokens

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: GrantUser = request.user
        data = request.payload.data
        now = self.context.clock()
        self.context.store.put_code(
            id=token_hash(code), client_id=request.client.client_id, user_id=user.id,
            session_id=user.session_id, redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "", nonce=data.get("nonce", ""),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"], auth_time=user.auth_time,
            expires_at=now + CODE_LIFETIME, used_at=None)

    def query_authorization_code(self, code: str, client: RegisteredClient) -> _Code | None:
        if not isinstance(code, str) or len(code) > 256:
            return None
        found, replayed = self.context.store.use_code(token_hash(code), client.client_id,
                                                      self.context.clock())
        if replayed is not None:  # RFC 6749 4.1.2: revoke what the code issued
            self.tokens.reuse_detected(token_hash(code), client.client_id,
                                       "authorization code", user_id=replayed.user_id)
        return _Code(found) if found else None

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        """Kept, marked used, until it expires: a replay must still be recognised."""

    def authenticate_user(self, authorization_code: _Code) -> GrantUser | None:
        record = authorization_code.record
        return self.tokens.grant_user(record.user_id, record.session_id, record.auth_time,
                                      client=self.request.client.record)


class _RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each use gives a new one

    @property
    def context(self) -> ProviderContext:
        return self.server.context

    @property
    def tokens(self) -> Tokens:
        return self.server.tokens

    def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
        context = self.context
        client = self.request.client
        if len(refresh_token) > 256:
            return None
        found, reused = context.store.use_refresh_token(
            token_hash(refresh_token), client.client_id, context.clock())
        if reused is not None:
            if reused.used_at is not None:  # rotated before: someone else holds a copy
                self.tokens.reuse_detected(reused.family, client.client_id, "refresh token",
                                           user_id=reused.user_id)
            # Revoked but never used (RFC 7009, a withdrawn consent, a reuse of its
            # family): refused, but no alarm in the user's activity.
            return None
        if found is None:
            return None
        if self.tokens.grant_user(found.user_id, found.session_id, found.auth_time,
                                  client=client.record) is None:
            # The browser session ended (log-out, revocation, password change, account
            # disabled or deleted), or the user withdrew the client's access: the whole
            # family goes with it; invalid_grant.
            context.store.revoke_family(found.family, context.clock())
            return None
        return _Token(found)

    def authenticate_user(self, refresh_token: _Token) -> GrantUser | None:
        record = refresh_token.record
        return self.tokens.grant_user(record.user_id, record.session_id, record.auth_time)

    def revoke_old_credential(self, refresh_token: _Token) -> None:
        """Already marked used by the atomic rotation (`use_refresh_token`)."""
