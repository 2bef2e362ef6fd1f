"""Outside identities once they are ours: the account a new identity signs up for (its
username picked on our page), and the linked identities of an account, listed and
unlinked. The log-in with a provider itself is `FederationFlows`; the linking rules are
in its docstring and docs/security.md."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from auth_utils.flows.federated import FLOW_TTL, Federated, flow_key
from auth_utils.flows.outcomes import Outcome, Result, throttled_outcome
from auth_utils.flows.steps import Steps
from auth_utils.rules.passwords import HasherBusy, hash_password
from auth_utils.rules.validation import normalize_username, validate_username
from auth_utils.services.activity import Kind
from auth_utils.services.sessions import Session, SessionUser
from auth_utils.storage import IdentityStore, PasskeyStore, StoredIdentity

__all__ = ["IdentityFlows"]


class IdentityFlows:
    """`core.identities`: what follows an outside log-in (`core.federation`)."""

    def __init__(self, steps: Steps, identities: IdentityStore, passkeys: PasskeyStore,
                 provider_name: Callable[[str], str]) -> None:
        self.steps = steps
        self.identities = identities
        self.passkeys = passkeys  # only to know whether unlinking leaves a way in
        self.provider_name = provider_name  # a provider's display name from its id

    # -- a new identity's account ------------------------------------------------------

    def pending_signup(self, token: str) -> Federated | None:
        """The new identity waiting for its username (to show the page), or None."""
        data = self.identities.peek_flow(flow_key(token), "signup", self.steps.sessions.clock())
        if data is None:
            return None
        return Federated("signup", Outcome(Result.OK), 200, data.get("next", ""), token,
                         self.provider_name(data.get("provider", "")),
                         data.get("suggested", ""))

    def finish_signup(self, token: str, raw_username: str, *, ip: str, user_agent: str = "",
                      previous_session_id: str | None = None) -> Federated:
        """Create the account the new identity logs in to, with the chosen username (the
        unique index decides a taken one), link the identity, start a session."""
        steps, who = self.steps, {"ip": ip, "user_agent": user_agent}
        now = steps.sessions.clock()
        data = self.identities.peek_flow(flow_key(token), "signup", now) if token else None
        if data is None:
            return Federated.refused(400, "This sign-up has expired or was finished. "
                                     "Please start again.")
        name, next_url = self.provider_name(data["provider"]), data.get("next", "")
        username = normalize_username(raw_username)
        again = {"next": next_url, "signup_token": token, "provider": name,
                 "username": username[:64]}
        if message := validate_username(username):
            return Federated.refused(400, message, field_name="username", **again)
        attempt = steps.throttler.begin_signup(ip)
        if not attempt.allowed:
            steps.event(Kind.LOGIN_THROTTLED, None, success=False,
                        detail="sign-up (outside log-in)", **who)
            return Federated.refused(429, throttled_outcome(attempt, "").message,
                                     result=Result.THROTTLED,
                                     retry_after=attempt.retry_after, **again)
        # Used up before the account is made: of two requests racing with one token, one
        # goes on (it is put back when the name turns out to be taken).
        if self.identities.take_flow(flow_key(token), "signup", now) is None:
            return Federated.refused(400, "This sign-up has expired or was finished. "
                                     "Please start again.")
        try:
            with steps.hashing(ip):
                # No password of its own: the hash of a secret nobody knows keeps every
                # password check working (and failing) as for any account.
                unusable = hash_password(secrets.token_urlsafe(32))
        except HasherBusy:
            steps.throttler.refund(attempt)
            self._put_back(token, data)
            return Federated.refused(503, "We are busy right now. Please try again in a "
                                     "moment.", result=Result.BUSY, **again)
        user = steps.users.create(username, unusable, now, password_unknown=True)
        if user is None:
            self._put_back(token, data)
            return Federated.refused(409, "That username is taken.", result=Result.TAKEN,
                                     field_name="username", **again)
        if not self._store_link_for(data, user.id):
            # Another sign-up linked this identity a moment ago: this account goes again.
            steps.users.mark_deleting(user.id, now)
            steps.users.delete(user.id)
            return Federated.refused(409, f"This {name} account was just linked to another "
                                     "account. Log in with it.", result=Result.TAKEN)
        outcome = steps.start_session(user, previous_session_id=previous_session_id,
                                      has_factor=False, **who)
        session_id = outcome.session.id if outcome.session else None
        steps.event(Kind.SIGNUP, user, session_id=session_id,
                    detail=f"outside log-in ({data['provider']})", **who)
        steps.event(Kind.IDENTITY_LINKED, user, session_id=session_id, detail=name[:64],
                    **who)
        return Federated("login", outcome, 200, next_url, provider=name)

    def _put_back(self, token: str, data: dict) -> None:
        self.identities.put_flow(flow_key(token), "signup", data,
                                 self.steps.sessions.clock() + FLOW_TTL)

    def _store_link_for(self, data: dict, user_id: str) -> bool:
        return self.identities.link(
            id=secrets.token_hex(12), issuer=data["issuer"], subject=data["subject"],
            provider=data["provider"], user_id=user_id, email=data.get("email", ""),
            created_at=self.steps.sessions.clock())

    # -- the security page -------------------------------------------------------------

    def linked(self, user_id: str) -> list[StoredIdentity]:
        return self.identities.for_user(user_id)

    def unlink(self, session: Session, user: SessionUser, identity_id: str, *, ip: str = "",
               user_agent: str = "") -> Outcome:
        """Remove a linked identity, after a recent re-authentication, and only when the
        account keeps another way in: a password, a passkey or another linked identity
        (nobody locks themselves out)."""
        steps = self.steps
        if refused := steps.require_recent(session, user):
            return refused
        mine = self.identities.for_user(user.id)
        target = next((i for i in mine if i.id == identity_id), None)
        if target is None:
            return Outcome(Result.INVALID, "There is no such linked log-in.", None,
                           user.username)
        record = steps.users.by_id(user.id)
        has_password = record is not None and not record.password_unknown
        if not (has_password or len(mine) > 1 or self.passkeys.for_user(user.id)):
            return Outcome(Result.INVALID, "This is your only way to log in: set a password "
                           "or add a passkey first.", None, user.username)
        if not self.identities.unlink(user.id, identity_id):
            return Outcome(Result.INVALID, "There is no such linked log-in.", None,
                           user.username)
        steps.event(Kind.IDENTITY_UNLINKED, user, session_id=session.id, ip=ip,
                    user_agent=user_agent, detail=self.provider_name(target.provider)[:64])
        return Outcome(Result.OK, username=user.username, user=user)
