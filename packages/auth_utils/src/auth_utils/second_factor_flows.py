"""The second factor's flows: a code (or recovery code) for a pending log-in, turning the
factor on and off, new recovery codes."""

from __future__ import annotations

from auth_utils.activity import Kind
from auth_utils.flowbase import FlowBase
from auth_utils.outcomes import THROTTLED, TOO_MANY_CODES, WRONG_CODE, Outcome, Result
from auth_utils.second_factor import Check
from auth_utils.sessions import Session, SessionUser

__all__ = ["PENDING_MAX_FAILURES", "SecondFactorFlows"]

PENDING_MAX_FAILURES = 5  # wrong codes before a pending log-in ends


class SecondFactorFlows(FlowBase):
    """TOTP codes and recovery codes (`second_factor.SecondFactors` checks them)."""

    def verify_second_factor(self, pending: Session, user: SessionUser, code: str, *,
                             ip: str, user_agent: str = "") -> Outcome:
        """The code (or a recovery code) for a pending log-in: a new, logged-in session
        replaces the pending one. Wrong codes are throttled per user (all processes) and
        end the pending log-in after five."""
        if not pending.pending:
            return Outcome(Result.ENDED, TOO_MANY_CODES, None, user.username)
        who = {"ip": ip, "user_agent": user_agent, "session_id": pending.id}
        attempt = self.throttler.begin_code(user.id)
        if not attempt.allowed:
            self._event(Kind.LOGIN_THROTTLED, user, success=False, detail="second factor",
                        **who)
            return Outcome(Result.THROTTLED, THROTTLED, "code", user.username,
                           retry_after=attempt.retry_after)
        check = self.second_factors.check(user.id, code[:128])
        if check is Check.WRONG:
            if self.throttler.pending_code_failure(pending.id) >= PENDING_MAX_FAILURES:
                self.sessions.invalidate_session(pending.id)
                self._event(Kind.SECOND_FACTOR_FAILED, user, success=False,
                            detail="five wrong codes: the log-in ended", **who)
                return Outcome(Result.ENDED, TOO_MANY_CODES, None, user.username)
            self._event(Kind.SECOND_FACTOR_FAILED, user, success=False, **who)
            return Outcome(Result.INCORRECT, WRONG_CODE, "code", user.username)
        self.throttler.refund(attempt)
        outcome = self._complete_pending(pending, user, ip=ip, user_agent=user_agent)
        who["session_id"] = outcome.session.id if outcome.session else None
        self._event(Kind.RECOVERY_CODE_USED if check is Check.RECOVERY
                    else Kind.SECOND_FACTOR_PASSED, user, **who)
        return outcome

    def confirm_second_factor(self, session: Session, user: SessionUser, code: str
                              ) -> list[str] | None:
        """Turn the second factor on with a code from the app: the recovery codes."""
        codes = self.second_factors.confirm(user.id, code)
        if codes is not None:
            self._event(Kind.SECOND_FACTOR_ON, user, session_id=session.id)
        return codes

    def disable_second_factor(self, session: Session, user: SessionUser) -> Outcome:
        """Turn the second factor off (sudo) and end every other session."""
        if refused := self._sudo(session, user):
            return refused
        self.second_factors.disable(user.id)
        ended = self.sessions.invalidate_user_sessions(user.id, keep=session.id)
        self._event(Kind.SECOND_FACTOR_OFF, user, session_id=session.id)
        if ended:
            self._event(Kind.SESSION_REVOKED, user, session_id=session.id,
                        detail=f"{ended} other session(s), when the second factor was turned off")
        return Outcome(Result.OK, username=user.username, user=user)

    def regenerate_recovery_codes(self, session: Session, user: SessionUser
                                  ) -> tuple[Outcome, list[str]]:
        if refused := self._sudo(session, user):
            return refused, []
        codes = self.second_factors.regenerate(user.id)
        if codes is None:
            return Outcome(Result.INVALID, "The second factor is off.", None,
                           user.username), []
        self._event(Kind.RECOVERY_CODES_REGENERATED, user, session_id=session.id)
        return Outcome(Result.OK, username=user.username, user=user), codes
