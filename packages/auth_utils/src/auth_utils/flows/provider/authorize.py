"""The authorization endpoint's decision: our log-in first (no session, a pending second
factor, `prompt=login`, an old `max_age`), then consent for a client not first-party,
then a code back to the client; an error goes back to the client only once its redirect
URI is known good, otherwise it is our page (RFC 6749 4.1.2.1)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError

from auth_utils.config import origin_of
from auth_utils.flows.provider.context import ProviderContext
from auth_utils.flows.provider.messages import Authorize, OAuthRequest, _Request
from auth_utils.flows.provider.models import PARAM_MAX, GrantUser, RegisteredClient
from auth_utils.flows.provider.server import _Server
from auth_utils.services.activity import Kind
from auth_utils.services.sessions import SessionUser, SessionValidation

__all__ = ["Authorization"]

FORCED_MAX_AGE = 300  # prompt=login comes back as max_age=300 after the fresh log-in
# What our error page says when the client or its redirect URI cannot be trusted.
PAGE_ERRORS = {"invalid_client": "The app that sent you here is not registered with us.",
               "invalid_request": "The app sent a request we cannot accept (its address "
                                  "for the answer is missing or not registered).",
               "unsupported_response_type": "The app asked for a kind of answer we do not "
                                            "give."}


class Authorization:
    """`core.openid.authorize` and its steps."""

    def __init__(self, context: ProviderContext, server: _Server) -> None:
        self.context = context
        self.server = server

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
        now = int(self.context.clock().timestamp())
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
            self.context.store.put_consent(
                id=f"{user.id}:{client.client_id}", user_id=user.id,
                client_id=client.client_id, scope=req.scope, created_at=self.context.clock())
            self.context.steps.event(
                Kind.CLIENT_AUTHORIZED, SessionUser(user.id, user.username),
                session_id=user.session_id, ip=ip, user_agent=user_agent,
                detail=client.record.name[:64])
        answer = self.server.create_authorization_response(req, user, grant)
        if not answer.location:
            return Authorize("error", message="This request could not be completed.")
        return Authorize("redirect", answer.location, 302)

    def redirect_origin(self, next_url: str) -> str | None:
        """The origin an authorization request of ours (`next_url`: our log-in pages'
        `next`) ends at: its client's redirect URI when that client registered it exactly,
        else None. CSP's form-action governs the redirects that follow a form submission
        (Chromium), so the log-in pages allow that one origin, for that request only: our
        form posts, we redirect to /oauth2/authorize, which redirects to the client."""
        prefix = f"{self.context.issuer}/oauth2/authorize?"
        if not next_url.startswith(prefix) or len(next_url) > 4 * PARAM_MAX:
            return None
        query = parse_qs(next_url[len(prefix):])
        client_ids, uris = query.get("client_id", []), query.get("redirect_uri", [])
        if len(client_ids) != 1 or len(uris) != 1:
            return None
        client = self.server.query_client(client_ids[0])
        if client is None or not client.check_redirect_uri(uris[0]):
            return None
        return origin_of(uris[0])

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
        back = f"{self.context.issuer}/oauth2/authorize?{urlencode(params)}"
        query = {"next": back, **({"reauth": "1"} if again else {})}
        return f"{self.context.login_url}?{urlencode(query)}"

    def _consented(self, user_id: str, client: RegisteredClient, scope: str) -> bool:
        found = self.context.store.get_consent(user_id, client.client_id)
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
