"""Consents, as the account page shows them: the clients a user allowed, and withdrawing
one (the consent, the client's tokens and codes, and a Logout Token per session)."""

from __future__ import annotations

from auth_utils.flows.provider.context import ProviderContext
from auth_utils.flows.provider.messages import AllowedClient
from auth_utils.services.activity import Kind
from auth_utils.services.sessions import SessionUser

__all__ = ["Consents"]


class Consents:
    """`core.openid.consents` and `withdraw`; `allowed`, checked by the token side."""

    def __init__(self, context: ProviderContext) -> None:
        self.context = context

    def allowed(self, user_id: str, client_id: str) -> bool:
        """The user's consent to the client stands (checked at each use of its
        tokens when it is not first-party)."""
        return self.context.store.get_consent(user_id, client_id) is not None

    def consents(self, user_id: str) -> list[AllowedClient]:
        """The clients the user allowed, oldest first (first-party ones never ask)."""
        allowed = []
        for consent in self.context.store.consents_for_user(user_id):
            client = self.context.store.get_client(consent.client_id)
            if client is not None:  # removed since (its consents go with it)
                allowed.append(AllowedClient(client.id, client.name,
                                             tuple(consent.scope.split()),
                                             consent.created_at))
        return allowed

    def withdraw(self, user: SessionUser, client_id: str, *, session_id: str | None = None,
                 ip: str = "", user_agent: str = "") -> bool:
        """Withdraw the user's consent to a client (False: no such consent of this user,
        whatever `client_id` holds). At once: the next authorization asks again; every
        token the client holds for the user, from any session, stops working (revoked,
        and refused at each use while no consent stands); its unexchanged codes go; and
        the client is told by back-channel log-out for each session it got tokens from,
        the same Logout Token a session's end sends, so it ends its own sessions of the
        user. No re-authentication: it only takes access away."""
        if not isinstance(client_id, str) or not 0 < len(client_id) <= 64:
            return False
        consent = self.context.store.get_consent(user.id, client_id)
        if consent is None or consent.user_id != user.id:
            return False
        context = self.context
        client = context.store.get_client(client_id)
        # Told first, then revoked: a failure half-way leaves the consent listed, and a
        # second try finishes (a client told twice drops the duplicate, or logs out twice).
        told = context.backchannel.access_withdrawn(user_id=user.id, client_id=client_id) \
            if context.backchannel is not None else 0
        context.store.delete_consent(user.id, client_id, context.clock())
        name = client.name if client is not None else client_id
        context.steps.event(Kind.CLIENT_REVOKED, user, session_id=session_id, ip=ip,
                         user_agent=user_agent,
                         detail=f"{name[:64]}; {told} back-channel log-out(s)")
        return True
