"""The HTTP decisions both apps share, free of any framework: each app's glue only
applies them with its own request and response types.

Which methods change state, which requests to refuse before any view runs (foreign
origin, oversized body), which paths need no session, which cookie to send after a
request, what status an outcome is, and the words on every error page.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from auth_utils import metrics
from auth_utils.config import Settings, origin_of
from auth_utils.cookies import Cookie, CookieSettings, blank_session_cookie, session_cookie
from auth_utils.origins import content_security_policy, is_allowed_origin
from auth_utils.outcomes import Outcome, Result
from auth_utils.sessions import SessionValidation

__all__ = [
    "COOKIELESS_PATHS",
    "ENROLMENT_PATHS",
    "MAX_BODY_BYTES",
    "ErrorPage",
    "body_refusal",
    "changes_state",
    "cookie_after",
    "cookie_due",
    "database_unavailable",
    "enrolment_redirect",
    "error_page",
    "finish_headers",
    "is_form_submission",
    "metrics_for",
    "observe",
    "origin_refusal",
    "outcome_headers",
    "retry_url",
    "security_headers",
    "session_ended",
    "session_ended_message",
    "skips_authentication",
    "status_of",
    "verify_url",
    "with_session_ended",
]

MAX_BODY_BYTES = 64 * 1024
# RFC 9110's safe methods, but TRACE: nothing here answers it, so it gets the same
# origin check as any other unexpected method (and then a 405).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Health checks and static files need no user: they never cost a session lookup.
SKIP_AUTH_PREFIXES = ("/healthz", "/static/", "/favicon.ico", "/robots.txt")
# Our OpenID Connect provider's back-end endpoints: called by clients' servers (or apps
# on other origins) with client credentials or a Bearer token, never with our cookie, so
# a cross-origin POST there is no CSRF risk and is not refused by the origin check.
COOKIELESS_PATHS = frozenset({"/oauth2/token", "/oauth2/revoke", "/oauth2/userinfo"})

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


def changes_state(method: str) -> bool:
    return method.upper() not in SAFE_METHODS


def is_form_submission(method: str) -> bool:
    """Only POST runs a form: HEAD is answered like GET and never processes one."""
    return method.upper() == "POST"


def origin_refusal(method: str, origin: str | None, referer: str | None,
                   allowed: Collection[str]) -> ErrorPage | None:
    """403 for a state-changing request that does not come from one of our origins."""
    if changes_state(method) and not is_allowed_origin(origin, referer, allowed):
        return error_page(403, FOREIGN_ORIGIN)
    return None


def body_refusal(content_length: str | None) -> ErrorPage | None:
    """413 for an announced body over the limit, 400 for a length that is no number.
    (A streamed body without a length is counted by the glue as it arrives.)"""
    if not content_length:
        return None
    if not content_length.isdigit():
        return error_page(400, BAD_LENGTH)
    if int(content_length) > MAX_BODY_BYTES:
        return error_page(413)
    return None


def skips_authentication(path: str) -> bool:
    return path.startswith(SKIP_AUTH_PREFIXES) or path in COOKIELESS_PATHS


def cookie_due(validation: SessionValidation | None) -> bool:
    """Whether `cookie_after` may have a cookie to send: most requests (no cookie, or a
    valid session that was not renewed) have none, and the glue then neither reads the
    cookie again nor the clock."""
    return validation is not None and (validation.session is None or validation.session.fresh)


def cookie_after(validation: SessionValidation | None, token: str | None,
                 cookie: CookieSettings, now: datetime) -> Cookie | None:
    """The session cookie a response must carry after this request's validation: a
    renewed session's cookie again, a blank one for an invalid cookie, else none."""
    if validation is None or not cookie_due(validation):
        return None
    session = validation.session
    if session is None:
        return blank_session_cookie(cookie)
    return session_cookie(token, session.expires_at, cookie, now) if token else None


def finish_headers(out: MutableMapping[str, str], base: Mapping[str, str], *,
                   logged_in: bool, sets_cookie: bool) -> None:
    """Give an answer the contract's headers it lacks (`base`: `security_headers`), and
    `Cache-Control: no-store` when it is a logged-in user's page or sets a cookie."""
    for name, value in base.items():
        out.setdefault(name, value)
    if logged_in or sets_cookie:
        out["cache-control"] = "no-store"


# What a session that must enrol a second factor (REQUIRE_SECOND_FACTOR) may still reach.
ENROLMENT_PATHS = ("/account/security", "/account/confirm", "/logout", "/healthz",
                   "/metrics", "/static/", "/favicon.ico", "/robots.txt")


def enrolment_redirect(validation: SessionValidation | None, path: str) -> str | None:
    """Where a logged-in user who must first enrol a second factor goes (None: go on).
    Decided here for both apps: only the enrolment and logging out stay open."""
    session = validation.session if validation is not None and validation.valid else None
    if session is None or not session.must_enrol or path.startswith(ENROLMENT_PATHS):
        return None
    return "/account/security?done=required"


def verify_url(settings: Settings, next_url: str = "") -> str:
    """The landing app's second-factor page, where a pending log-in continues."""
    query = f"?{urlencode({'next': next_url[:2048]})}" if next_url else ""
    return f"{settings.landing_url}/login/verify{query}"


SESSION_ENDED = "session-ended"  # the `reason` on a log-in URL: the session was too old


def with_session_ended(login_url: str) -> str:
    """The log-in URL saying why the visitor must log in again: the session reached its
    absolute lifetime. A fixed word, never the visitor's text."""
    parts = urlsplit(login_url)
    query = "&".join(filter(None, [parts.query, urlencode({"reason": SESSION_ENDED})]))
    return urlunsplit(parts._replace(query=query))


def session_ended(reason: str | None, validation: SessionValidation | None) -> bool:
    """Whether the log-in page explains that the session ended by age: asked so by the
    other app (`reason`), or this request's own cookie was such a session."""
    return reason == SESSION_ENDED or bool(validation and validation.ended_by_age)


def session_ended_message(settings: Settings) -> str:
    days = settings.session_max_lifetime_days
    return (f"Your session ended {days} day{'s' if days != 1 else ''} after you logged in, "
            "as every session does; please log in again.")


def metrics_for(settings: Settings, address: str) -> tuple[bytes, str] | None:
    """`/metrics` (body, content type) for an allowed address, else None: answer 404, as
    if there were no such page."""
    if not metrics.allowed(address, settings.metrics_allowed_networks):
        return None
    return metrics.render()


def observe(app: str, route: str, method: str, seconds: float) -> None:
    """Request latency by route (methods outside the usual few are counted as OTHER, so
    a scanner cannot grow the label set)."""
    method = method if method in ("GET", "HEAD", "POST", "OPTIONS") else "OTHER"
    key = (app, route, method)  # a few dozen: the apps' route names times five methods
    child = _OBSERVERS.get(key)
    if child is None:  # `labels()` on every request was a measurable share of a small page
        child = _OBSERVERS[key] = metrics.REQUEST_SECONDS.labels(app, route, method)
    child.observe(seconds)


_OBSERVERS: dict[tuple[str, str, str], Any] = {}


def status_of(outcome: Outcome) -> int:
    return STATUS[outcome.result]


def outcome_headers(outcome: Outcome | None) -> dict[str, str]:
    """The headers an outcome's answer carries: `Retry-After` when it says how long."""
    return {"Retry-After": str(outcome.retry_after)} if outcome and outcome.retry_after else {}


def security_headers(settings: Settings) -> dict[str, str]:
    """The contract's headers on every response of both apps."""
    # A provider's button posts to us and is redirected to the provider's log-in page:
    # form-action governs that redirect too, so the providers' origins are allowed there.
    providers = {origin_of(p.issuer) for p in settings.oidc_providers}
    headers = {
        "content-security-policy": content_security_policy(settings.allowed_origins
                                                           | providers),
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    }
    if settings.production:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return headers
