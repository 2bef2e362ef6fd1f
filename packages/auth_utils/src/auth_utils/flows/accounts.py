"""Sign-up, log-in, log-out and a user's sessions: the flows both apps and the CLI share
(re-authentication and password changes: `passwords.py`)."""

from __future__ import annotations

from auth_utils.flows.email import EmailFlows
from auth_utils.flows.lifecycle import PASSWORD, refuse_closed
from auth_utils.flows.outcomes import (
    INCORRECT,
    THROTTLED,
    Outcome,
    Result,
    busy_outcome,
    throttled_outcome,
)
from auth_utils.flows.steps import PASSWORD_INPUT_MAX, Steps
from auth_utils.rules.password_policy import APP_WORDS
from auth_utils.rules.passwords import HasherBusy, hash_password
from auth_utils.rules.validation import normalize_username, validate_password, validate_username
from auth_utils.services.activity import Kind
from auth_utils.services.metrics import EARLY_REFUSALS
from auth_utils.services.sessions import SessionUser
from auth_utils.storage import StoredEvent

__all__ = ["AccountFlows"]


def _invalid_signup(username: str, password: str, site_words: tuple[str, ...],
                    more: tuple[tuple[str, str], ...] = ()) -> Outcome | None:
    """What is wrong with a sign-up form, every field at once (one submit shows them all);
    `more`: the other fields' messages (the address)."""
    errors = []
    if message := validate_username(username):
        errors.append(("username", message))
    if message := validate_password(password, username=username, site_words=site_words):
        errors.append(("password", message))
    errors += more
    if not errors:
        return None
    field, message = errors[0]
    return Outcome(Result.INVALID, message, field, username, errors=tuple(errors))


class AccountFlows:
    """Sign-up, log-in and sessions; its collaborators are `Steps` and the address flows."""

    def __init__(self, steps: Steps, email: EmailFlows, *,
                 site_words: tuple[str, ...] = APP_WORDS) -> None:
        self.steps = steps
        self.email = email  # sign-up may give an address (verified like any other)
        self.site_words = site_words  # what passwords must not be built from (settings)

    def refuse_early(self, ip: str, *, signup: bool = False) -> Outcome | None:
        """The answer to a log-in (or sign-up) this process can give before the body is
        read, from memory, with no I/O (safe on an event loop): the client's bucket is
        known to be over its limit for this window, or its share of password checks is
        in progress. A flood from one address then costs the app almost nothing."""
        # Counted, not logged: a flood would write a line per request.
        if wait := self.steps.throttler.known_over_limit(ip, signup=signup):
            EARLY_REFUSALS.labels("over_limit").inc()
            return Outcome(Result.THROTTLED, THROTTLED, retry_after=wait)
        try:
            self.steps.gate.refuse(self.steps.throttler.bucket(ip))
        except HasherBusy as busy:
            EARLY_REFUSALS.labels("client_share").inc()
            return busy_outcome(busy, "")
        return None

    def register(self, raw_username: str, password: str, *, ip: str = "operator") -> Outcome:
        """Validate and store a new user (no session, no throttling): the operator's
        `auth-admin create-user`."""
        username = normalize_username(raw_username)
        return _invalid_signup(username, password, self.site_words) or \
            self._create(username, password, ip)

    def _create(self, username: str, password: str, ip: str) -> Outcome:
        try:
            with self.steps.hashing(ip):
                password_hash = hash_password(password)
        except HasherBusy as busy:
            return busy_outcome(busy, username)
        user = self.steps.users.create(username, password_hash, self.steps.sessions.clock())
        if user is None:
            return Outcome(Result.TAKEN, "That username is taken.", "username", username)
        return Outcome(Result.OK, username=username, user=SessionUser(user.id, user.username))

    def sign_up(self, raw_username: str, password: str, *, ip: str, user_agent: str = "",
                previous_session_id: str | None = None, email: str = "") -> Outcome:
        """`email` (optional): an address to verify; the link is mailed once the account
        exists."""
        username = normalize_username(raw_username)
        return self.steps.admitted(ip, username[:64], lambda: self._sign_up(
            username, password, ip=ip, user_agent=user_agent,
            previous_session_id=previous_session_id, email=email.strip()))

    def _sign_up(self, username: str, password: str, *, ip: str, user_agent: str,
                 previous_session_id: str | None, email: str) -> Outcome:
        # Invalid input is answered before it is counted (the rules are public).
        address = ()
        if email and self.email.available and isinstance(
                checked := self.email.check(email), Outcome):
            address = ((checked.field or "email", checked.message),)
        if invalid := _invalid_signup(username, password, self.site_words, address):
            return invalid
        steps = self.steps
        attempt = steps.throttler.begin_signup(ip)
        if not attempt.allowed:
            steps.event(Kind.LOGIN_THROTTLED, None, ip=ip, user_agent=user_agent,
                        success=False, detail="sign-up")
            return throttled_outcome(attempt, username)
        registered = self._create(username, password, ip)
        if registered.result in (Result.BUSY, Result.THROTTLED):
            steps.throttler.refund(attempt)  # nothing was tried: do not count it
        if not registered.ok or registered.user is None:
            return registered
        outcome = steps.start_session(registered.user, ip=ip, user_agent=user_agent,
                                      previous_session_id=previous_session_id,
                                      has_factor=False)
        steps.event(Kind.SIGNUP, registered.user, ip=ip, user_agent=user_agent,
                    session_id=outcome.session.id if outcome.session else None)
        if email and self.email.available:
            self.email.add(outcome.session, registered.user, email, ip=ip,
                           user_agent=user_agent, at_signup=True)
        return outcome

    def log_in(self, raw_username: str, password: str, *, ip: str, user_agent: str = "",
               previous_session_id: str | None = None, trusted_browser: str | None = None
               ) -> Outcome:
        """`trusted_browser`: the token of this browser's "trust this browser" cookie,
        which skips the second factor's code (never the password) while it holds."""
        username = normalize_username(raw_username)
        return self.steps.admitted(ip, username[:64], lambda: self._log_in(
            username, password, ip=ip, user_agent=user_agent,
            previous_session_id=previous_session_id, trusted_browser=trusted_browser))

    def _log_in(self, username: str, password: str, *, ip: str, user_agent: str,
                previous_session_id: str | None, trusted_browser: str | None) -> Outcome:
        if not username or not password:
            return Outcome(Result.INVALID, "Enter your username and password.", None, username)
        steps, who = self.steps, {"ip": ip, "user_agent": user_agent}
        well_formed = not validate_username(username) and len(password) <= PASSWORD_INPUT_MAX
        # Counted before any password is checked, malformed names included (against the
        # client's IP only: such a name is nobody's, so it has no per-user counter).
        # A malformed name checks no password: tallied in memory, written ten at a time.
        attempt = steps.throttler.begin_login(username, ip) if well_formed \
            else steps.throttler.count_junk(ip)
        if not attempt.allowed:
            # Not looked up (it costs a query the flood would pay for): logged, not stored.
            steps.event(Kind.LOGIN_THROTTLED, None, success=False, **who)
            return throttled_outcome(attempt, username[:64])
        if not well_formed:
            # Counted above, answered as a wrong password, but never hashed: the shape rule
            # is public, so equal timing would hide nothing, and a flood of such names
            # would otherwise keep the hasher busy in front of real log-ins.
            steps.event(Kind.LOGIN_FAILED, None, success=False, **who)
            return Outcome(Result.INCORRECT, INCORRECT, None, username[:64])
        user = steps.users.by_username(username)
        try:
            # An unknown user still runs the hasher: it costs what a wrong password does.
            check = steps.verify(user.password_hash if user else None, password, ip)
        except HasherBusy as busy:
            steps.throttler.refund(attempt)  # no password was checked: do not count it
            return busy_outcome(busy, username[:64])
        if user is None or not check.ok:
            # For a name nobody has: counted and logged, never stored (no enumeration).
            # For a real user, stored after the answer: a write on this path would make
            # a real name's failure measurably slower than an unknown one's.
            steps.event(Kind.LOGIN_FAILED, user, success=False, later=True,
                        detail="wrong password" if user else "", **who)
            return Outcome(Result.INCORRECT, INCORRECT, None, username[:64])
        # Disabled or being deleted: asked only now, once the password was right.
        if refused := refuse_closed(steps, user, PASSWORD, detail="password",
                                    username=username[:64], **who):
            return refused
        if check.needs_rehash:  # made with older parameters: upgrade it now
            steps.users.set_password_hash(user.id, hash_password(password))
        # With a second factor, the password only opens a pending session: both apps
        # treat it as logged out until the code is given. It is not a success for the
        # throttle either: the attempt stays counted until the second factor is given,
        # so someone who has only the password is throttled like a guesser.
        has_factor = steps.factors.enabled(user.id)
        trusted = has_factor and steps.factors.is_trusted(user.id, trusted_browser)
        pending = has_factor and not trusted
        if not pending:
            steps.throttler.login_succeeded(attempt)
        outcome = steps.start_session(user, previous_session_id=previous_session_id,
                                      pending=pending, has_factor=has_factor, **who)
        if refused := refuse_closed(steps, steps.users.by_id(user.id), PASSWORD,
                                    detail="password", username=username[:64],
                                    started=outcome.session, **who):
            return refused  # disabled or deleted while the password was checked
        steps.event(Kind.LOGIN_PENDING if pending else Kind.LOGIN, user,
                    detail="password; trusted browser, no code" if trusted else "password",
                    session_id=outcome.session.id if outcome.session else None, **who)
        return outcome

    def revoke_session(self, user: SessionUser, session_id: str, *, by: str = "the user",
                       current_session_id: str | None = None, ip: str = "",
                       user_agent: str = "") -> bool:
        """End one of `user`'s own sessions (another user's id does nothing)."""
        sessions = self.steps.sessions
        if session_id not in {s.id for s in sessions.list_user_sessions(user.id)}:
            return False
        sessions.invalidate_session(session_id)
        self.steps.event(Kind.SESSION_REVOKED, user, session_id=current_session_id,
                         detail=f"by {by}", ip=ip, user_agent=user_agent)
        return True

    def revoke_other_sessions(self, user: SessionUser, *, keep: str | None,
                              by: str = "the user", ip: str = "", user_agent: str = "") -> int:
        ended = self.steps.sessions.invalidate_user_sessions(user.id, keep=keep)
        self.steps.event(Kind.SESSION_REVOKED, user, session_id=keep, ip=ip,
                         user_agent=user_agent, detail=f"{ended} session(s), by {by}")
        return ended

    def unseen_notices(self, user_id: str, session_id: str | None
                       ) -> tuple[int, list[StoredEvent]]:
        """What the web app shows on the next visit: failed log-ins and changes to the
        account made elsewhere, not shown before (`auth_utils.services.notices` decides)."""
        if self.steps.notices is None:
            return 0, []
        return self.steps.notices.unseen(user_id, session_id)

    def log_out(self, session_id: str | None, user: SessionUser | None = None, *,
                ip: str = "", user_agent: str = "") -> None:
        if session_id:
            self.steps.sessions.invalidate_session(session_id)
            if user is not None:
                self.steps.event(Kind.LOGOUT, user, ip=ip, user_agent=user_agent,
                                 session_id=session_id)
