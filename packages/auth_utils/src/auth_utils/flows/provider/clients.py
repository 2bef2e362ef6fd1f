"""The provider's clients (`auth-admin clients`): registering one (the secret shown once,
stored hashed), listing, removing, the back-channel log-outs they heard or did not, and
the discovery document that describes what a client may use."""

from __future__ import annotations

import secrets

from auth_utils.flows.provider.context import ProviderContext
from auth_utils.flows.provider.models import (
    AUTH_METHODS,
    SCOPES,
    redirect_uri_problem,
    token_hash,
)
from auth_utils.services.signing_keys import ALG

__all__ = ["Clients"]


class Clients:
    """`core.openid`'s client registry and discovery."""

    def __init__(self, context: ProviderContext) -> None:
        self.context = context

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
        self.context.store.add_client(
            id=client_id, name=name.strip()[:80], secret_hash=token_hash(secret) if secret
            else "", redirect_uris=list(redirect_uris),
            post_logout_redirect_uris=list(post_logout_redirect_uris),
            backchannel_logout_uri=backchannel_logout_uri, public=public,
            first_party=first_party, created_at=self.context.clock())
        return client_id, secret

    def clients(self) -> list:
        return self.context.store.list_clients()

    def remove(self, client_id: str) -> bool:
        return self.context.store.remove_client(client_id)

    def logouts(self, *, status: str | None = None, client_id: str | None = None,
                limit: int = 100) -> list:
        """Back-channel log-outs, newest first (`auth-admin clients logouts`)."""
        return self.context.store.list_logouts(status, limit, client_id=client_id)

    def logout_counts(self) -> dict[str, int]:
        return self.context.store.count_logouts()

    # discovery ---------------------------------------------------------------------

    def metadata(self) -> dict:
        base = self.context.issuer
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
