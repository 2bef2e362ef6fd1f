"""The HTTP decisions both apps share, free of any framework: each app's glue only
applies them with its own request and response types.

Which methods change state, which requests to refuse before any view runs (foreign
origin, oversized body), which paths need no session, which cookie to send after a
request, and the headers every answer carries; the words and statuses of the error pages
in `errors.py`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, MutableMapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from auth_utils.config import Settings, origin_of
from auth_utils.http.cookies import Cookie, CookieSettings, blank_session_cookie, session_cookie
from auth_utils.http.errors import (
    BAD_LENGTH,
    BAD_SESSION,
    CSRF_FAILED,
    FOREIGN_ORIGIN,
    MAX_BODY_BYTES,
    ErrorPage,
    database_unavailable,
    error_page,
    outcome_headers,
    retry_url,
    status_of,
)
from auth_utils.http.origins import content_security_policy, is_allowed_origin
from auth_utils.services import metrics
from auth_utils.services.sessions import SessionValidation

__all__ = [
    "BAD_SESSION",
    "COOKIELESS_PATHS",
    "CSRF_FAILED",
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
    "login_location",
    "metrics_for",
    "observe",
    "origin_refusal",
    "outcome_headers",
    "page_csp",
    "retry_url",
    "security_headers",
    "session_ended",
    "session_ended_message",
    "skips_authentication",
    "status_of",
    "verify_url",
    "with_session_ended",
]

# RFC 9110's safe methods, but TRACE: nothing here answers it, so it gets the same
# origin check as any other unexpected method (and then a 405).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Health checks and static files need no user: they never cost a session lookup.
SKIP_AUTH_PREFIXES = ("/healthz", "/static/", "/favicon.ico", "/robots.txt")
# Our OpenID Connect provider's back-end endpoints: called by clients' servers (or apps
# on other origins) with client credentials or a Bearer token, never with our cookie, so
# a cross-origin POST there is no CSRF risk and is not refused by the origin check.
COOKIELESS_PATHS = frozenset({"/oauth2/token", "/oauth2/revoke", "/oauth2/userinfo"})

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


def login_location(validation: SessionValidation | None, settings: Settings, login_url: str,
                   here: str) -> str:
    """Where a visitor who must log in to see `here` goes: a pending log-in to its code
    page (not the password form again), a session ended by age to `login_url` saying
    why, anyone else to `login_url`."""
    if validation is not None and validation.pending:
        return verify_url(settings, here)
    if validation is not None and validation.ended_by_age:
        return with_session_ended(login_url)
    return login_url


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


def page_csp(settings: Settings, *more_form_origins: str) -> str:
    """The pages' Content-Security-Policy; `more_form_origins`: where this one page's
    forms may also lead (an OpenID Connect client's redirect URI, for a log-in that
    continues to it)."""
    # A provider's button posts to us and is redirected to the provider's log-in page:
    # form-action governs that redirect too, so the providers' origins are allowed there.
    providers = {origin_of(p.issuer) for p in settings.oidc_providers}
    return content_security_policy(settings.allowed_origins | providers
                                   | set(more_form_origins))


def security_headers(settings: Settings) -> dict[str, str]:
    """The contract's headers on every response of both apps."""
    headers = {
        "content-security-policy": page_csp(settings),
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    }
    if settings.production:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return headers
