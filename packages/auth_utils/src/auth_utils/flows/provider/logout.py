"""RP-initiated log-out (OpenID Connect RP-Initiated Logout 1.0): the browser session
ends only with an `id_token_hint` naming its user or after the user confirms; its
tokens are revoked with it."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error

from auth_utils.flows.provider.context import ProviderContext
from auth_utils.flows.provider.messages import Answer, OAuthRequest, _Request
from auth_utils.flows.provider.server import _Server
from auth_utils.services.activity import Kind
from auth_utils.services.sessions import SessionUser, SessionValidation

__all__ = ["LogOut"]


class LogOut:
    """`core.openid.end_session`."""

    def __init__(self, context: ProviderContext, server: _Server) -> None:
        self.context = context
        self.server = server

    def end_session(self, request: OAuthRequest, validation: SessionValidation | None, *,
                    confirmed: bool, ip: str = "", user_agent: str = "") -> Answer | None:
        """RP-initiated log-out: the browser session ends when the `id_token_hint` names
        its user, or when the user confirmed on our page (a bare link from anywhere must
        not log people out). None: ask for confirmation."""
        try:
            checked = self.server.validate_endpoint_request("end_session", _Request(request))
        except OAuth2Error:
            checked = None
        session = validation.session if validation and validation.session else None
        hint_matches = checked is not None and checked.id_token_claims is not None and \
            validation is not None and validation.user is not None and \
            checked.id_token_claims.get("sub") == validation.user.id
        if session is not None and not (hint_matches or confirmed):
            return None
        if session is not None:
            self.end_browser_session(session.id, validation.user, ip=ip,
                                     user_agent=user_agent)
        # Authlib only builds the answer: the redirect to a registered
        # post_logout_redirect_uri, or ours.
        answer = self.server.create_endpoint_response("end_session", checked) \
            if checked is not None else None
        return answer or Answer(302, "", [("Location", self.context.issuer + "/")])

    def end_browser_session(self, session_id: str, user: Any, *, ip: str = "",
                            user_agent: str = "") -> None:
        steps = self.context.steps
        steps.sessions.invalidate_session(session_id)
        self.context.store.revoke_for_session(session_id, self.context.clock())
        if user is not None:
            steps.event(Kind.LOGOUT, SessionUser(user.id, user.username),
                        session_id=session_id, ip=ip, user_agent=user_agent,
                        detail="by a client (RP-initiated)")
