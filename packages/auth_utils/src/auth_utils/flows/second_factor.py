"""The second factor's flows: a code, a recovery code or a passkey for a pending log-in;
turning the factor on and off (by the user, or by an operator); new recovery codes."""

from __future__ import annotations

from dataclasses import replace

from auth_utils.flows.lifecycle import PASSWORD, refuse_closed
from auth_utils.flows.outcomes import LOGIN_ENDED, TOO_MANY_CODES, WRONG_CODE, Outcome, Result
from auth_utils.flows.steps import Steps
from auth_utils.services.activity import Kind
from auth_utils.services.passkeys import PasskeyError, Passkeys
from auth_utils.services.second_factor import Check, FactorStatus
from auth_utils.services.sessions import Session, SessionUser

__all__ = ["PENDING_MAX_FAILURES", "FactorStatus", "SecondFactorFlows"]

PENDING_MAX_FAILURES = 5  # wrong codes before a pending log-in ends


class SecondFactorFlows:
    """TOTP and recovery codes (checked by `Steps.check_code`), and a passkey as the
    second step of a password log-in."""

    def __init__(self, steps: Steps, passkeys: Passkeys) -> None:
        self.steps = steps
        self.factors = steps.factors
        self.passkeys = passkeys

    def enabled(self, user_id: str) -> bool:
        return self.factors.enabled(user_id)

    def status(self, user: SessionUser) -> FactorStatus:
        return self.factors.status(user.id, user.username)

    def verify(self, pending: Session, user: SessionUser, code: str, *, ip: str,
               user_agent: str = "", trust: bool = False) -> Outcome:
        """The code (or a recovery code) for a pending log-in: a new, logged-in session
        replaces the pending one. Wrong codes are throttled per user (all processes) and
        end the pending log-in after five. `trust`: this browser skips the code for 30
        days (the outcome's `trusted_browser` is its cookie's token)."""
        if not pending.pending:
            return Outcome(Result.ENDED, LOGIN_ENDED, None, user.username)
        who = {"ip": ip, "user_agent": user_agent, "session_id": pending.id}
        check = self.steps.check_code(user, code, **who)
        if isinstance(check, Outcome):
            return check
        if check is Check.WRONG:
            if self.steps.throttler.pending_code_failure(pending.id) >= PENDING_MAX_FAILURES:
                self.steps.sessions.invalidate_session(pending.id)
                self.steps.event(Kind.SECOND_FACTOR_FAILED, user, success=False,
                                 detail="five wrong codes: the log-in ended", **who)
                return Outcome(Result.ENDED, TOO_MANY_CODES, None, user.username)
            self.steps.event(Kind.SECOND_FACTOR_FAILED, user, success=False, **who)
            return Outcome(Result.INCORRECT, WRONG_CODE, "code", user.username)
        outcome = self._complete(pending, user, ip=ip, user_agent=user_agent)
        if outcome.ok:
            who["session_id"] = outcome.session.id if outcome.session else None
            self.steps.event(Kind.RECOVERY_CODE_USED if check is Check.RECOVERY
                             else Kind.SECOND_FACTOR_PASSED, user, **who)
            if trust and (token := self.factors.trust(user.id, user_agent=user_agent, ip=ip)):
                self.steps.event(Kind.BROWSER_TRUSTED, user, **who)
                outcome = replace(outcome, trusted_browser=token)
        return outcome

    def cancel_pending(self, pending: Session, user: SessionUser, *, ip: str,
                       user_agent: str = "") -> Outcome:
        """"Cancel" on the code page: the pending log-in ends, and the activity page says
        so (the password was entered: the owner sees who stopped at the code, and when).
        A complete session is never ended here (a log-out is the web app's button)."""
        if not pending.pending:
            return Outcome(Result.ENDED, LOGIN_ENDED, None, user.username)
        self.steps.sessions.invalidate_session(pending.id)
        self.steps.event(Kind.LOGIN_CANCELLED, user, ip=ip, user_agent=user_agent,
                         session_id=pending.id)
        return Outcome(Result.OK, username=user.username)

    def _complete(self, pending: Session, user: SessionUser, *, ip: str, user_agent: str
                  ) -> Outcome:
        """Complete the pending log-in, unless the account was disabled or its deletion
        began while the code was being given (the new session then ends at once)."""
        outcome = self.steps.complete_pending(pending, user, ip=ip, user_agent=user_agent)
        if outcome.ok and (refused := refuse_closed(
                self.steps, self.steps.users.by_id(user.id), PASSWORD, detail="second factor",
                username=user.username, started=outcome.session, ip=ip, user_agent=user_agent)):
            return refused
        return outcome

    def verify_with_passkey(self, pending: Session, user: SessionUser, credential_json: str,
                            *, ip: str, user_agent: str = "") -> Outcome:
        """A passkey of this user instead of a code on the verification page."""
        if not pending.pending:
            return Outcome(Result.ENDED, LOGIN_ENDED, None, user.username)
        who = {"ip": ip, "user_agent": user_agent}
        try:
            passkey = self.passkeys.authenticate(credential_json, user_id=user.id)
        except PasskeyError as exc:
            self.steps.event(Kind.SECOND_FACTOR_FAILED, user, session_id=pending.id,
                             success=False, detail="passkey", **who)
            return Outcome(Result.INVALID, str(exc), "passkey", user.username)
        outcome = self._complete(pending, user, **who)
        if outcome.ok:
            self.steps.event(Kind.PASSKEY_USED, user, detail=f"as the second factor: "
                             f"{passkey.name!r}", session_id=outcome.session.id
                             if outcome.session else None, **who)
        return outcome

    def trusted_browsers(self, user: SessionUser) -> list[dict]:
        return self.factors.trusted_browsers(user.id)

    def forget_browser(self, session: Session, user: SessionUser, browser_id: str | None, *,
                       ip: str = "", user_agent: str = "") -> Outcome:
        """Ask for the code again on one trusted browser (by id), or on all (None)."""
        if not self.factors.forget(user.id, browser_id):
            return Outcome(Result.INVALID, "There is no such browser.", None, user.username)
        self.steps.event(Kind.BROWSER_FORGOTTEN, user, session_id=session.id, ip=ip,
                         user_agent=user_agent, detail="all" if browser_id is None else "")
        return Outcome(Result.OK, username=user.username, user=user)

    def start(self, session: Session, user: SessionUser, *, ip: str = "",
              user_agent: str = "") -> Outcome:
        """A new secret to scan (replacing one not yet confirmed). Like turning it off,
        only after a recent re-authentication: a stolen cookie must not enrol its own
        secret (and lock the owner out behind it)."""
        if refused := self.steps.require_recent(session, user):
            return refused
        if self.factors.start(user.id, user.username) is None:
            return Outcome(Result.INVALID, "The second factor is on already.", None,
                           user.username)
        self.steps.event(Kind.SECOND_FACTOR_SETUP, user, session_id=session.id, ip=ip,
                         user_agent=user_agent)
        return Outcome(Result.OK, username=user.username, user=user)

    def cancel(self, user: SessionUser) -> Outcome:
        """Stop an enrolment half-way: the secret shown is forgotten and the page is as
        before. Nothing to re-authenticate (it only undoes what `start` did); an enabled
        second factor is never touched."""
        if not self.factors.cancel(user.id):
            return Outcome(Result.INVALID, "There is no set-up in progress.", None,
                           user.username)
        return Outcome(Result.OK, username=user.username, user=user)

    def confirm(self, session: Session, user: SessionUser, code: str, *, ip: str = "",
                user_agent: str = "") -> tuple[Outcome, list[str]]:
        """Turn the second factor on with a code from the app: the recovery codes, and a
        new session (the outcome's token: the app sends its cookie) in place of this one.
        Every other session ends: each was opened with the password alone, below what the
        account now asks for, and one may be the reason the user turns it on."""
        if refused := self.steps.require_recent(session, user):
            return refused, []
        codes = self.factors.confirm(user.id, code)
        if codes is None:
            return Outcome(Result.INCORRECT, "That code is not right. Check the time on your "
                           "phone and enter the code the app shows now.", "code",
                           user.username), []
        who = {"ip": ip, "user_agent": user_agent, "session_id": session.id}
        self.steps.event(Kind.SECOND_FACTOR_ON, user, **who)
        if ended := self.steps.sessions.invalidate_user_sessions(user.id, keep=session.id):
            self.steps.event(Kind.SESSION_REVOKED, user, **who, detail=f"{ended} other "
                             "session(s), when the second factor was turned on")
        # A new token for the new assurance (and without REQUIRE_SECOND_FACTOR's limit).
        return self.steps.start_session(user, ip=ip, user_agent=user_agent,
                                        previous_session_id=session.id), codes

    def disable(self, session: Session, user: SessionUser, *, ip: str = "",
                user_agent: str = "") -> Outcome:
        """Turn the second factor off (re-authentication needed) and end every other
        session."""
        if refused := self.steps.require_recent(session, user):
            return refused
        if self.steps.require_second_factor:
            return Outcome(Result.INVALID, "This site requires a second factor: it cannot be "
                           "turned off.", None, user.username)
        self._turn_off(user, keep=session.id, by="the user", ip=ip, user_agent=user_agent)
        return Outcome(Result.OK, username=user.username, user=user)

    def reset_by_operator(self, user: SessionUser) -> int:
        """`auth-admin mfa-reset`, for a user who lost both the phone and the codes (and
        proved who they are by other means): off, every session ended; how many."""
        return self._turn_off(user, keep=None, by="an operator (mfa-reset)")

    def _turn_off(self, user: SessionUser, *, keep: str | None, by: str, ip: str = "",
                  user_agent: str = "") -> int:
        self.factors.disable(user.id)
        ended = self.steps.sessions.invalidate_user_sessions(user.id, keep=keep)
        who = {"ip": ip, "user_agent": user_agent, "session_id": keep}
        self.steps.event(Kind.SECOND_FACTOR_OFF, user, detail=f"by {by}", **who)
        if ended:
            self.steps.event(Kind.SESSION_REVOKED, user, **who, detail=f"{ended} session(s), "
                             "when the second factor was turned off")
        return ended

    def regenerate_recovery_codes(self, session: Session, user: SessionUser, *, ip: str = "",
                                  user_agent: str = "") -> tuple[Outcome, list[str]]:
        if refused := self.steps.require_recent(session, user):
            return refused, []
        codes = self.factors.regenerate(user.id)
        if codes is None:
            return Outcome(Result.INVALID, "The second factor is off.", None,
                           user.username), []
        self.steps.event(Kind.RECOVERY_CODES_REGENERATED, user, session_id=session.id, ip=ip,
                         user_agent=user_agent)
        return Outcome(Result.OK, username=user.username, user=user), codes
