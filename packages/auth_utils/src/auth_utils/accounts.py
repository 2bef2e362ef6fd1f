"""Sign-up, log-in, log-out, re-authentication and password change: the flows both apps
and the CLI share (the second factor's and passkeys' are in their own modules).

Each returns an `Outcome` value the app turns into a status code and a page.
"""

from __future__ import annotations

from auth_utils.activity import Kind
from auth_utils.flowbase import PASSWORD_INPUT_MAX
from auth_utils.metrics import EARLY_REFUSALS
from auth_utils.outcomes import (
    INCORRECT,
    THROTTLED,
    WRONG_CODE,
    Outcome,
    Result,
    busy_outcome,
    throttled_outcome,
)
from auth_utils.passkey_flows import PasskeyFlows
from auth_utils.passwords import HasherBusy, hash_password
from auth_utils.second_factor import Check
from auth_utils.second_factor_flows import SecondFactorFlows
from auth_utils.sessions import Session, SessionUser
from auth_utils.validation import normalize_username, validate_password, validate_username

__all__ = ["INCORRECT", "Accounts", "Outcome", "Result"]


class Accounts(SecondFactorFlows, PasskeyFlows):
    """Every account flow (the second factor's and passkeys' from their own modules); the
    one object apps and the CLI call."""

    def refuse_early(self, ip: str, *, signup: bool = False) -> Outcome | None:
        """The answer to a log-in (or sign-up) this process can give before the body is
        read, from memory, with no I/O (safe on an event loop): the client's bucket is
        known to be over its limit for this window, or its share of password checks is
        in progress. A flood from one address then costs the app almost nothing."""
        # Counted, not logged: a flood would write a line per request.
        if wait := self.throttler.known_over_limit(ip, signup=signup):
            EARLY_REFUSALS.labels("over_limit").inc()
            return Outcome(Result.THROTTLED, THROTTLED, retry_after=wait)
        try:
            self.gate.refuse(self.throttler.bucket(ip))
        except HasherBusy as busy:
            EARLY_REFUSALS.labels("client_share").inc()
            return busy_outcome(busy, "")
        return None

    def register(self, raw_username: str, password: str, *, ip: str = "operator") -> Outcome:
        """Validate and store a new user (no session, no throttling): sign-up's core,
        and the operator's `auth-admin create-user`."""
        username = normalize_username(raw_username)
        if message := validate_username(username):
            return Outcome(Result.INVALID, message, "username", username)
        if message := validate_password(password):
            return Outcome(Result.INVALID, message, "password", username)
        try:
            with self._hashing(ip):
                password_hash = hash_password(password)
        except HasherBusy as busy:
            return busy_outcome(busy, username)
        user = self.users.create(username, password_hash, self.sessions.clock())
        if user is None:
            return Outcome(Result.TAKEN, "That username is taken.", "username", username)
        return Outcome(Result.OK, username=username, user=SessionUser(user.id, user.username))

    def sign_up(
        self, raw_username: str, password: str, *, ip: str, user_agent: str = "",
        previous_session_id: str | None = None,
    ) -> Outcome:
        return self._admitted(ip, normalize_username(raw_username)[:64], lambda: self._sign_up(
            raw_username, password, ip=ip, user_agent=user_agent,
            previous_session_id=previous_session_id))

    def _sign_up(
        self, raw_username: str, password: str, *, ip: str, user_agent: str,
        previous_session_id: str | None,
    ) -> Outcome:
        username = normalize_username(raw_username)
        if message := validate_username(username):
            return Outcome(Result.INVALID, message, "username", username)
        if message := validate_password(password):
            return Outcome(Result.INVALID, message, "password", username)
        attempt = self.throttler.begin_signup(ip)
        if not attempt.allowed:
            self._event(Kind.LOGIN_THROTTLED, None, ip=ip, user_agent=user_agent,
                        success=False, detail="sign-up")
            return throttled_outcome(attempt, username)
        registered = self.register(username, password, ip=ip)
        if registered.result in (Result.BUSY, Result.THROTTLED):
            self.throttler.refund(attempt)  # nothing was tried: do not count it
        if not registered.ok or registered.user is None:
            return registered
        user = registered.user
        outcome = self._start_session(user, ip=ip, user_agent=user_agent,
                                      previous_session_id=previous_session_id)
        self._event(Kind.SIGNUP, user, ip=ip, user_agent=user_agent,
                    session_id=outcome.session.id if outcome.session else None)
        return outcome

    def log_in(
        self, raw_username: str, password: str, *, ip: str, user_agent: str = "",
        previous_session_id: str | None = None,
    ) -> Outcome:
        return self._admitted(ip, normalize_username(raw_username)[:64], lambda: self._log_in(
            raw_username, password, ip=ip, user_agent=user_agent,
            previous_session_id=previous_session_id))

    def _log_in(
        self, raw_username: str, password: str, *, ip: str, user_agent: str,
        previous_session_id: str | None,
    ) -> Outcome:
        username = normalize_username(raw_username)
        if not username or not password:
            return Outcome(Result.INVALID, "Enter your username and password.", None, username)
        well_formed = not validate_username(username) and len(password) <= PASSWORD_INPUT_MAX
        # Counted before any password is checked, malformed names included (against the
        # client's IP only: such a name is nobody's, so it has no per-user counter).
        attempt = self.throttler.begin_login(username if well_formed else None, ip)
        if not attempt.allowed:
            # Not looked up (it costs a query the flood would pay for): logged, not stored.
            self._event(Kind.LOGIN_THROTTLED, None, ip=ip, user_agent=user_agent,
                        success=False)
            return throttled_outcome(attempt, username[:64])
        if not well_formed:
            # Counted above, answered as a wrong password, but never hashed: the shape rule
            # is public, so equal timing would hide nothing, and a flood of such names
            # would otherwise keep the hasher busy in front of real log-ins.
            self._event(Kind.LOGIN_FAILED, None, ip=ip, user_agent=user_agent, success=False)
            return Outcome(Result.INCORRECT, INCORRECT, None, username[:64])
        user = self.users.by_username(username)
        try:
            # An unknown user still runs the hasher: it costs what a wrong password does.
            check = self._verify(user.password_hash if user else None, password, ip)
        except HasherBusy as busy:
            self.throttler.refund(attempt)  # no password was checked: do not count it
            return busy_outcome(busy, username[:64])
        if user is None or not check.ok:
            # For a name nobody has: counted and logged, never stored (no enumeration).
            self._event(Kind.LOGIN_FAILED, user, ip=ip, user_agent=user_agent, success=False,
                        detail="wrong password" if user else "")
            return Outcome(Result.INCORRECT, INCORRECT, None, username[:64])
        if check.needs_rehash:  # made with older parameters: upgrade it now
            self.users.set_password_hash(user.id, hash_password(password))
        # With a second factor, the password only opens a pending session: both apps
        # treat it as logged out until the code is given (`verify_second_factor`). It is
        # not a success for the throttle either: the attempt stays counted until the
        # second factor is given, so someone who has only the password is throttled.
        pending = self.second_factors.enabled(user.id)
        if not pending:
            self.throttler.login_succeeded(attempt)
        outcome = self._start_session(user, ip=ip, user_agent=user_agent,
                                      previous_session_id=previous_session_id, pending=pending)
        self._event(Kind.LOGIN_PENDING if pending else Kind.LOGIN, user, ip=ip,
                    user_agent=user_agent, session_id=outcome.session.id
                    if outcome.session else None, detail="password")
        return outcome

    def reauthenticate(self, session: Session, user: SessionUser, password: str, code: str,
                       *, ip: str) -> Outcome:
        """Enter the password (and the second factor, when on) again: the session may
        make sensitive changes for the next ten minutes."""
        return self._admitted(ip, user.username, lambda: self._reauthenticate(
            session, user, password, code, ip=ip))

    def _check_own_password(self, user: SessionUser, password: str, *, ip: str,
                            session_id: str | None, why: str, message: str, field: str
                            ) -> Outcome | None:
        """A logged-in user's password entered again: counted and throttled like a log-in
        (a stolen session cannot guess it faster); None when it is right."""
        attempt = self.throttler.begin_login(user.username, ip)
        if not attempt.allowed:
            return throttled_outcome(attempt, user.username)
        record = self.users.by_id(user.id)
        try:
            check = self._verify(record.password_hash if record else None, password, ip)
        except HasherBusy as busy:
            self.throttler.refund(attempt)
            return busy_outcome(busy, user.username)
        if record is None or not check.ok:
            self._event(Kind.LOGIN_FAILED, user, ip=ip, session_id=session_id, success=False,
                        detail=f"wrong password {why}")
            return Outcome(Result.INCORRECT, message, field, user.username)
        self.throttler.login_succeeded(attempt)
        return None

    def _reauthenticate(self, session: Session, user: SessionUser, password: str, code: str,
                        *, ip: str) -> Outcome:
        if refused := self._check_own_password(
                user, password, ip=ip, session_id=session.id, why="when confirming a change",
                message="Your password is incorrect.", field="password"):
            return refused
        if self.second_factors.enabled(user.id):
            attempt = self.throttler.begin_code(user.id)
            if not attempt.allowed:
                return Outcome(Result.THROTTLED, THROTTLED, "code", user.username,
                               retry_after=attempt.retry_after)
            if self.second_factors.check(user.id, code[:128]) is Check.WRONG:
                self._event(Kind.SECOND_FACTOR_FAILED, user, ip=ip, session_id=session.id,
                            success=False, detail="when confirming a change")
                return Outcome(Result.INCORRECT, WRONG_CODE, "code", user.username)
            self.throttler.refund(attempt)
        self.sessions.mark_verified(session.id)
        self._event(Kind.REAUTHENTICATED, user, ip=ip, session_id=session.id)
        return Outcome(Result.OK, username=user.username, user=user)

    def revoke_session(self, user: SessionUser, session_id: str, *, by: str = "the user",
                       current_session_id: str | None = None) -> bool:
        """End one of `user`'s own sessions (another user's id does nothing)."""
        if session_id not in {s.id for s in self.sessions.list_user_sessions(user.id)}:
            return False
        self.sessions.invalidate_session(session_id)
        self._event(Kind.SESSION_REVOKED, user, session_id=current_session_id,
                    detail=f"by {by}")
        return True

    def revoke_other_sessions(self, user: SessionUser, *, keep: str | None,
                              by: str = "the user") -> int:
        ended = self.sessions.invalidate_user_sessions(user.id, keep=keep)
        self._event(Kind.SESSION_REVOKED, user, session_id=keep,
                    detail=f"{ended} session(s), by {by}")
        return ended

    def unseen_failed_logins(self, user_id: str) -> int:
        """Failed log-ins (and wrong codes) the user has not been shown yet, since the last
        time or since sign-up; reading them marks them seen."""
        user = self.users.by_id(user_id)
        if user is None:
            return 0
        since = max(filter(None, [user.failures_seen_at, user.created_at]))
        count = self.activity.failed_logins_since(user_id, since)
        if count:
            self.users.set_failures_seen(user_id, self.sessions.clock())
        return count

    def log_out(self, session_id: str | None, user: SessionUser | None = None, *,
                ip: str = "", user_agent: str = "") -> None:
        if session_id:
            self.sessions.invalidate_session(session_id)
            if user is not None:
                self._event(Kind.LOGOUT, user, ip=ip, user_agent=user_agent,
                            session_id=session_id)

    def set_password(self, user_id: str, new: str, *, keep_session_id: str | None = None
                     ) -> Outcome:
        """Store a new password and end every session of the user but `keep_session_id`
        (an operator's reset keeps none)."""
        if message := validate_password(new):
            return Outcome(Result.INVALID, message, "new")
        if not self.users.set_password_hash(user_id, hash_password(new)):
            return Outcome(Result.INVALID, "There is no such user.", None)
        ended = self.sessions.invalidate_user_sessions(user_id, keep=keep_session_id)
        user = self.users.by_id(user_id)
        self._event(Kind.PASSWORD_CHANGED, user, session_id=keep_session_id)
        if ended:
            self._event(Kind.SESSION_REVOKED, user, session_id=keep_session_id,
                        detail=f"{ended} session(s), by a password change")
        return Outcome(Result.OK)

    def change_password(
        self, user: SessionUser, current: str, new: str, confirm: str, *, ip: str,
        keep_session_id: str, session: Session | None = None,
    ) -> Outcome:
        """Check the current password (throttled like log-in), store the new one and end
        every other session of the user; the current one keeps working. With a second
        factor on, the session must also have been verified in the last ten minutes."""
        if session is not None and self.second_factors.enabled(user.id) and (
                refused := self._sudo(session, user)):
            return refused
        return self._admitted(ip, user.username, lambda: self._change_password(
            user, current, new, confirm, ip=ip, keep_session_id=keep_session_id))

    def _change_password(self, user: SessionUser, current: str, new: str, confirm: str, *,
                         ip: str, keep_session_id: str) -> Outcome:
        if refused := self._check_own_password(
                user, current, ip=ip, session_id=keep_session_id, why="when changing it",
                message="Your current password is incorrect.", field="current"):
            return refused
        if message := validate_password(new):
            return Outcome(Result.INVALID, message, "new", user.username)
        if new != confirm:
            return Outcome(Result.INVALID, "The two new passwords do not match.", "confirm",
                           user.username)
        changed = self.set_password(user.id, new, keep_session_id=keep_session_id)
        return Outcome(changed.result, changed.message, changed.field, user.username,
                       user=user if changed.ok else None)
