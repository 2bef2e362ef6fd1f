"""Authlib's authorization server and endpoints for our provider: the token endpoint,
revocation (RFC 7009), RP-initiated log-out, the `iss` parameter (RFC 9207), and the
server that ties the grants to our storage (through `Tokens`) and answers with
`Answer`s."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.rpinitiated import EndSessionEndpoint

from auth_utils.flows.provider.context import ProviderContext
from auth_utils.flows.provider.grants import _CodeGrant, _IdToken, _OpenIDCode, _Pkce, _RefreshGrant
from auth_utils.flows.provider.messages import Answer, OAuthRequest, _Request
from auth_utils.flows.provider.models import (
    AUTH_METHODS,
    PARAM_MAX,
    SCOPES,
    RegisteredClient,
    _Token,
    generate_token,
    token_hash,
)
from auth_utils.flows.provider.tokens import Tokens
from auth_utils.services.signing_keys import ALG


class _Revocation(RevocationEndpoint):
    """RFC 7009. Revoking a refresh token revokes its whole family (7009 2.1)."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        if len(token_string) > 256:
            return None
        record = self.server.context.store.get_token(token_hash(token_string))
        return _Token(record) if record else None

    def revoke_token(self, token: _Token, request: Any) -> None:
        context = self.server.context
        if token.record.kind == "refresh":
            context.store.revoke_family(token.record.family, context.clock())
        else:
            context.store.revoke_token(token.record.id, context.clock())


class _EndSession(EndSessionEndpoint):
    """RP-initiated log-out 1.0: `id_token_hint` checked against our published keys."""

    def get_server_jwks(self) -> dict:
        return self.server.context.keys.jwks()

    def get_algorithms(self) -> list[str]:
        return [ALG]

    def end_session(self, end_session_request: Any) -> None:
        """Nothing: `LogOut.end_session` ends the browser session before it asks for this
        answer (only the redirect is Authlib's)."""


class _Issuer(IssuerParameter):
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class _Server(AuthorizationServer):
    """Authlib's server with our grants: they read the context and call `tokens`."""

    def __init__(self, context: ProviderContext, tokens: Tokens) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.context = context
        self.tokens = tokens
        self.register_token_generator("default", generate_token)
        self.register_grant(_CodeGrant, [_Pkce(), _OpenIDCode(context)])
        # A new ID token on each refresh too (OpenID Connect Core 12.2).
        self.register_grant(_RefreshGrant, [_IdToken(context)])
        self.register_endpoint(_Revocation)
        self.register_endpoint(_EndSession)
        self.issuer_parameter = _Issuer(context.issuer)
        self.register_extension(lambda server: self.issuer_parameter(server))

    def token(self, request: OAuthRequest) -> Answer:
        """`core.openid.token`: the code and refresh grants."""
        if any(len(v) > PARAM_MAX for values in request.params.values() for v in values):
            return Answer(400, {"error": "invalid_request"}, [("Cache-Control", "no-store")])
        return self.create_token_response(_Request(request))

    def revoke(self, request: OAuthRequest) -> Answer:
        """`core.openid.revoke` (RFC 7009)."""
        return self.create_endpoint_response("revocation", _Request(request))

    def query_client(self, client_id: str) -> RegisteredClient | None:
        if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
            return None
        record = self.context.store.get_client(client_id)
        return RegisteredClient(record) if record else None

    def save_token(self, token: dict, request: Any) -> None:
        self.tokens.save_token(token, request)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else _Request(request)

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError  # no JSON endpoints (no dynamic registration)

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None
