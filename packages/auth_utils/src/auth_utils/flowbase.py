"""What every account flow shares: the stores, the hashing gate and the steps of a
log-in (an event recorded, a session started, a password verified through the gate).

`Accounts` (password flows), `SecondFactorFlows` and `PasskeyFlows` build on it; apps
use `Accounts`, which has them all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from auth_utils.activity import Activity, Actor, Kind
from auth_utils.availability import Availability
from auth_utils.config import Settings
from auth_utils.metrics import HASH_SECONDS
from auth_utils.outcomes import Outcome, Result, busy_outcome
from auth_utils.passkeys import Passkeys
from auth_utils.passwords import (
    HasherBusy,
    HashingGate,
    PasswordCheck,
    verify_dummy,
    verify_password,
)
from auth_utils.second_factor import SecondFactors
from auth_utils.sessions import Session, SessionManager, SessionUser
from auth_utils.storage import StoredUser, UserStore
from auth_utils.throttling import Throttler

__all__ = ["PASSWORD_INPUT_MAX", "FlowBase"]

PASSWORD_INPUT_MAX = 1024  # longer is refused before hashing (argon2 cost grows with it)


class FlowBase:
    """The collaborators of every flow (built once per process by `build_core`) and the
    steps they share."""

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

    def _admitted(self, ip: str, username: str, flow: Callable[[], Outcome]) -> Outcome:
        """Run a flow that checks a password only while this client has fewer than its
        share in progress (an in-memory check, before any database round trip)."""
        try:
            with self.gate.admit(self.throttler.bucket(ip)):
                return flow()
        except HasherBusy as busy:
            return busy_outcome(busy, username)

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

    def _complete_pending(self, pending: Session, user: SessionUser, *, ip: str,
                          user_agent: str) -> Outcome:
        """The second factor of a pending log-in was given: a logged-in session replaces
        the pending one. Only the request that ends the pending session gives its
        password attempt back to the throttle (two codes raced in count once)."""
        if self.sessions.invalidate_session(pending.id):
            self.throttler.login_completed(user.username, pending.ip, pending.created_at)
        return self._start_session(user, ip=ip, user_agent=user_agent,
                                   previous_session_id=None)

    def _sudo(self, session: Session, user: SessionUser) -> Outcome | None:
        if self.sessions.recently_verified(session):
            return None
        return Outcome(Result.REAUTH, "Enter your password again to make this change.",
                       None, user.username)
