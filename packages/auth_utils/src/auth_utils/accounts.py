"""Sign-up, log-in, log-out and password change: the flows both apps and the CLI share.

Each returns an `Outcome` value the app turns into a status code and a page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from auth_utils.activity import Activity, Actor, Kind
from auth_utils.availability import Availability
from auth_utils.config import Settings
from auth_utils.metrics import EARLY_REFUSALS, HASH_SECONDS
from auth_utils.passkeys import PasskeyError, Passkeys
from auth_utils.passwords import (
    HasherBusy,
    HashingGate,
    PasswordCheck,
    hash_password,
    verify_dummy,
    verify_password,
)
from auth_utils.second_factor import Check, SecondFactors
from auth_utils.sessions import Session, SessionManager, SessionUser
from auth_utils.storage import StoredUser, UserStore
from auth_utils.throttling import Attempt, Throttler
from auth_utils.validation import normalize_username, validate_password, validate_username

__all__ = ["INCORRECT", "Accounts", "Outcome", "Result"]

INCORRECT = "Incorrect username or password"
THROTTLED = "Too many attempts. Please wait a while and try again."
BUSY = "We are checking a lot of passwords right now. Please try again in a moment."
WRONG_CODE = "That code is not right. Enter the current code from your app, or a recovery code."
TOO_MANY_CODES = "Too many wrong codes. Please log in again."
PENDING_MAX_FAILURES = 5  # wrong codes before a pending log-in ends
PASSWORD_INPUT_MAX = 1024  # longer is refused before hashing (argon2 cost grows with it)


class Result(Enum):
    OK = "ok"
    INVALID = "invalid"  # 400
    INCORRECT = "incorrect"  # 400
    TAKEN = "taken"  # 409
    THROTTLED = "throttled"  # 429
    BUSY = "busy"  # 503: the password hasher's queue is full
    SECOND_FACTOR = "second_factor"  # password right; now the code (pending session)
    ENDED = "ended"  # 400: the pending log-in ended (too many wrong codes, expired)
    REAUTH = "reauth"  # the change needs the password (+ code) entered again first


@dataclass(frozen=True)
class Outcome:
    result: Result
    message: str = ""
    field: str | None = None  # which form field the message belongs to
    username: str = ""  # normalized, to re-fill the form
    token: str | None = None
    session: Session | None = None
    user: SessionUser | None = None
    retry_after: int | None = None

    @property
    def ok(self) -> bool:
        return self.result is Result.OK


def _throttled(attempt: Attempt, username: str) -> Outcome:
    return Outcome(Result.THROTTLED, THROTTLED, None, username, retry_after=attempt.retry_after)


def _busy(busy: HasherBusy, username: str) -> Outcome:
    if busy.this_client:  # this address already has checks running: its own doing
        return Outcome(Result.THROTTLED, THROTTLED, None, username, retry_after=busy.retry_after)
    return Outcome(Result.BUSY, BUSY, None, username, retry_after=busy.retry_after)


class Accounts:
    def __init__(self, settings: Settings, sessions: SessionManager, users: UserStore,
                 throttler: Throttler, second_factors: SecondFactors, activity: Activity,
                 passkeys: Passkeys, gate: HashingGate, *, availability: Availability
                 ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.users = users
        self.throttler = throttler
        self.second_factors = second_factors
        self.activity = activity
        self.passkeys = passkeys
        self.gate = gate
        self.availability = availability
        availability.on_down.append(gate.wake)  # a log-in waiting for the hasher ends with it

    def _event(self, kind: Kind, user: StoredUser | SessionUser | None, *, ip: str = "",
               user_agent: str = "", session_id: str | None = None, success: bool = True,
               detail: str = "") -> None:
        """Record an event; one about a name nobody has is logged but not stored."""
        actor = Actor(user.id if user else None, user.username if user else None, ip,
                      user_agent, session_id)
        self.activity.record(kind, actor, success=success, detail=detail,
                             store=user is not None)

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
            return _busy(busy, "")
        return None

    def _admitted(self, ip: str, username: str, flow: Callable[[], Outcome]) -> Outcome:
        """Run a flow that checks a password only while this client has fewer than its
        share in progress (an in-memory check, before any database round trip)."""
        try:
            with self.gate.admit(self.throttler.bucket(ip)):
                return flow()
        except HasherBusy as busy:
            return _busy(busy, username)

    @contextlib.contextmanager
    def _hashing(self, ip: str) -> Iterator[None]:
        """A slot of the hashing gate, only while the database is not known to be down
        (checked before queueing and again once the slot is granted): a hash whose result
        could not be stored is wasted CPU, and a sign-up queued through an outage would
        be confirmed seconds after its client gave up. Raises HasherBusy or Unavailable."""
        availability = self.availability
        availability.check()
        try:
            with self.gate.slot(self.throttler.bucket(ip), give_up=lambda: availability.down):
                availability.check()
                with HASH_SECONDS.time():
                    yield
        except HasherBusy:
            availability.check()  # the wait ended because the database went down: 503
            raise

    def _verify(self, password_hash: str | None, password: str, ip: str) -> PasswordCheck:
        """One argon2 verify through the gate (a dummy one for a user that does not
        exist, so both cost the same); raises HasherBusy."""
        with self._hashing(ip):
            if password_hash is None:
                return verify_dummy(password[:PASSWORD_INPUT_MAX])
            return verify_password(password_hash, password[:PASSWORD_INPUT_MAX])

    def _start_session(
        self, user: StoredUser | SessionUser, *, ip: str, user_agent: str,
        previous_session_id: str | None, pending: bool = False,
    ) -> Outcome:
        # A fresh token every time (no fixation); the session the request came with ends
        # (ASVS 5.0 V7.2.4).
        if previous_session_id:
            self.sessions.invalidate_session(previous_session_id)
        token, session = self.sessions.create_session(
            user.id, user.username, user_agent=user_agent, ip=ip, pending=pending
        )
        return Outcome(Result.SECOND_FACTOR if pending else Result.OK, username=user.username,
                       token=token, session=session, user=SessionUser(user.id, user.username))

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
            return _busy(busy, username)
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
            return _throttled(attempt, username)
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
            return _throttled(attempt, username[:64])
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
            return _busy(busy, username[:64])
        if user is None or not check.ok:
            # For a name nobody has: counted and logged, never stored (no enumeration).
            self._event(Kind.LOGIN_FAILED, user, ip=ip, user_agent=user_agent, success=False,
                        detail="wrong password" if user else "")
            return Outcome(Result.INCORRECT, INCORRECT, None, username[:64])
        self.throttler.login_succeeded(attempt)
        if check.needs_rehash:  # made with older parameters: upgrade it now
            self.users.set_password_hash(user.id, hash_password(password))
        # With a second factor, the password only opens a pending session: both apps
        # treat it as logged out until the code is given (`verify_second_factor`).
        pending = self.second_factors.enabled(user.id)
        outcome = self._start_session(user, ip=ip, user_agent=user_agent,
                                      previous_session_id=previous_session_id, pending=pending)
        self._event(Kind.LOGIN, user, ip=ip, user_agent=user_agent,
                    session_id=outcome.session.id if outcome.session else None,
                    detail="password; second factor next" if pending else "password")
        return outcome

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
        outcome = self._start_session(user, ip=ip, user_agent=user_agent,
                                      previous_session_id=pending.id)
        who["session_id"] = outcome.session.id if outcome.session else None
        self._event(Kind.RECOVERY_CODE_USED if check is Check.RECOVERY
                    else Kind.SECOND_FACTOR_PASSED, user, **who)
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
            return _throttled(attempt, user.username)
        record = self.users.by_id(user.id)
        try:
            check = self._verify(record.password_hash if record else None, password, ip)
        except HasherBusy as busy:
            self.throttler.refund(attempt)
            return _busy(busy, user.username)
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

    def _sudo(self, session: Session, user: SessionUser) -> Outcome | None:
        if self.sessions.recently_verified(session):
            return None
        return Outcome(Result.REAUTH, "Enter your password again to make this change.",
                       None, user.username)

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

    def log_in_with_passkey(self, credential_json: str, *, ip: str, user_agent: str = "",
                            previous_session_id: str | None = None) -> Outcome:
        """A passkey (discoverable, user-verified) is a complete multi-factor log-in:
        a new session exactly as after a password and a code. Throttled like log-ins."""
        attempt = self.throttler.begin_login(None, ip)
        if not attempt.allowed:
            self._event(Kind.LOGIN_THROTTLED, None, ip=ip, user_agent=user_agent,
                        success=False, detail="passkey")
            return _throttled(attempt, "")
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
        outcome = self._start_session(user, ip=ip, user_agent=user_agent,
                                      previous_session_id=pending.id)
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

    def confirm_second_factor(self, session: Session, user: SessionUser, code: str
                              ) -> list[str] | None:
        """Turn the second factor on with a code from the app: the recovery codes."""
        codes = self.second_factors.confirm(user.id, code)
        if codes is not None:
            self._event(Kind.SECOND_FACTOR_ON, user, session_id=session.id)
        return codes

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
