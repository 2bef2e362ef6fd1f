"""Our OpenID Connect provider: the landing app signs apps on other domains in.

The protocol is Authlib's server side (`authlib.oauth2.rfc6749` grants and the
authorization server, `rfc7636` PKCE, `rfc7009` revocation, `rfc9207` `iss`,
`authlib.oidc.core` ID tokens, `authlib.oidc.rpinitiated` log-out); this package only
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

The package, a module per job: `messages` (what the apps pass in and get back),
`models` (clients, codes, tokens as Authlib sees them; lifetimes; hashes), `context` (what
the parts share), `grants` (the code and refresh grants, PKCE, ID tokens), `server`
(Authlib's server: the token endpoint, revocation, RP-initiated log-out, `iss`), and the
parts `OpenIDProvider` is built from, each a plain object holding the context and only
the parts it uses: `clients`, `consents`, `tokens` (for the grants, with `consents`),
`authorize` and `logout` (with the server).
"""

from __future__ import annotations

from auth_utils.flows.provider.authorize import Authorization
from auth_utils.flows.provider.clients import Clients
from auth_utils.flows.provider.consents import Consents
from auth_utils.flows.provider.context import ProviderContext
from auth_utils.flows.provider.logout import LogOut
from auth_utils.flows.provider.messages import AllowedClient, Answer, Authorize, OAuthRequest
from auth_utils.flows.provider.models import (
    GrantUser,
    RegisteredClient,
    redirect_uri_problem,
    session_sid,
    token_hash,
)
from auth_utils.flows.provider.server import _Server
from auth_utils.flows.provider.tokens import Tokens
from auth_utils.flows.steps import Steps
from auth_utils.services.backchannel import Backchannel
from auth_utils.services.signing_keys import SigningKeys
from auth_utils.storage import OAuthStore

__all__ = ["AllowedClient", "Answer", "Authorize", "GrantUser", "OAuthRequest",
           "OpenIDProvider", "RegisteredClient", "redirect_uri_problem", "session_sid",
           "token_hash"]


class OpenIDProvider:
    """`core.openid`: builds the parts and answers for them (each method below is its
    part's own)."""

    def __init__(self, steps: Steps, store: OAuthStore, keys: SigningKeys, *, issuer: str,
                 login_url: str, backchannel: Backchannel | None = None) -> None:
        self.context = context = ProviderContext(steps, store, keys, issuer, login_url,
                                                 steps.sessions.clock, backchannel)
        self.store, self.keys, self.issuer = store, keys, issuer
        consents = Consents(context)
        tokens = Tokens(context, consents)
        self.server = _Server(context, tokens)
        registry = Clients(context)
        authorization = Authorization(context, self.server)
        logout = LogOut(context, self.server)
        # What the apps, the CLI and the tests call, each its part's own method.
        self.register = registry.register
        self.clients = registry.clients
        self.remove = registry.remove
        self.logouts = registry.logouts
        self.logout_counts = registry.logout_counts
        self.metadata = registry.metadata
        self.authorize = authorization.authorize
        self.redirect_origin = authorization.redirect_origin
        self.token = self.server.token
        self.revoke = self.server.revoke
        self.userinfo = tokens.userinfo
        self.end_session = logout.end_session
        self.consents = consents.consents
        self.withdraw = consents.withdraw

    @property
    def backchannel(self) -> Backchannel | None:
        """Back-channel log-out (`auth_utils.services.backchannel`), held by the context:
        set here, every part sees it."""
        return self.context.backchannel

    @backchannel.setter
    def backchannel(self, value: Backchannel | None) -> None:
        self.context.backchannel = value
