"""Our OpenID Connect provider: the landing app signs apps on other domains in.

The protocol is Authlib's server side (`authlib.oauth2.rfc6749` grants and the
authorization server, `rfc7636` PKCE, `rfc7009` revocation, `rfc9207` `iss`,
`authlib.oidc.core` ID tokens, `authlib.oidc.rpinitiated` log-out); this module only
plugs our storage, our sessions and our rules into it. Following RFC 9700 (OAuth 2.0
Security BCP):

- the authorization code flow only (no implicit, no password grant), PKCE with S256 for
  every client, confidential or public; redirect URIs matched exactly;
- codes live `CODE_LIFETIME`, are used up by one atomic update, and a replayed code
  revokes every token it issued (RFC 6749 4.1.2);
- refresh tokens are rotated on each use; a used one presented again revokes the whole
  family (RFC 9700 4.14.2), and every token stops working once the browser session it
  came from ends (log-out, revocation, password change, account disabled or deleted);
- access tokens are opaque (looked up by hash), so revocation is immediate;
- the log-in is ours: no session, a pending second factor, `prompt=login` or an old
  `max_age` send the browser to our log-in page, which comes back here.

Framework-free: the apps pass an `OAuthRequest` and turn the `Answer` or `Authorize`
into their responses.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    OAuth2Error,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant, RefreshTokenGrant
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from authlib.oidc.core import UserInfo
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.rpinitiated import EndSessionEndpoint

from auth_utils.flows.steps import Steps
from auth_utils.services.activity import Kind
from auth_utils.services.backchannel import Backchannel
from auth_utils.services.sessions import SessionUser, SessionValidation
from auth_utils.services.signing_keys import ALG, SigningKeys
from auth_utils.storage import OAuthStore

__all__ = ["Answer", "Authorize", "OAuthRequest", "OpenIDProvider", "RegisteredClient"]

CODE_LIFETIME = timedelta(seconds=60)  # RFC 9700 4.1: short; one redirect and one POST
ACCESS_LIFETIME = timedelta(minutes=10)
REFRESH_LIFETIME = timedelta(days=30)  # and never past the browser session it came from
ID_TOKEN_SECONDS = 600
SCOPES = ("openid", "profile")
PARAM_MAX = 2048  # a longer parameter is refused (400) before anything is looked up
FORCED_MAX_AGE = 300  # prompt=login comes back as max_age=300 after the fresh log-in
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
# What our error page says when the client or its redirect URI cannot be trusted.
PAGE_ERRORS = {"invalid_client": "The app that sent you here is not registered with us.",
               "invalid_request": "The app sent a request we cannot accept (its address "
                                  "for the answer is missing or not registered).",
               "unsupported_response_type": "The app asked for a kind of answer we do not "
                                            "give."}


def token_hash(value: str) -> str:
    """Codes and tokens are stored under their SHA-256: a copy of the database holds none
    that works (they are 256-bit random, so no slow hash is needed)."""
    return hashlib.sha256(value.encode()).hexdigest()


def session_sid(session_id: str) -> str:
    """The `sid` claim: names the browser session to its clients without revealing the
    session's id (which is itself the hash of the cookie's token)."""
    return hashlib.sha256(f"oidc-sid:{session_id}".encode()).hexdigest()[:32]


# -- what the apps pass in and get back ------------------------------------------------

@dataclass(frozen=True)
class OAuthRequest:
    """One HTTP request, framework-free. `url` is built on LANDING_URL (never from the
    Host header); `params` holds every value of each query or form field."""

    method: str
    url: str
    headers: Mapping[str, str]
    params: Mapping[str, list[str]]


@dataclass
class Answer:
    """An HTTP response to send as is: `body` a dict (JSON) or text."""

    status: int
    body: Any
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        return next((v for k, v in self.headers if k.lower() == "location"), None)

    @location.setter
    def location(self, value: str) -> None:  # Authlib's IssuerParameter rewrites it
        self.headers = [(k, v) for k, v in self.headers if k.lower() != "location"]
        self.headers.append(("Location", value))

    @property
    def json(self) -> str:
        return json.dumps(self.body) if isinstance(self.body, dict) else str(self.body)


@dataclass(frozen=True)
class Authorize:
    """What the authorization endpoint decided. `action`: "redirect" (to `location`: the
    client with a code or an error, or our log-in page), "consent" (show the page for
    `client_name` and `scopes`), or "error" (a page, never a redirect: the client or its
    redirect URI could not be trusted)."""

    action: str
    location: str = ""
    status: int = 400
    message: str = ""
    client_name: str = ""
    scopes: tuple[str, ...] = ()


# -- the models Authlib asks for --------------------------------------------------------

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


class _Payload(OAuth2Payload):
    def __init__(self, params: Mapping[str, list[str]]) -> None:
        self._datalist = {k: list(v) for k, v in params.items()}
        self._data = {k: v[0] for k, v in params.items() if v}

    @property
    def data(self) -> dict:
        return self._data

    @property
    def datalist(self) -> dict:
        return self._datalist


class _Request(OAuth2Request):
    def __init__(self, request: OAuthRequest) -> None:
        super().__init__(request.method, request.url, headers=request.headers)
        self.payload = _Payload(request.params)
        self.session_id: str | None = None  # the browser session (RP-initiated log-out)
        self.end_user: GrantUser | None = None

    @property
    def args(self) -> dict:
        return self.payload.data

    @property
    def form(self) -> dict:
        return self.payload.data


# -- grants and extensions --------------------------------------------------------------

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


class _OpenIDCode(OpenIDCode):
    """The ID token: signed with our current key (ES256, its `kid` in the header)."""

    def __init__(self, provider: OpenIDProvider) -> None:
        super().__init__(require_nonce=False)
        self.provider = provider

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        return False  # the nonce is the client's own check; our codes are single use

    def resolve_client_private_key(self, client: Any) -> Any:
        return self.provider.keys.current()

    def get_client_algorithm(self, client: Any) -> str:
        return ALG

    def get_encode_header(self, client: Any) -> dict:
        return {"alg": ALG, "kid": self.provider.keys.current().kid, "typ": "JWT"}

    def get_client_claims(self, client: Any) -> dict:
        return {"iss": self.provider.issuer, "aud": client.get_client_id(),
                "exp": int(time.time()) + ID_TOKEN_SECONDS}

    def get_authorization_code_claims(self, authorization_code: Any) -> dict:
        claims = super().get_authorization_code_claims(authorization_code)
        claims["sid"] = session_sid(authorization_code.record.session_id)
        return claims

    def generate_user_info(self, user: GrantUser, scope: str) -> UserInfo:
        return self.provider.user_info(user, scope)


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    AUTHORIZATION_CODE_LENGTH = 43  # 256 bits of base62

    @property
    def provider(self) -> OpenIDProvider:
        return self.server.provider

    def save_authorization_code(self, code: str, request: Any) -> None:
        user: GrantUser = request.user
        data = request.payload.data
        now = self.provider.clock()
        self.provider.store.put_code(
            id=token_hash(code), client_id=request.client.client_id, user_id=user.id,
            session_id=user.session_id, redirect_uri=request.payload.redirect_uri,
            scope=request.scope or "", nonce=data.get("nonce", ""),
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"], auth_time=user.auth_time,
            expires_at=now + CODE_LIFETIME, used_at=None)

    def query_authorization_code(self, code: str, client: RegisteredClient) -> _Code | None:
        if not isinstance(code, str) or len(code) > 256:
            return None
        provider = self.provider
        found, replayed = provider.store.use_code(token_hash(code), client.client_id,
                                                  provider.clock())
        if replayed:  # RFC 6749 4.1.2: revoke what the code issued
            provider.reuse_detected(token_hash(code), client.client_id, "authorization code")
        return _Code(found) if found else None

    def delete_authorization_code(self, authorization_code: _Code) -> None:
        """Kept, marked used, until it expires: a replay must still be recognised."""

    def authenticate_user(self, authorization_code: _Code) -> GrantUser | None:
        record = authorization_code.record
        return self.provider.grant_user(record.user_id, record.session_id, record.auth_time)


class _RefreshGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each use gives a new one

    @property
    def provider(self) -> OpenIDProvider:
        return self.server.provider

    def authenticate_refresh_token(self, refresh_token: str) -> _Token | None:
        provider = self.provider
        client = self.request.client
        if len(refresh_token) > 256:
            return None
        found, reused = provider.store.use_refresh_token(
            token_hash(refresh_token), client.client_id, provider.clock())
        if reused is not None:
            provider.reuse_detected(reused.family, client.client_id, "refresh token",
                                    user_id=reused.user_id)
            return None
        if found is None:
            return None
        if provider.grant_user(found.user_id, found.session_id, found.auth_time) is None:
            # The browser session ended (log-out, revocation, password change, account
            # disabled or deleted): the whole family goes with it; invalid_grant.
            provider.store.revoke_family(found.family, provider.clock())
            return None
        return _Token(found)

    def authenticate_user(self, refresh_token: _Token) -> GrantUser | None:
        record = refresh_token.record
        return self.provider.grant_user(record.user_id, record.session_id, record.auth_time)

    def revoke_old_credential(self, refresh_token: _Token) -> None:
        """Already marked used by the atomic rotation (`use_refresh_token`)."""


class _Revocation(RevocationEndpoint):
    """RFC 7009. Revoking a refresh token revokes its whole family (7009 2.1)."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> _Token | None:
        if len(token_string) > 256:
            return None
        record = self.server.provider.store.get_token(token_hash(token_string))
        return _Token(record) if record else None

    def revoke_token(self, token: _Token, request: Any) -> None:
        provider = self.server.provider
        if token.record.kind == "refresh":
            provider.store.revoke_family(token.record.family, provider.clock())
        else:
            provider.store.revoke_token(token.record.id, provider.clock())


class _EndSession(EndSessionEndpoint):
    """RP-initiated log-out 1.0: `id_token_hint` checked against our published keys."""

    def get_server_jwks(self) -> dict:
        return self.server.provider.keys.jwks()

    def get_algorithms(self) -> list[str]:
        return [ALG]

    def end_session(self, end_session_request: Any) -> None:
        request = end_session_request.request
        if request.session_id:
            self.server.provider.end_browser_session(request.session_id, request.end_user)


class _Issuer(IssuerParameter):
    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


class _Server(AuthorizationServer):
    def __init__(self, provider: OpenIDProvider) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.provider = provider
        self.register_token_generator("default", provider.generate_token)
        self.register_grant(_CodeGrant, [_Pkce(), _OpenIDCode(provider)])
        self.register_grant(_RefreshGrant)
        self.register_endpoint(_Revocation)
        self.register_endpoint(_EndSession)
        self.issuer_parameter = _Issuer(provider.issuer)
        self.register_extension(lambda server: self.issuer_parameter(server))

    def query_client(self, client_id: str) -> RegisteredClient | None:
        if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
            return None
        record = self.provider.store.get_client(client_id)
        return RegisteredClient(record) if record else None

    def save_token(self, token: dict, request: Any) -> None:
        self.provider.save_token(token, request)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return request if isinstance(request, OAuth2Request) else _Request(request)

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError  # no JSON endpoints (no dynamic registration)

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return Answer(status, body, list(headers))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


# -- the provider ------------------------------------------------------------------------

class OpenIDProvider:
    """`core.openid`: the provider's endpoints' logic, its clients and consents."""

    def __init__(self, steps: Steps, store: OAuthStore, keys: SigningKeys, *, issuer: str,
                 login_url: str) -> None:
        self.steps = steps
        self.store = store
        self.keys = keys
        self.issuer = issuer
        self.login_url = login_url
        self.clock = steps.sessions.clock
        self.server = _Server(self)
        # Back-channel log-out (set by build_core): told of each new (session, client).
        self.backchannel: Backchannel | None = None

    # clients (auth-admin clients) ---------------------------------------------------

    def register(self, name: str, redirect_uris: list[str], *, public: bool = False,
                 first_party: bool = False, post_logout_redirect_uris: list[str] = (),
                 backchannel_logout_uri: str = "") -> tuple[str, str | None]:
        """A new client: (client id, the secret to show once, None for a public client).
        Only the secret's hash is stored."""
        for uri in [*redirect_uris, *post_logout_redirect_uris,
                    *([backchannel_logout_uri] if backchannel_logout_uri else [])]:
            if problem := redirect_uri_problem(uri):
                raise ValueError(f"{uri!r}: {problem}")
        if not redirect_uris:
            raise ValueError("at least one --redirect-uri is needed")
        # Hex, not base64url: an id starting with "-" reads as an option on a command line.
        client_id = secrets.token_hex(16)
        secret = None if public else secrets.token_urlsafe(32)
        self.store.add_client(
            id=client_id, name=name.strip()[:80], secret_hash=token_hash(secret) if secret
            else "", redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris),
            backchannel_logout_uri=backchannel_logout_uri, public=public,
            first_party=first_party, created_at=self.clock())
        return client_id, secret

    def clients(self) -> list:
        return self.store.list_clients()

    def remove(self, client_id: str) -> bool:
        return self.store.remove_client(client_id)

    # discovery ---------------------------------------------------------------------

    def metadata(self) -> dict:
        base = self.issuer
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth2/authorize",
            "token_endpoint": f"{base}/oauth2/token",
            "userinfo_endpoint": f"{base}/oauth2/userinfo",
            "jwks_uri": f"{base}/oauth2/jwks",
            "revocation_endpoint": f"{base}/oauth2/revoke",
            "end_session_endpoint": f"{base}/oauth2/logout",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALG],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
                                 "sid", "preferred_username", "name"],
            "prompt_values_supported": ["none", "login", "consent"],
            "authorization_response_iss_parameter_supported": True,
            # Back-Channel Logout 1.0 (auth_utils.services.backchannel): `sid` is in the Logout
            # Token as in the ID token.
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
        }

    # the authorization endpoint ----------------------------------------------------

    def authorize(self, request: OAuthRequest, validation: SessionValidation | None, *,
                  decision: str | None = None, ip: str = "", user_agent: str = ""
                  ) -> Authorize:
        """GET (and the consent form's POST, `decision` "allow" or "deny")."""
        if any(len(v) > PARAM_MAX for values in request.params.values() for v in values):
            return Authorize("error", message="A parameter of this request is too long.")
        user = self._user_of(validation)
        req = _Request(request)
        try:
            grant = self.server.get_consent_grant(req, end_user=user)
        except OAuth2Error as error:
            return self._refused(req, error)
        client: RegisteredClient = req.client
        data = req.payload.data
        prompts = set(data.get("prompt", "").split())
        try:
            max_age = self._max_age(data)
        except OAuth2Error as error:
            error.redirect_uri, error.state = grant.redirect_uri, data.get("state")
            return self._refused(req, error)
        now = int(self.clock().timestamp())
        stale = user is not None and max_age is not None and now - user.auth_time > max_age
        if user is None or "login" in prompts or stale:
            if "none" in prompts:
                return self._refused(req, LoginRequiredError(
                    redirect_uri=grant.redirect_uri, state=data.get("state")))
            return Authorize("redirect", self._login_redirect(request, prompts, max_age,
                                                               again=user is not None))
        if not (client.record.first_party or self._consented(user.id, client, req.scope)):
            if "none" in prompts:
                return self._refused(req, ConsentRequiredError(
                    redirect_uri=grant.redirect_uri, state=data.get("state")))
            if decision is None:
                return Authorize("consent", client_name=client.record.name,
                                 scopes=tuple(req.scope.split()))
            if decision != "allow":
                answer = self.server.create_authorization_response(req, None, grant)
                return Authorize("redirect", answer.location or "", 302)
            self.store.put_consent(id=f"{user.id}:{client.client_id}", user_id=user.id,
                                   client_id=client.client_id, scope=req.scope,
                                   created_at=self.clock())
            self.steps.event(Kind.CLIENT_AUTHORIZED, SessionUser(user.id, user.username),
                             session_id=user.session_id, ip=ip, user_agent=user_agent,
                             detail=client.record.name[:64])
        answer = self.server.create_authorization_response(req, user, grant)
        if not answer.location:
            return Authorize("error", message="This request could not be completed.")
        return Authorize("redirect", answer.location, 302)

    def _user_of(self, validation: SessionValidation | None) -> GrantUser | None:
        """Logged in: a valid session (a pending second factor is not), not one limited
        to enrolling a second factor."""
        if validation is None or not validation.valid or validation.session.must_enrol:
            return None
        session = validation.session
        verified = session.verified_at or session.created_at
        return GrantUser(validation.user.id, validation.user.username, session.id,
                         int(verified.timestamp()))

    @staticmethod
    def _max_age(data: dict) -> int | None:
        raw = data.get("max_age")
        if raw is None or raw == "":
            return None
        if not raw.isdigit() or len(raw) > 9:
            raise InvalidRequestError("'max_age' must be a number of seconds.")
        return int(raw)

    def _login_redirect(self, request: OAuthRequest, prompts: set[str], max_age: int | None,
                        *, again: bool) -> str:
        """Our log-in page, coming back to this same request. `prompt=login` becomes a
        `max_age` the fresh log-in meets (otherwise it would ask again forever)."""
        params = [(k, v) for k, values in request.params.items() for v in values
                  if k not in ("prompt", "max_age", "decision")]
        if "login" in prompts:
            max_age = min(max_age, FORCED_MAX_AGE) if max_age is not None else FORCED_MAX_AGE
        if prompts - {"login"}:
            params.append(("prompt", " ".join(sorted(prompts - {"login"}))))
        if max_age is not None:
            params.append(("max_age", str(max_age)))
        back = f"{self.issuer}/oauth2/authorize?{urlencode(params)}"
        query = {"next": back, **({"reauth": "1"} if again else {})}
        return f"{self.login_url}?{urlencode(query)}"

    def _consented(self, user_id: str, client: RegisteredClient, scope: str) -> bool:
        found = self.store.get_consent(user_id, client.client_id)
        return found is not None and set(scope.split()) <= set(found.scope.split())

    def _refused(self, req: _Request, error: OAuth2Error) -> Authorize:
        """An error goes back to the client only once its redirect URI is known good
        (RFC 6749 4.1.2.1); otherwise it is our page, never a redirect."""
        if not getattr(error, "redirect_uri", None):
            # Fixed words: nothing of the request (an attacker's URL) is echoed.
            return Authorize("error", message=PAGE_ERRORS.get(
                error.error, "This request is not valid.") + " Go back to the app and try "
                "again; if it happens again, tell the app's makers.")
        error.state = req.payload.data.get("state")
        answer = self.server.handle_error_response(req, error)
        self.server.issuer_parameter.add_issuer_parameter(self.server, answer)
        return Authorize("redirect", answer.location or "", 302)

    # tokens ------------------------------------------------------------------------

    def grant_user(self, user_id: str, session_id: str, auth_time: int) -> GrantUser | None:
        """The user a code or token is for, while its browser session lives."""
        session = self.steps.sessions.store.get(session_id)
        if session is None or session.user_id != user_id or session.pending or \
                session.expires_at <= self.clock():
            return None
        user = self.steps.users.by_id(user_id)
        if user is None or user.disabled_at or user.deleting_at:
            return None
        return GrantUser(user.id, user.username, session_id, auth_time)

    def generate_token(self, grant_type: str, client: RegisteredClient, user: Any = None,
                       scope: str | None = None, expires_in: int | None = None,
                       include_refresh_token: bool = True) -> dict:
        token = {"token_type": "Bearer", "access_token": secrets.token_urlsafe(32),
                 "expires_in": int(ACCESS_LIFETIME.total_seconds()), "scope": scope or ""}
        if include_refresh_token:
            token["refresh_token"] = secrets.token_urlsafe(32)
        return token

    def save_token(self, token: dict, request: Any) -> None:
        user: GrantUser = request.user
        if request.authorization_code is not None:
            family = request.authorization_code.record.id  # the code's hash
            if self.backchannel is not None and request.client.record.backchannel_logout_uri:
                # Before the tokens exist: a client never holds tokens of a session
                # whose end it would not be told of.
                self.backchannel.arm(session_id=user.session_id,
                                     client_id=request.client.client_id, user_id=user.id,
                                     sid=session_sid(user.session_id))
        else:
            family = request.refresh_token.record.family
        now = self.clock()
        common = {"family": family, "client_id": request.client.client_id,
                  "user_id": user.id, "session_id": user.session_id,
                  "scope": token.get("scope", ""), "auth_time": user.auth_time,
                  "created_at": now, "used_at": None, "revoked_at": None}
        self.store.put_token(id=token_hash(token["access_token"]), kind="access",
                             expires_at=now + ACCESS_LIFETIME, **common)
        if token.get("refresh_token"):
            self.store.put_token(id=token_hash(token["refresh_token"]), kind="refresh",
                                 expires_at=now + REFRESH_LIFETIME, **common)

    def reuse_detected(self, family: str, client_id: str, what: str, *,
                       user_id: str | None = None) -> None:
        """A used code or refresh token came back: someone else may hold it. Everything
        of its family is revoked, and the event is recorded."""
        revoked = self.store.revoke_family(family, self.clock())
        user = self.steps.users.by_id(user_id) if user_id else None
        self.steps.event(Kind.TOKEN_REUSE, user, success=False,
                         detail=f"{what} reused by client {client_id[:24]}; {revoked} "
                                "token(s) revoked")

    def token(self, request: OAuthRequest) -> Answer:
        if any(len(v) > PARAM_MAX for values in request.params.values() for v in values):
            return Answer(400, {"error": "invalid_request"}, [("Cache-Control", "no-store")])
        return self.server.create_token_response(_Request(request))

    def revoke(self, request: OAuthRequest) -> Answer:
        return self.server.create_endpoint_response("revocation", _Request(request))

    def user_info(self, user: GrantUser, scope: str) -> UserInfo:
        info = {"sub": user.id}
        if "profile" in scope.split():
            info |= {"preferred_username": user.username, "name": user.username}
        return UserInfo(info)

    def userinfo(self, authorization: str | None) -> Answer:
        """The user of a live access token (Bearer, RFC 6750); 401 otherwise."""
        refused = Answer(401, {"error": "invalid_token"}, [
            ("WWW-Authenticate", 'Bearer error="invalid_token"'), ("Cache-Control", "no-store")])
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not 0 < len(value.strip()) <= 256:
            return refused
        record = self.store.get_token(token_hash(value.strip()))
        if record is None or record.kind != "access" or record.revoked_at or \
                record.expires_at <= self.clock():
            return refused
        user = self.grant_user(record.user_id, record.session_id, record.auth_time)
        if user is None:
            return refused
        return Answer(200, dict(self.user_info(user, record.scope)),
                      [("Cache-Control", "no-store")])

    # log-out -----------------------------------------------------------------------

    def end_session(self, request: OAuthRequest, validation: SessionValidation | None, *,
                    confirmed: bool, ip: str = "", user_agent: str = "") -> Answer | None:
        """RP-initiated log-out: the browser session ends when the `id_token_hint` names
        its user, or when the user confirmed on our page (a bare link from anywhere must
        not log people out). None: ask for confirmation."""
        req = _Request(request)
        try:
            checked = self.server.validate_endpoint_request("end_session", req)
        except OAuth2Error:
            checked = None
        session = validation.session if validation and validation.session else None
        hint_matches = checked is not None and checked.id_token_claims is not None and \
            validation is not None and validation.user is not None and \
            checked.id_token_claims.get("sub") == validation.user.id
        if session is not None and not (hint_matches or confirmed):
            return None
        if session is not None:
            req.session_id = session.id
            req.end_user = validation.user
        if checked is None:
            if session is not None:
                self.end_browser_session(session.id, validation.user, ip=ip,
                                         user_agent=user_agent)
            return Answer(302, "", [("Location", self.issuer + "/")])
        answer = self.server.create_endpoint_response("end_session", checked)
        return answer or Answer(302, "", [("Location", self.issuer + "/")])

    def end_browser_session(self, session_id: str, user: Any, *, ip: str = "",
                            user_agent: str = "") -> None:
        self.steps.sessions.invalidate_session(session_id)
        self.store.revoke_for_session(session_id, self.clock())
        if user is not None:
            self.steps.event(Kind.LOGOUT, SessionUser(user.id, user.username),
                             session_id=session_id, ip=ip, user_agent=user_agent,
                             detail="by a client (RP-initiated)")

    # consents (the account page) ---------------------------------------------------

    def consents(self, user_id: str) -> list:
        return self.store.consents_for_user(user_id)

    def withdraw(self, user_id: str, client_id: str) -> bool:
        return self.store.delete_consent(user_id, client_id, self.clock())


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
