"""The passkey flows: a passkey log-in (a complete multi-factor log-in), a passkey as the
second step of a password log-in, adding and removing one."""

from __future__ import annotations

from auth_utils.activity import Kind
from auth_utils.flowbase import FlowBase
from auth_utils.outcomes import TOO_MANY_CODES, Outcome, Result, throttled_outcome
from auth_utils.passkeys import PasskeyError
from auth_utils.sessions import Session, SessionUser

__all__ = ["PasskeyFlows"]


class PasskeyFlows(FlowBase):
    """WebAuthn credentials (`passkeys.Passkeys` verifies them)."""

    def log_in_with_passkey(self, credential_json: str, *, ip: str, user_agent: str = "",
                            previous_session_id: str | None = None) -> Outcome:
        """A passkey (discoverable, user-verified) is a complete multi-factor log-in:
        a new session exactly as after a password and a code. Throttled like log-ins."""
        attempt = self.throttler.begin_login(None, ip)
        if not attempt.allowed:
            self._event(Kind.LOGIN_THROTTLED, None, ip=ip, user_agent=user_agent,
                        success=False, detail="passkey")
            return throttled_outcome(attempt, "")
        try:
            passkey = self.passkeys.authenticate(credential_json)
        except PasskeyError as exc:
            self._event(Kind.LOGIN_FAILED, None, ip=ip, user_agent=user_agent, success=False,
                        detail="passkey")
            return Outcome(Result.INVALID, str(exc), "passkey")
        user = self.users.by_id(passkey.user_id)
        if user is None:
            return Outcome(Result.INVALID, "This passkey's account no longer exists.", "passkey")
        self.throttler.login_succeeded(attempt)
        outcome = self._start_session(user, ip=ip, user_agent=user_agent,
                                      previous_session_id=previous_session_id)
        self._event(Kind.PASSKEY_USED, user, ip=ip, user_agent=user_agent,
                    session_id=outcome.session.id if outcome.session else None,
                    detail=f"log-in with {passkey.name!r}")
        return outcome

    def verify_with_passkey(self, pending: Session, user: SessionUser, credential_json: str,
                            *, ip: str, user_agent: str = "") -> Outcome:
        """A passkey of this user instead of a code on the verification page."""
        if not pending.pending:
            return Outcome(Result.ENDED, TOO_MANY_CODES, None, user.username)
        try:
            passkey = self.passkeys.authenticate(credential_json, user_id=user.id)
        except PasskeyError as exc:
            self._event(Kind.SECOND_FACTOR_FAILED, user, ip=ip, user_agent=user_agent,
                        session_id=pending.id, success=False, detail="passkey")
            return Outcome(Result.INVALID, str(exc), "passkey", user.username)
        outcome = self._complete_pending(pending, user, ip=ip, user_agent=user_agent)
        self._event(Kind.PASSKEY_USED, user, ip=ip, user_agent=user_agent,
                    session_id=outcome.session.id if outcome.session else None,
                    detail=f"as the second factor: {passkey.name!r}")
        return outcome

    def add_passkey(self, session: Session, user: SessionUser, credential_json: str,
                    name: str) -> Outcome:
        if refused := self._sudo(session, user):
            return refused
        try:
            passkey = self.passkeys.register(user.id, credential_json, name)
        except PasskeyError as exc:
            return Outcome(Result.INVALID, str(exc), "passkey", user.username)
        self._event(Kind.PASSKEY_ADDED, user, session_id=session.id, detail=passkey.name)
        return Outcome(Result.OK, username=user.username, user=user)

    def remove_passkey(self, session: Session, user: SessionUser, credential_id: str
                       ) -> Outcome:
        if refused := self._sudo(session, user):
            return refused
        if not self.passkeys.remove(user.id, credential_id):
            return Outcome(Result.INVALID, "There is no such passkey.", None, user.username)
        self._event(Kind.PASSKEY_REMOVED, user, session_id=session.id)
        return Outcome(Result.OK, username=user.username, user=user)
