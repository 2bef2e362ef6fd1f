"""Our client at one outside OpenID Connect provider: discovery, the authorization URL,
the code exchange and the ID token's checks, all by Authlib (and joserfc, which Authlib
verifies signatures with); nothing here parses or checks a signature by hand.

Every call to the provider has a timeout (`OidcProvider.timeout`, 5 s by default) and at
most `MAX_CALLS_IN_FLIGHT` run at once per provider, so a provider that is down or slow
costs its own log-ins a clear 503 and never holds the threads password log-ins need.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import authlib.deprecate  # noqa: F401 - its module-level "always" filter goes first
import httpx
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from auth_utils.config import OidcProvider

with warnings.catch_warnings():
    # Authlib prefers the `httpx2` fork and warns when it falls back to httpx, which is
    # the HTTP client this workspace already uses and tests with.
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import OAuth2Client, OAuthError
from authlib.oidc.core import CodeIDToken

__all__ = ["MAX_CALLS_IN_FLIGHT", "OidcClient", "ProviderError", "ProviderUnavailable"]

log = logging.getLogger("auth_utils.oidc")

MAX_CALLS_IN_FLIGHT = 8  # per provider; more wait for nobody: they get 503 at once
METADATA_TTL = 3600.0  # seconds a discovery document (and its keys) is kept
# ID tokens signed with the client secret (HS256) or not at all ("none") are refused: the
# signature must come from the provider's published keys.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                      "ES384", "ES512", "EdDSA")
LEEWAY = 60  # seconds of clock difference allowed on exp / iat


class ProviderError(Exception):
    """The provider's answer cannot be used; `message` is for the page, `detail` for the
    log and the event (no secret in either)."""

    status = 400

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


class ProviderUnavailable(ProviderError):
    """The provider did not answer in time, or answered with an error of its own."""

    status = 503


class OidcClient:
    """One provider: its discovery document and keys cached (`METADATA_TTL`)."""

    def __init__(self, provider: OidcProvider, redirect_uri: str, *,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.provider = provider
        self.redirect_uri = redirect_uri
        self._transport = transport
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None
        self._fetched_at = 0.0
        self._in_flight = threading.BoundedSemaphore(MAX_CALLS_IN_FLIGHT)

    @property
    def unavailable(self) -> str:
        return (f"{self.provider.name} is not answering right now. Please try again in a "
                "while, or log in another way.")

    @contextmanager
    def _call(self, what: str) -> Iterator[None]:
        """One outbound call: a slot (or 503 at once) and network errors made a 503."""
        if not self._in_flight.acquire(blocking=False):
            raise ProviderUnavailable(self.unavailable, f"{what}: too many calls in flight")
        try:
            yield
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(self.unavailable,
                                      f"{what}: {type(exc).__name__}") from None
        finally:
            self._in_flight.release()

    def _http(self) -> httpx.Client:
        return httpx.Client(timeout=self.provider.timeout, transport=self._transport,
                            follow_redirects=False)

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        with self._call(what), self._http() as http:
            response = http.get(url, headers={"accept": "application/json"})
            if response.status_code != 200:
                raise ProviderUnavailable(self.unavailable,
                                          f"{what}: HTTP {response.status_code}")
            try:
                body = response.json()
            except ValueError:
                raise ProviderUnavailable(self.unavailable, f"{what}: not JSON") from None
        if not isinstance(body, dict):
            raise ProviderUnavailable(self.unavailable, f"{what}: not a JSON object")
        return body

    def metadata(self) -> dict[str, Any]:
        """The issuer's `/.well-known/openid-configuration`, cached; its `issuer` must be
        the configured one exactly (OpenID Connect Discovery 4.3: a document naming
        another issuer could hand us another provider's endpoints)."""
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._fetched_at \
                    < METADATA_TTL:
                return self._metadata
        issuer = self.provider.issuer
        document = self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration",
                                  "discovery")
        if document.get("issuer") != issuer:
            raise ProviderUnavailable(self.unavailable, "discovery: issuer differs")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(key), str):
                raise ProviderUnavailable(self.unavailable, f"discovery: no {key}")
        with self._lock:
            self._metadata, self._jwks, self._fetched_at = document, None, time.monotonic()
        return document

    def _key_set(self, *, force: bool = False) -> KeySet:
        metadata = self.metadata()
        with self._lock:
            jwks = None if force else self._jwks
        if jwks is None:
            jwks = self._get_json(metadata["jwks_uri"], "jwks")
            with self._lock:
                self._jwks = jwks
        try:
            return KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError):
            raise ProviderUnavailable(self.unavailable, "jwks: unusable keys") from None

    def _oauth(self) -> OAuth2Client:
        return OAuth2Client(self.provider.client_id, self.provider.client_secret,
                            scope=self.provider.scope, redirect_uri=self.redirect_uri,
                            code_challenge_method="S256", timeout=self.provider.timeout,
                            transport=self._transport, follow_redirects=False)

    def authorization_url(self, *, state: str, nonce: str, code_verifier: str) -> str:
        """Where the browser goes: the code flow with PKCE (S256), `state` and `nonce`."""
        endpoint = self.metadata()["authorization_endpoint"]
        with self._oauth() as client:
            url, _ = client.create_authorization_url(endpoint, state=state, nonce=nonce,
                                                     code_verifier=code_verifier)
        return url

    def exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        """The code for tokens at the token endpoint (client authentication, PKCE)."""
        endpoint = self.metadata()["token_endpoint"]
        try:
            with self._call("token"), self._oauth() as client:
                token = client.fetch_token(endpoint, grant_type="authorization_code",
                                           code=code, code_verifier=code_verifier)
        except OAuthError as exc:
            # invalid_grant: expired, used, or issued for another request or client.
            raise ProviderError(
                f"{self.provider.name} did not accept this log-in (it may have expired or "
                "been used already). Please start again.", f"token: {exc.error}") from None
        if not isinstance(token, dict) or not isinstance(token.get("id_token"), str):
            raise ProviderError(f"{self.provider.name} sent no ID token.", "token: no id_token")
        return dict(token)

    def id_token_claims(self, id_token: str, *, nonce: str, access_token: str | None,
                        now: int) -> dict[str, Any]:
        """The ID token's claims once Authlib checked them: the signature against the
        provider's keys (re-fetched once for an unknown key id: rotation), `iss` the
        configured issuer, `aud` our client id (`azp` too when present), `nonce` the one
        this log-in sent, `exp`/`iat` (with `LEEWAY`), `at_hash` when present."""
        metadata = self.metadata()
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=[a for a in offered if a in SIGNING_ALGORITHMS],
                               strict_check_header=False)
        try:
            try:
                token = jwt.decode(id_token, self._key_set(), registry=registry)
            except InvalidKeyIdError:
                token = jwt.decode(id_token, self._key_set(force=True), registry=registry)
            claims = CodeIDToken(
                token.claims, token.header,
                {"iss": {"essential": True, "value": self.provider.issuer},
                 "aud": {"essential": True, "value": self.provider.client_id},
                 "sub": {"essential": True}, "nonce": {"essential": True}},
                {"nonce": nonce, "client_id": self.provider.client_id,
                 "access_token": access_token})
            claims.validate(now=now, leeway=LEEWAY)
        except (JoseError, ValueError) as exc:
            raise ProviderError(
                f"The answer from {self.provider.name} could not be verified. Please start "
                "again.", f"id_token: {type(exc).__name__} {exc}"[:160]) from None
        if not isinstance(claims.get("sub"), str) or not 0 < len(claims["sub"]) <= 255:
            raise ProviderError(f"{self.provider.name} sent no usable subject.",
                                "id_token: bad sub")
        return dict(claims)
