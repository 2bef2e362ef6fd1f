"""Log in with an outside OpenID Connect provider, and link such identities to accounts.

The linking rules (docs/security.md, "Outside identity providers"):
- an identity is the provider's issuer and subject (`iss` + `sub`), never an address;
- a new identity creates a new account (the user picks its username on our page), or,
  started from a logged-in session after a recent re-authentication, links to that
  account; it is never linked to an account because an e-mail address matches;
- a linked identity logs in to its account like any other log-in (throttled per
  address, a fresh session, events, notices), and a user with a second factor is still
  asked for it unless the operator trusts the provider's multi-factor claim;
- unlinking needs another way in (a password, a passkey or another linked identity).

The pending log-in (state, nonce, PKCE verifier, intent) is kept server-side, single use
and ten minutes long; the browser keeps only the state, in a cookie the app sets, so a
callback is accepted only in the browser that started it (login CSRF) and only once.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Mapping

from auth_utils.config import OidcProvider
from auth_utils.flows.federated import (
    FLOW_TTL,
    INTENTS,
    OUTSIDE,
    STARTED_ELSEWHERE,
    Begun,
    Federated,
    ProviderChoice,
    flow_key,
)
from auth_utils.flows.lifecycle import refuse_closed
from auth_utils.flows.outcomes import Outcome, Result, throttled_outcome
from auth_utils.flows.steps import Steps
from auth_utils.rules.validation import normalize_username, validate_username
from auth_utils.services.activity import Kind
from auth_utils.services.oidc import OidcClient, ProviderError
from auth_utils.services.sessions import Session, SessionUser
from auth_utils.storage import IdentityStore

__all__ = ["FederationFlows"]

log = logging.getLogger("auth_utils.federation")

class FederationFlows:
    """`core.federation`: outside OpenID Connect providers (`OIDC_PROVIDERS`)."""

    def __init__(self, steps: Steps, identities: IdentityStore,
                 providers: tuple[OidcProvider, ...], *, redirect_uri: str) -> None:
        self.steps = steps
        self.identities = identities
        self.redirect_uri = redirect_uri
        self.clients = {p.id: OidcClient(p, redirect_uri) for p in providers}

    @property
    def enabled(self) -> bool:
        return bool(self.clients)

    @property
    def providers(self) -> list[ProviderChoice]:
        """The buttons to show, in configuration order."""
        return [ProviderChoice(c.provider.id, c.provider.name) for c in self.clients.values()]

    def provider_name(self, provider_id: str) -> str:
        client = self.clients.get(provider_id)
        return client.provider.name if client else provider_id

    # -- the log-in --------------------------------------------------------------------

    def begin(self, provider_id: str, intent: str = "login", *, session: Session | None = None,
              user: SessionUser | None = None, next: str = "") -> Begun | Federated:
        """The authorization URL and the state the browser keeps, or a refusal. "link"
        needs a logged-in session re-authenticated within the last ten minutes."""
        client = self.clients.get(provider_id)
        if client is None or intent not in INTENTS:
            return Federated.refused(404, "There is no such way to log in.")
        name = client.provider.name
        data = {"provider": provider_id, "intent": intent, "next": next[:2048]}
        if intent == "link":
            if session is None or user is None or session.pending:
                return Federated.refused(403, "Log in first to link another log-in.")
            if refused := self.steps.require_recent(session, user):
                return Federated("refused", refused, 403, next, provider=name)
            data |= {"user_id": user.id, "session_id": session.id}
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)  # 64 characters (RFC 7636: 43-128)
        try:
            url = client.authorization_url(state=state, nonce=nonce, code_verifier=verifier)
        except ProviderError as exc:
            log.warning("oidc %s: %s", provider_id, exc.detail)
            return Federated.refused(exc.status, exc.message, result=Result.BUSY,
                                     provider=name, next=next)
        # The verifier and the nonce never leave the server; the state is stored hashed.
        self.identities.put_flow(
            flow_key(state), "authorize", data | {"nonce": nonce, "verifier": verifier},
            self.steps.sessions.clock() + FLOW_TTL)
        return Begun(url, state)

    def complete(self, params: Mapping[str, str], browser_state: str | None, *,
                 session: Session | None, user: SessionUser | None, ip: str,
                 user_agent: str = "", previous_session_id: str | None = None,
                 trusted_browser: str | None = None) -> Federated:
        """The provider sent the browser back with `params` (the callback's query);
        `browser_state` is what the browser kept. Never raises for the provider's
        doing: every failure is a refusal with its status (400, 403, 409, 429, 503)."""
        steps, who = self.steps, {"ip": ip, "user_agent": user_agent}
        state = params.get("state") or ""
        # The state must be the one this browser kept (login CSRF: a callback URL made in
        # another browser, e.g. an attacker's, is refused), and is used up here, once.
        if not state or not browser_state or not hmac.compare_digest(
                state.encode(), browser_state.encode()):
            steps.event(Kind.LOGIN_FAILED, None, success=False,
                        detail="outside log-in: state not this browser's", **who)
            return Federated.refused(400, STARTED_ELSEWHERE)
        data = self.identities.take_flow(flow_key(state), "authorize", steps.sessions.clock())
        client = self.clients.get(data.get("provider", "")) if data else None
        if data is None or client is None:
            steps.event(Kind.LOGIN_FAILED, None, success=False,
                        detail="outside log-in: state unknown, used or expired", **who)
            return Federated.refused(400, STARTED_ELSEWHERE)
        provider, next_url = client.provider, data.get("next", "")
        try:
            claims = self._verified_claims(client, params, data)
        except ProviderError as exc:
            steps.event(Kind.LOGIN_FAILED, None, success=False,
                        detail=f"outside log-in ({provider.id}): {exc.detail}"[:200], **who)
            return Federated.refused(exc.status, exc.message, next=next_url,
                                     provider=provider.name,
                                     result=Result.BUSY if exc.status == 503
                                     else Result.INVALID)
        if data.get("intent") == "link":
            return self._link(client, claims, data, session, user, **who)
        return self._log_in(client, claims, next_url, previous_session_id=previous_session_id,
                            trusted_browser=trusted_browser, **who)

    def _verified_claims(self, client: OidcClient, params: Mapping[str, str],
                         data: dict) -> dict:
        provider = client.provider
        metadata = client.metadata()
        # RFC 9207: the `iss` response parameter names who sent the browser back (a
        # mix-up attack sends another provider's code here); required when the provider
        # says it sends one.
        if "iss" in params:
            if params["iss"] != metadata["issuer"]:
                raise ProviderError("This answer came from another provider than the one "
                                    "this log-in started with. Please start again.",
                                    "iss response parameter differs")
        elif metadata.get("authorization_response_iss_parameter_supported"):
            raise ProviderError(STARTED_ELSEWHERE, "iss response parameter missing")
        if error := params.get("error"):
            if error == "access_denied":
                message = f"You did not allow the log-in at {provider.name}."
            else:
                message = f"{provider.name} could not log you in. Please try again."
            exc = ProviderError(message, f"error={error[:40]}")
            exc.status = 403 if error == "access_denied" else 400
            raise exc
        code = params.get("code") or ""
        if not code or len(code) > 2048:
            raise ProviderError(f"{provider.name} sent no log-in code.", "no code")
        token = client.exchange(code, data["verifier"])
        return client.id_token_claims(
            token["id_token"], nonce=data["nonce"], access_token=token.get("access_token"),
            now=int(self.steps.sessions.clock().timestamp()))

    def _mfa_asserted(self, provider: OidcProvider, claims: dict) -> bool:
        """The provider says the log-in was multi-factor, and the operator trusts it."""
        if not provider.trust_mfa:
            return False
        amr = claims.get("amr")
        return (isinstance(amr, list) and "mfa" in amr) or \
            (bool(provider.mfa_acr) and claims.get("acr") in provider.mfa_acr)

    def _log_in(self, client: OidcClient, claims: dict, next_url: str, *, ip: str,
                user_agent: str, previous_session_id: str | None,
                trusted_browser: str | None) -> Federated:
        steps, who, provider = self.steps, {"ip": ip, "user_agent": user_agent}, client.provider
        detail = f"outside log-in ({provider.id})"
        # Throttled per address like every log-in (the identity itself was proven).
        attempt = steps.throttler.begin_login(None, ip)
        if not attempt.allowed:
            steps.event(Kind.LOGIN_THROTTLED, None, success=False, detail=detail, **who)
            outcome = throttled_outcome(attempt, "")
            return Federated("refused", outcome, 429, next_url, provider=provider.name)
        linked = self.identities.get(provider.issuer, claims["sub"])
        if linked is None:
            # A new identity: a new account, whose username the user picks. Its e-mail
            # address, verified or not, is never used to find an existing account (that
            # is how accounts were taken over by creating an outside identity with the
            # victim's address).
            steps.throttler.login_succeeded(attempt)
            token = secrets.token_urlsafe(32)
            email = claims.get("email") if isinstance(claims.get("email"), str) else ""
            suggested = normalize_username(str(claims.get("preferred_username") or ""))
            self.identities.put_flow(flow_key(token), "signup", {
                "provider": provider.id, "issuer": provider.issuer, "subject": claims["sub"],
                "email": email[:320], "next": next_url, "suggested": suggested[:31]},
                steps.sessions.clock() + FLOW_TTL)
            return Federated("signup", Outcome(Result.OK), 200, next_url, token,
                             provider.name, suggested[:31] if not validate_username(
                                 suggested[:31]) else "")
        user = steps.users.by_id(linked.user_id)
        if refused := refuse_closed(steps, user, OUTSIDE, detail=detail, **who):
            return Federated("refused", refused, 403, next_url, provider=provider.name)
        has_factor = steps.factors.enabled(user.id)
        trusted = has_factor and steps.factors.is_trusted(user.id, trusted_browser)
        # A second factor is asked exactly as after a password, unless the operator chose
        # to trust this provider's own multi-factor claim (`trust_mfa`, off by default).
        pending = has_factor and not trusted and not self._mfa_asserted(provider, claims)
        if not pending:
            steps.throttler.login_succeeded(attempt)
        outcome = steps.start_session(user, previous_session_id=previous_session_id,
                                      pending=pending, has_factor=has_factor, **who)
        if refused := refuse_closed(steps, steps.users.by_id(user.id), OUTSIDE, detail=detail,
                                    started=outcome.session, **who):
            return Federated("refused", refused, 403, next_url, provider=provider.name)
        self.identities.touch(linked.id, steps.sessions.clock())
        steps.event(Kind.LOGIN_PENDING if pending else Kind.LOGIN, user, detail=detail,
                    session_id=outcome.session.id if outcome.session else None, **who)
        return Federated("login", outcome, 200, next_url, provider=provider.name)

    def _link(self, client: OidcClient, claims: dict, data: dict, session: Session | None,
              user: SessionUser | None, *, ip: str, user_agent: str) -> Federated:
        steps, provider = self.steps, client.provider
        who = {"ip": ip, "user_agent": user_agent}
        next_url = data.get("next", "")
        # Linked only to the account, and from the session, that asked for it.
        if session is None or user is None or session.pending or \
                user.id != data.get("user_id") or session.id != data.get("session_id"):
            return Federated.refused(403, "Log in again to link another log-in.",
                                     next=next_url, provider=provider.name)
        if refused := steps.require_recent(session, user):
            return Federated("refused", refused, 403, next_url, provider=provider.name)
        existing = self.identities.get(provider.issuer, claims["sub"])
        if existing is not None:
            if existing.user_id == user.id:
                return Federated("linked", Outcome(Result.OK, username=user.username,
                                                   user=user), 200, next_url,
                                 provider=provider.name)
            return Federated.refused(409, f"This {provider.name} account is already linked "
                                     "to another account here.", result=Result.TAKEN,
                                     next=next_url, provider=provider.name)
        email = claims.get("email") if isinstance(claims.get("email"), str) else ""
        if not self._store_link(provider, claims["sub"], user.id, email):
            return Federated.refused(409, f"This {provider.name} account is already linked "
                                     "to another account here.", result=Result.TAKEN,
                                     next=next_url, provider=provider.name)
        steps.event(Kind.IDENTITY_LINKED, user, session_id=session.id,
                    detail=provider.name[:64], **who)
        return Federated("linked", Outcome(Result.OK, username=user.username, user=user),
                         200, next_url, provider=provider.name)

    def _store_link(self, provider: OidcProvider, subject: str, user_id: str,
                    email: str) -> bool:
        return self.identities.link(
            id=secrets.token_hex(12), issuer=provider.issuer, subject=subject,
            provider=provider.id, user_id=user_id, email=email[:320],
            created_at=self.steps.sessions.clock())
