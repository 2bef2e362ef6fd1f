"""Re-authentication and passwords: enter the password (and the second factor) again to
make sensitive changes, change one's own password, or store a new one for a user (every
other session ended)."""

from __future__ import annotations

from auth_utils.flows.outcomes import WRONG_CODE, Outcome, Result
from auth_utils.flows.steps import Steps
from auth_utils.rules.password_policy import APP_WORDS
from auth_utils.rules.passwords import hash_password
from auth_utils.rules.validation import validate_password
from auth_utils.services.activity import Kind
from auth_utils.services.second_factor import Check
from auth_utils.services.sessions import Session, SessionUser

__all__ = ["PasswordFlows"]


class PasswordFlows:
    """`core.passwords`; its one collaborator is `Steps`."""

    def __init__(self, steps: Steps, *, site_words: tuple[str, ...] = APP_WORDS) -> None:
        self.steps = steps
        self.site_words = site_words  # what passwords must not be built from (settings)

    def reauthenticate(self, session: Session, user: SessionUser, password: str, code: str,
                       *, ip: str, user_agent: str = "") -> Outcome:
        """Enter the password (and the second factor, when on) again: the session may
        make sensitive changes for the next ten minutes."""
        return self.steps.admitted(ip, user.username, lambda: self._reauthenticate(
            session, user, password, code, ip=ip, user_agent=user_agent))

    def _reauthenticate(self, session: Session, user: SessionUser, password: str, code: str,
                        *, ip: str, user_agent: str) -> Outcome:
        steps, who = self.steps, {"ip": ip, "user_agent": user_agent, "session_id": session.id}
        if refused := steps.check_own_password(
                user, password, why="when confirming a change", field="password",
                message="Your password is incorrect.", **who):
            return refused
        if steps.factors.enabled(user.id):
            check = steps.check_code(user, code, **who)
            if isinstance(check, Outcome):
                return check
            if check is Check.WRONG:
                steps.event(Kind.REAUTH_FAILED, user, success=False,
                            detail="wrong code when confirming a change", **who)
                return Outcome(Result.INCORRECT, WRONG_CODE, "code", user.username)
        steps.sessions.mark_verified(session.id)
        steps.event(Kind.REAUTHENTICATED, user, **who)
        return Outcome(Result.OK, username=user.username, user=user)

    def set_password(self, user_id: str, new: str, *, keep_session_id: str | None = None,
                     ip: str = "", user_agent: str = "") -> Outcome:
        """Store a new password and end every session of the user but `keep_session_id`
        (an operator's reset keeps none)."""
        steps = self.steps
        owner = steps.users.by_id(user_id)
        if message := validate_password(new, username=owner.username if owner else "",
                                        site_words=self.site_words):
            return Outcome(Result.INVALID, message, "new")
        if not steps.replace_password(user_id, hash_password(new), kind=Kind.PASSWORD_CHANGED,
                                      keep_session_id=keep_session_id, ip=ip,
                                      user_agent=user_agent):
            return Outcome(Result.INVALID, "There is no such user.", None)
        return Outcome(Result.OK)

    def change_password(self, user: SessionUser, current: str, new: str, confirm: str, *,
                        ip: str, keep_session_id: str, session: Session | None = None,
                        user_agent: str = "") -> Outcome:
        """Check the current password (throttled like log-in), store the new one and end
        every other session of the user; the current one keeps working. The request
        carries the password, so the re-authentication rule asks only for a recent
        second factor, when it is on."""
        if session is not None and (refused := self.steps.require_recent(
                session, user, password_in_request=True)):
            return refused
        return self.steps.admitted(ip, user.username, lambda: self._change_password(
            user, current, new, confirm, ip=ip, user_agent=user_agent,
            keep_session_id=keep_session_id))

    def _change_password(self, user: SessionUser, current: str, new: str, confirm: str, *,
                         ip: str, user_agent: str, keep_session_id: str) -> Outcome:
        if refused := self.steps.check_own_password(
                user, current, ip=ip, user_agent=user_agent, session_id=keep_session_id,
                why="when changing it", message="Your current password is incorrect.",
                field="current"):
            return refused
        if message := validate_password(new, username=user.username,
                                        site_words=self.site_words):
            return Outcome(Result.INVALID, message, "new", user.username)
        if new != confirm:
            return Outcome(Result.INVALID, "The two new passwords do not match.", "confirm",
                           user.username)
        changed = self.set_password(user.id, new, keep_session_id=keep_session_id, ip=ip,
                                    user_agent=user_agent)
        return Outcome(changed.result, changed.message, changed.field, user.username,
                       user=user if changed.ok else None)
