"""Tokens: the user a code or token is for (while its browser session lives and its
consent stands), storing opaque access and refresh tokens under their hash, reuse
detection, and userinfo. The grants (`grants`) call these; the token and revocation
endpoints are the server's (`server`)."""

from __future__ import annotations

from typing import Any

from auth_utils.flows.provider.consents import Consents
from auth_utils.flows.provider.context import ProviderContext
from auth_utils.flows.provider.messages import Answer
from auth_utils.flows.provider.models import (
    ACCESS_LIFETIME,
    REFRESH_LIFETIME,
    GrantUser,
    session_sid,
    token_hash,
    user_info,
)
from auth_utils.services.activity import Kind

__all__ = ["Tokens"]


class Tokens:
    """`core.openid.userinfo`, and the token side the grants use."""

    def __init__(self, context: ProviderContext, consents: Consents) -> None:
        self.context = context
        self.consents = consents

    def grant_user(self, user_id: str, session_id: str, auth_time: int, *,
                   client: Any = None) -> GrantUser | None:
        """The user a code or token is for, while its browser session lives and, for a
        `client` (its record) not first-party, while the user's consent to it stands."""
        if client is not None and not (client.first_party or self.consents.allowed(
                user_id, client.id)):
            # Withdrawn on the account page: its tokens were revoked then, and this check
            # at each use also catches one issued by an exchange racing the withdrawal.
            return None
        steps = self.context.steps
        session = steps.sessions.store.get(session_id)
        if session is None or session.user_id != user_id or session.pending or \
                session.expires_at <= self.context.clock():
            return None
        user = steps.users.by_id(user_id)
        if user is None or user.disabled_at or user.deleting_at:
            return None
        return GrantUser(user.id, user.username, session_id, auth_time)

    def save_token(self, token: dict, request: Any) -> None:
        user: GrantUser = request.user
        context = self.context
        if request.authorization_code is not None:
            family = request.authorization_code.record.id  # the code's hash
            if context.backchannel is not None and \
                    request.client.record.backchannel_logout_uri:
                # Before the tokens exist: a client never holds tokens of a session
                # whose end it would not be told of.
                context.backchannel.arm(session_id=user.session_id,
                                        client_id=request.client.client_id, user_id=user.id,
                                        sid=session_sid(user.session_id))
        else:
            family = request.refresh_token.record.family
        now = context.clock()
        common = {"family": family, "client_id": request.client.client_id,
                  "user_id": user.id, "session_id": user.session_id,
                  "scope": token.get("scope", ""), "auth_time": user.auth_time,
                  "created_at": now, "used_at": None, "revoked_at": None}
        context.store.put_token(id=token_hash(token["access_token"]), kind="access",
                                expires_at=now + ACCESS_LIFETIME, **common)
        if token.get("refresh_token"):
            context.store.put_token(id=token_hash(token["refresh_token"]), kind="refresh",
                                    expires_at=now + REFRESH_LIFETIME, **common)

    def reuse_detected(self, family: str, client_id: str, what: str, *,
                       user_id: str | None = None) -> None:
        """A used code or refresh token came back: someone else may hold it. Everything
        of its family is revoked, and the event is recorded."""
        revoked = self.context.store.revoke_family(family, self.context.clock())
        steps = self.context.steps
        user = steps.users.by_id(user_id) if user_id else None
        steps.event(Kind.TOKEN_REUSE, user, success=False,
                    detail=f"{what} reused by client {client_id[:24]}; {revoked} "
                           "token(s) revoked")

    def userinfo(self, authorization: str | None) -> Answer:
        """The user of a live access token (Bearer, RFC 6750); 401 otherwise."""
        refused = Answer(401, {"error": "invalid_token"}, [
            ("WWW-Authenticate", 'Bearer error="invalid_token"'), ("Cache-Control", "no-store")])
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not 0 < len(value.strip()) <= 256:
            return refused
        store = self.context.store
        record = store.get_token(token_hash(value.strip()))
        if record is None or record.kind != "access" or record.revoked_at or \
                record.expires_at <= self.context.clock():
            return refused
        client = store.get_client(record.client_id)
        user = client and self.grant_user(record.user_id, record.session_id,
                                          record.auth_time, client=client)
        if user is None:
            return refused
        return Answer(200, dict(user_info(user, record.scope)), [("Cache-Control", "no-store")])
