"""The passkey flows: a passkey log-in (a complete multi-factor log-in), adding, renaming
and removing one. (A passkey as the second step of a password log-in is a second-factor
flow.)"""

from __future__ import annotations

from auth_utils.flows.lifecycle import PASSKEY, refuse_closed
from auth_utils.flows.outcomes import Outcome, Result, throttled_outcome
from auth_utils.flows.steps import Steps
from auth_utils.services.activity import Kind
from auth_utils.services.passkeys import PasskeyError, Passkeys
from auth_utils.services.sessions import Session, SessionUser
from auth_utils.storage import StoredPasskey

__all__ = ["PasskeyFlows"]


class PasskeyFlows:
    """WebAuthn credentials (`passkeys.Passkeys` verifies them)."""

    def __init__(self, steps: Steps, passkeys: Passkeys) -> None:
        self.steps = steps
        self.passkeys = passkeys

    def for_user(self, user_id: str) -> list[StoredPasskey]:
        return self.passkeys.for_user(user_id)

    def login_options(self) -> str:
        """A fresh single-use challenge for a passkey log-in (JSON for the browser)."""
        return self.passkeys.authentication_options()

    def reauthenticate(self, session: Session, user: SessionUser, credential_json: str, *,
                       ip: str, user_agent: str = "") -> Outcome:
        """"Confirm it is you" with one of the user's own passkeys instead of the password
        (and code): a passkey is multi-factor, as at log-in. The session may make
        sensitive changes for the next ten minutes."""
        who = {"ip": ip, "user_agent": user_agent, "session_id": session.id}
        try:
            passkey = self.passkeys.authenticate(credential_json, user_id=user.id)
        except PasskeyError as exc:
            self.steps.event(Kind.REAUTH_FAILED, user, success=False,
                             detail="passkey when confirming a change", **who)
            return Outcome(Result.INVALID, str(exc), "passkey", user.username)
        self.steps.sessions.mark_verified(session.id)
        self.steps.event(Kind.REAUTHENTICATED, user, detail=f"passkey {passkey.name!r}", **who)
        return Outcome(Result.OK, username=user.username, user=user)

    def log_in(self, credential_json: str, *, ip: str, user_agent: str = "",
               previous_session_id: str | None = None) -> Outcome:
        """A passkey (discoverable, user-verified) is a complete multi-factor log-in:
        a new session exactly as after a password and a code. Throttled like log-ins."""
        steps, who = self.steps, {"ip": ip, "user_agent": user_agent}
        attempt = steps.throttler.begin_login(None, ip)
        if not attempt.allowed:
            steps.event(Kind.LOGIN_THROTTLED, None, success=False, detail="passkey", **who)
            return throttled_outcome(attempt, "")
        try:
            passkey = self.passkeys.authenticate(credential_json)
        except PasskeyError as exc:
            steps.event(Kind.LOGIN_FAILED, None, success=False, detail="passkey", **who)
            return Outcome(Result.INVALID, str(exc), "passkey")
        user = steps.users.by_id(passkey.user_id)
        if refused := refuse_closed(steps, user, PASSKEY, detail="passkey", **who):
            return refused  # gone, being deleted or disabled
        steps.throttler.login_succeeded(attempt)
        outcome = steps.start_session(user, previous_session_id=previous_session_id, **who)
        if refused := refuse_closed(steps, steps.users.by_id(user.id), PASSKEY,
                                    detail="passkey", started=outcome.session, **who):
            return refused  # disabled or deleted meanwhile
        steps.event(Kind.PASSKEY_USED, user, detail=f"log-in with {passkey.name!r}",
                    session_id=outcome.session.id if outcome.session else None, **who)
        return outcome

    def registration_options(self, session: Session, user: SessionUser
                             ) -> tuple[Outcome, str]:
        """Options for adding a passkey (a stored, single-use challenge): a sensitive
        change, so only after a recent re-authentication."""
        if refused := self.steps.require_recent(session, user):
            return refused, ""
        options = self.passkeys.registration_options(user.id, user.username)
        return Outcome(Result.OK, username=user.username, user=user), options

    def add(self, session: Session, user: SessionUser, credential_json: str, name: str, *,
            ip: str = "", user_agent: str = "") -> Outcome:
        if refused := self.steps.require_recent(session, user):
            return refused
        try:
            passkey = self.passkeys.register(user.id, credential_json, name)
        except PasskeyError as exc:
            return Outcome(Result.INVALID, str(exc), "passkey", user.username)
        self.steps.event(Kind.PASSKEY_ADDED, user, session_id=session.id, detail=passkey.name,
                         ip=ip, user_agent=user_agent)
        return Outcome(Result.OK, username=user.username, user=user)

    def rename(self, session: Session, user: SessionUser, credential_id: str, name: str, *,
               ip: str = "", user_agent: str = "") -> Outcome:
        """A new name for one of the user's passkeys (a label: no re-authentication)."""
        if not self.passkeys.rename(user.id, credential_id, name):
            return Outcome(Result.INVALID, "Give the passkey a name.", "name", user.username)
        self.steps.event(Kind.PASSKEY_RENAMED, user, session_id=session.id, ip=ip,
                         user_agent=user_agent, detail=" ".join(name.split())[:64])
        return Outcome(Result.OK, username=user.username, user=user)

    def remove(self, session: Session, user: SessionUser, credential_id: str, *,
               ip: str = "", user_agent: str = "") -> Outcome:
        if refused := self.steps.require_recent(session, user):
            return refused
        if not self.passkeys.remove(user.id, credential_id):
            return Outcome(Result.INVALID, "There is no such passkey.", None, user.username)
        self.steps.event(Kind.PASSKEY_REMOVED, user, session_id=session.id, ip=ip,
                         user_agent=user_agent)
        return Outcome(Result.OK, username=user.username, user=user)
