"""The steps every account flow shares, each written once: record an event, check a
password under the throttle and the hashing gate, check a code, start (or complete) a
session, and the one re-authentication rule."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from auth_utils.flows.outcomes import LOGIN_ENDED, REAUTH, THROTTLED, Outcome, Result, busy_outcome
from auth_utils.rules.passwords import (
    HasherBusy,
    HashingGate,
    PasswordCheck,
    verify_dummy,
    verify_password,
)
from auth_utils.services.activity import Activity, Actor, Kind
from auth_utils.services.availability import Availability
from auth_utils.services.metrics import HASH_DURATION
from auth_utils.services.notices import Notices
from auth_utils.services.second_factor import Check, SecondFactors, is_app_code
from auth_utils.services.sessions import Session, SessionManager, SessionUser
from auth_utils.services.throttling import Throttler
from auth_utils.storage import StoredUser, UserStore

__all__ = ["PASSWORD_INPUT_MAX", "Steps"]

PASSWORD_INPUT_MAX = 1024  # longer is refused before hashing (argon2 cost grows with it)


class Steps:
    """The collaborators the flows share (built once per process by `build_core`)."""

    def __init__(self, sessions: SessionManager, users: UserStore, throttler: Throttler,
                 factors: SecondFactors, activity: Activity, gate: HashingGate,
                 availability: Availability, *, require_second_factor: bool = False) -> None:
        self.require_second_factor = require_second_factor  # REQUIRE_SECOND_FACTOR
        self.sessions = sessions
        self.users = users
        self.throttler = throttler
        self.factors = factors
        self.activity = activity
        self.gate = gate
        self.availability = availability
        availability.on_down.append(gate.wake)  # a log-in waiting for the hasher ends with it
        self.notices: Notices | None = None  # set by build_core once the outbox exists

    def event(self, kind: Kind, user: StoredUser | SessionUser | None, *, ip: str = "",
              user_agent: str = "", session_id: str | None = None, success: bool = True,
              detail: str = "", also_to: tuple[str, ...] = (), later: bool = False) -> None:
        """Record an event; one about a name nobody has is logged but not stored (`later`:
        stored after the answer, Activity.record). Then the notice it calls for, if any
        (`auth_utils.services.notices` decides), also to `also_to`."""
        actor = Actor(user.id if user else None, user.username if user else None, ip,
                      user_agent, session_id)
        self.activity.record(kind, actor, success=success, detail=detail,
                             store=user is not None, later=later)
        if success and user is not None and self.notices is not None:
            self.notices.after(kind, actor, also_to=also_to)

    def admitted(self, ip: str, username: str, flow: Callable[[], Outcome]) -> Outcome:
        """Run a flow that checks a password only while this client has fewer than its
        share in progress (an in-memory check, before any database round trip)."""
        try:
            with self.gate.admit(self.throttler.bucket(ip)):
                return flow()
        except HasherBusy as busy:
            return busy_outcome(busy, username)

    @contextlib.contextmanager
    def hashing(self, ip: str) -> Iterator[None]:
        """A slot of the hashing gate, only while the database is not known to be down
        (checked before queueing and again once the slot is granted): a hash whose result
        could not be stored is wasted CPU, and a sign-up queued through an outage would
        be confirmed seconds after its client gave up. Raises HasherBusy or Unavailable."""
        availability = self.availability
        availability.check()
        try:
            with self.gate.slot(self.throttler.bucket(ip), give_up=lambda: availability.down):
                availability.check()
                with HASH_DURATION.time():
                    yield
        except HasherBusy:
            availability.check()  # the wait ended because the database went down: 503
            raise

    def verify(self, password_hash: str | None, password: str, ip: str) -> PasswordCheck:
        """One argon2 verify through the gate (a dummy one for a user that does not
        exist, so both cost the same); raises HasherBusy."""
        with self.hashing(ip):
            if password_hash is None:
                return verify_dummy(password[:PASSWORD_INPUT_MAX])
            return verify_password(password_hash, password[:PASSWORD_INPUT_MAX])

    def check_own_password(self, user: SessionUser, password: str, *, ip: str,
                           user_agent: str, session_id: str | None, why: str, message: str,
                           field: str) -> Outcome | None:
        """A logged-in user's password entered again: counted and throttled like a log-in
        (a stolen session cannot guess it faster); None when it is right."""
        attempt = self.throttler.begin_login(user.username, ip)
        if not attempt.allowed:
            return Outcome(Result.THROTTLED, THROTTLED, None, user.username,
                           retry_after=attempt.retry_after)
        record = self.users.by_id(user.id)
        try:
            check = self.verify(record.password_hash if record else None, password, ip)
        except HasherBusy as busy:
            self.throttler.refund(attempt)
            return busy_outcome(busy, user.username)
        if record is None or not check.ok:
            self.event(Kind.REAUTH_FAILED, user, ip=ip, user_agent=user_agent,
                       session_id=session_id, success=False, detail=f"wrong password {why}")
            return Outcome(Result.INCORRECT, message, field, user.username)
        self.throttler.login_succeeded(attempt)
        return None

    def check_code(self, user: SessionUser, code: str, *, ip: str, user_agent: str,
                   session_id: str | None) -> Check | Outcome:
        """A code from the app or a recovery code: the Check, or the throttled Outcome.
        An app code is counted per user in every process before it is checked (a right
        one gives its count back). A recovery code is not: 80 random bits cannot be
        guessed, and it is how the owner gets in while someone else's guesses hold the
        app codes back (each pending log-in still ends after five wrong codes). The
        caller records a wrong code (it knows what it ended)."""
        if not is_app_code(code):
            return self.factors.check(user.id, code[:128])
        attempt = self.throttler.begin_code(user.id)
        if not attempt.allowed:
            self.event(Kind.LOGIN_THROTTLED, user, ip=ip, user_agent=user_agent,
                       session_id=session_id, success=False, detail="second factor")
            return Outcome(Result.THROTTLED, THROTTLED, "code", user.username,
                           retry_after=attempt.retry_after)
        check = self.factors.check(user.id, code[:128])
        if check is not Check.WRONG:
            self.throttler.refund(attempt)
        return check

    def start_session(self, user: StoredUser | SessionUser, *, ip: str, user_agent: str,
                      previous_session_id: str | None, pending: bool = False,
                      has_factor: bool = True) -> Outcome:
        """A fresh token every time (no fixation); the session the request came with ends
        (ASVS 5.0 V7.2.4). With REQUIRE_SECOND_FACTOR, a user who has none (`has_factor`
        False) gets a session that only opens the enrolment."""
        if previous_session_id:
            self.sessions.invalidate_session(previous_session_id)
        token, session = self.sessions.create_session(
            user.id, user.username, user_agent=user_agent, ip=ip, pending=pending,
            must_enrol=self.require_second_factor and not has_factor)
        return Outcome(Result.SECOND_FACTOR if pending else Result.OK, username=user.username,
                       token=token, session=session, user=SessionUser(user.id, user.username))

    def complete_pending(self, pending: Session, user: SessionUser, *, ip: str,
                         user_agent: str) -> Outcome:
        """The second factor of a pending log-in was given: a logged-in session replaces
        the pending one, once. Only the request that ends the pending session goes on
        (two codes raced on one log-in give one session), and only then does its password
        attempt count as a success for the throttle."""
        if not self.sessions.invalidate_session(pending.id):  # finished, trimmed, expired
            return Outcome(Result.ENDED, LOGIN_ENDED, None, user.username)
        self.throttler.login_completed(user.username, pending.ip, pending.created_at)
        return self.start_session(user, ip=ip, user_agent=user_agent, previous_session_id=None)

    def require_recent(self, session: Session, user: SessionUser, *,
                       password_in_request: bool = False) -> Outcome | None:
        """The one re-authentication ("sudo") rule: a sensitive change needs the password,
        and the second factor when it is on, entered in this session within the last ten
        minutes. `password_in_request`: the change itself carries the password (which the
        caller checks next), so only a second factor can still be missing. None: go on."""
        if self.sessions.recently_verified(session):
            return None
        if password_in_request and not self.factors.enabled(user.id):
            return None
        return Outcome(Result.REAUTH, REAUTH, None, user.username)

    def replace_password(self, user_id: str, password_hash: str, *, kind: Kind,
                         keep_session_id: str | None = None, ip: str = "",
                         user_agent: str = "") -> bool:
        """Store a new password hash (which voids any reset link), end every session of
        the user but `keep_session_id` (the cache's rule: none is accepted once this
        returns), forget the trusted browsers, record `kind` (and its notice). False when
        there is no such user."""
        if not self.users.set_password_hash(user_id, password_hash):
            return False
        ended = self.sessions.invalidate_user_sessions(user_id, keep=keep_session_id)
        self.factors.forget(user_id)  # a new password: every browser asks for a code again
        user = self.users.by_id(user_id)
        who = {"ip": ip, "user_agent": user_agent, "session_id": keep_session_id}
        self.event(kind, user, **who)
        if ended:
            how = "reset" if kind is Kind.PASSWORD_RESET else "change"
            self.event(Kind.SESSION_REVOKED, user, **who,
                       detail=f"{ended} session(s), by a password {how}")
        return True
