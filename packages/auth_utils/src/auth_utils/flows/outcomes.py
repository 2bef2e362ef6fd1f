"""What every account flow returns: an `Outcome` the app turns into a status code and a
page, and the messages people see."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from auth_utils.rules.passwords import HasherBusy
from auth_utils.services.sessions import Session, SessionUser
from auth_utils.services.throttling import Attempt

__all__ = ["BUSY", "INCORRECT", "LOGIN_ENDED", "REAUTH", "THROTTLED", "TOO_MANY_CODES",
           "WRONG_CODE", "Outcome", "Result", "busy_outcome", "throttled_outcome"]

INCORRECT = "Incorrect username or password"
THROTTLED = "Too many attempts. Please wait a while and try again."
BUSY = "We are checking a lot of passwords right now. Please try again in a moment."
WRONG_CODE = "That code is not right. Enter the current code from your app, or a recovery code."
TOO_MANY_CODES = "Too many wrong codes. Please log in again."
LOGIN_ENDED = "This log-in has ended (it was finished, replaced or expired). Please log in again."
REAUTH = "Enter your password again to make this change."

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
    trusted_browser: str | None = None  # a token for the "trust this browser" cookie
    # Every field's message when a form has several wrong at once, in the form's order;
    # `message` and `field` are the first of them.
    errors: tuple[tuple[str, str], ...] = ()

    @property
    def ok(self) -> bool:
        return self.result is Result.OK


def throttled_outcome(attempt: Attempt, username: str) -> Outcome:
    return Outcome(Result.THROTTLED, THROTTLED, None, username, retry_after=attempt.retry_after)


def busy_outcome(busy: HasherBusy, username: str) -> Outcome:
    if busy.this_client:  # this address already has checks running: its own doing
        return Outcome(Result.THROTTLED, THROTTLED, None, username, retry_after=busy.retry_after)
    return Outcome(Result.BUSY, BUSY, None, username, retry_after=busy.retry_after)
