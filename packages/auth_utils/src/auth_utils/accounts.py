"""Sign-up, log-in, log-out and password change: the flows both apps and the CLI share.

Each returns an `Outcome` value the app turns into a status code and a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from auth_utils.config import Settings
from auth_utils.passwords import hash_password, verify_dummy, verify_password
from auth_utils.sessions import Session, SessionManager, SessionUser
from auth_utils.throttling import Throttler
from auth_utils.validation import normalize_username, validate_password, validate_username
from db_utils import UsernameTaken
from db_utils import users as user_store

__all__ = ["INCORRECT", "Accounts", "Outcome", "Result"]

INCORRECT = "Incorrect username or password"
THROTTLED = "Too many attempts. Please wait a while and try again."


class Result(Enum):
    OK = "ok"
    INVALID = "invalid"  # 400
    INCORRECT = "incorrect"  # 400
    TAKEN = "taken"  # 409
    THROTTLED = "throttled"  # 429


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


class Accounts:
    def __init__(
        self, settings: Settings, sessions: SessionManager, throttler: Throttler | None = None
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.throttler = throttler or Throttler(settings, clock=sessions.clock)

    def _start_session(
        self, user: SessionUser, *, ip: str, user_agent: str, previous_session_id: str | None
    ) -> Outcome:
        # A fresh token every time (no fixation); the session the request came with ends
        # (ASVS 5.0 V7.2.4).
        if previous_session_id:
            self.sessions.invalidate_session(previous_session_id)
        token, session = self.sessions.create_session(
            user.id, user.username, user_agent=user_agent, ip=ip
        )
        return Outcome(Result.OK, username=user.username, token=token, session=session, user=user)

    def sign_up(
        self, raw_username: str, password: str, *, ip: str, user_agent: str = "",
        previous_session_id: str | None = None,
    ) -> Outcome:
        username = normalize_username(raw_username)
        if message := validate_username(username):
            return Outcome(Result.INVALID, message, "username", username)
        if message := validate_password(password):
            return Outcome(Result.INVALID, message, "password", username)
        if retry := self.throttler.signup_retry_after(ip):
            return Outcome(Result.THROTTLED, THROTTLED, None, username, retry_after=retry)
        self.throttler.record_signup(ip)
        try:
            record = user_store.create_user(
                username, hash_password(password), now=self.sessions.clock()
            )
        except UsernameTaken:
            return Outcome(Result.TAKEN, "That username is taken.", "username", username)
        return self._start_session(
            SessionUser(record.id, record.username), ip=ip, user_agent=user_agent,
            previous_session_id=previous_session_id,
        )

    def log_in(
        self, raw_username: str, password: str, *, ip: str, user_agent: str = "",
        previous_session_id: str | None = None,
    ) -> Outcome:
        username = normalize_username(raw_username)
        if not username or not password:
            return Outcome(Result.INVALID, "Enter your username and password.", None, username)
        if validate_username(username) or len(password) > 1024:
            verify_dummy(password[:1024])  # same cost as a real miss
            return Outcome(Result.INCORRECT, INCORRECT, None, username[:64])
        if retry := self.throttler.login_retry_after(username, ip):
            return Outcome(Result.THROTTLED, THROTTLED, None, username, retry_after=retry)
        user = user_store.get_user_by_username(username)
        if user is None:
            # Run the hasher anyway so an unknown user costs what a wrong password does.
            verify_dummy(password)
            self.throttler.record_login_failure(username, ip)
            return Outcome(Result.INCORRECT, INCORRECT, None, username)
        check = verify_password(user.password_hash, password)
        if not check.ok:
            self.throttler.record_login_failure(username, ip)
            return Outcome(Result.INCORRECT, INCORRECT, None, username)
        self.throttler.reset_login_failures(username)
        if check.needs_rehash:
            user_store.set_password_hash(user.id, hash_password(password))
        return self._start_session(
            SessionUser(user.id, user.username), ip=ip, user_agent=user_agent,
            previous_session_id=previous_session_id,
        )

    def log_out(self, session_id: str | None) -> None:
        if session_id:
            self.sessions.invalidate_session(session_id)

    def change_password(
        self, user: SessionUser, current: str, new: str, confirm: str, *, ip: str,
        keep_session_id: str,
    ) -> Outcome:
        """Check the current password (throttled like log-in), store the new one and end
        every other session of the user; the current one keeps working."""
        if retry := self.throttler.login_retry_after(user.username, ip):
            return Outcome(Result.THROTTLED, THROTTLED, None, user.username, retry_after=retry)
        record = user_store.get_user_by_id(user.id)
        if record is None or not verify_password(record.password_hash, current).ok:
            self.throttler.record_login_failure(user.username, ip)
            return Outcome(Result.INCORRECT, "Your current password is incorrect.", "current",
                           user.username)
        if message := validate_password(new):
            return Outcome(Result.INVALID, message, "new", user.username)
        if new != confirm:
            return Outcome(Result.INVALID, "The two new passwords do not match.", "confirm",
                           user.username)
        user_store.set_password_hash(user.id, hash_password(new))
        self.sessions.invalidate_user_sessions(user.id, keep=keep_session_id)
        return Outcome(Result.OK, username=user.username, user=user)
