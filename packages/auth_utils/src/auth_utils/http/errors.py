"""The words and statuses of every error page both apps show, and the status and
headers each flow outcome is answered with (never a traceback)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from urllib.parse import quote

from auth_utils.flows.outcomes import Outcome, Result

__all__ = ["BAD_LENGTH", "BAD_SESSION", "CSRF_FAILED", "FOREIGN_ORIGIN", "MAX_BODY_BYTES",
           "MESSAGES", "STATUS", "TITLES", "ErrorPage", "database_unavailable",
           "error_page", "outcome_headers", "retry_url", "status_of"]

MAX_BODY_BYTES = 64 * 1024

TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Service unavailable",
}
MESSAGES = {
    400: "The request could not be understood.",
    403: "You are not allowed to do that.",
    404: "There is no page at this address.",
    405: "This page does not accept that kind of request.",
    413: f"The request body is too large ({MAX_BODY_BYTES // 1024} KiB at most).",
    500: "Something went wrong on our side. Please try again.",
    503: "We cannot reach our database right now. Please try again in a moment.",
}
FOREIGN_ORIGIN = "This form was sent from another site, so we did not accept it."
BAD_LENGTH = "The Content-Length header is not a number."
BAD_SESSION = "Your session could not be read."
CSRF_FAILED = ("This form has expired or was not sent from our site. "
               "Go back, reload the page and try again.")
STATUS = {Result.INVALID: 400, Result.INCORRECT: 400, Result.TAKEN: 409,
          Result.THROTTLED: 429, Result.BUSY: 503, Result.OK: 200, Result.SECOND_FACTOR: 303,
          Result.ENDED: 400, Result.REAUTH: 403}


@dataclass(frozen=True)
class ErrorPage:
    """An error to show as a friendly page (never a traceback)."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return TITLES.get(self.status, "Error")


def error_page(status: int, message: str | None = None,
               headers: dict[str, str] | None = None) -> ErrorPage:
    return ErrorPage(status, message or MESSAGES.get(status, TITLES.get(status, "Error")),
                     headers or {})


def database_unavailable(cause: Exception | None = None, app: str = "") -> ErrorPage:
    """The 503 page for a database outage; with the `cause` a request failed on, one
    warning line for the operator (in `app`'s log), never a traceback."""
    if cause is not None:
        logging.getLogger(app or "auth_utils").warning("database unavailable: %s", cause)
    return error_page(503, headers={"Retry-After": "5"})


def retry_url(path: str, query: str = "") -> str:
    """The "Try again" link of a 503 page: the same address, as a path on this site.
    `path` is the decoded request path: `//evil.example` would be read as another host,
    and so would `/%09/evil.example` decoded (browsers drop tabs and newlines in URLs),
    so the leading slashes go and everything else is percent-encoded again."""
    path = "/" + quote(path.lstrip("/\\"), safe="/")
    return f"{path}?{query}" if query else path


def status_of(outcome: Outcome) -> int:
    return STATUS[outcome.result]


def outcome_headers(outcome: Outcome | None) -> dict[str, str]:
    """The headers an outcome's answer carries: `Retry-After` when it says how long."""
    return {"Retry-After": str(outcome.retry_after)} if outcome and outcome.retry_after else {}
