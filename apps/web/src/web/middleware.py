"""Django glue for auth_utils: request.user from the shared cookie, plus the contract's
origin check, body limit, security headers and database-outage page."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.http import HttpRequest, HttpResponse

from auth_utils import (
    Cookie,
    blank_session_cookie,
    content_security_policy,
    is_allowed_origin,
    session_cookie,
)
from db_utils import DatabaseUnavailable
from web import services
from web.errors import error_page
from web.users import AnonymousUser, AuthenticatedUser

__all__ = [
    "BodyLimitMiddleware",
    "DatabaseUnavailableMiddleware",
    "OriginCheckMiddleware",
    "SecurityHeadersMiddleware",
    "SessionAuthMiddleware",
    "apply_cookie",
]

log = logging.getLogger("web")

GetResponse = Callable[[HttpRequest], HttpResponse]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
MAX_BODY_BYTES = 64 * 1024
SKIP_AUTH_PREFIXES = ("/healthz", "/static/")


def apply_cookie(response: HttpResponse, cookie: Cookie) -> None:
    """Set an auth_utils cookie value object on a Django response."""
    response.set_cookie(
        cookie.name, cookie.value, max_age=cookie.max_age,
        expires=None if cookie.max_age else "Thu, 01 Jan 1970 00:00:00 GMT",
        path=cookie.path, domain=cookie.domain, secure=cookie.secure,
        httponly=cookie.http_only, samesite=cookie.same_site,
    )


def database_unavailable(request: HttpRequest) -> HttpResponse:
    response = error_page(request, 503, "We cannot reach our database right now. "
                          "Please try again in a moment.")
    response["Retry-After"] = "5"
    return response


class SessionAuthMiddleware(AuthenticationMiddleware):
    """Django's AuthenticationMiddleware with the user taken from the shared session
    cookie (and only the cookie) instead of contrib.sessions; re-sends the cookie of a
    renewed session and blanks an invalid one.

    Subclassing keeps Django's own checks (auth.E013) and LoginRequiredMiddleware happy.
    """

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        svc = services.get()
        token = request.COOKIES.get(svc.cookie.name)
        request.user = AnonymousUser()
        request.auth_session = None
        request.auth_validation = None
        if token is None or request.path.startswith(SKIP_AUTH_PREFIXES):
            return None
        try:
            svc.ensure_indexes()
            validation = svc.sessions.validate_session_token(token)
        except DatabaseUnavailable:
            return database_unavailable(request)
        request.auth_validation = validation
        if validation.valid:
            request.user = AuthenticatedUser(validation.user)
            request.auth_session = validation.session
        return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        validation = getattr(request, "auth_validation", None)
        svc = services.get()
        if validation is None or svc.cookie.name in response.cookies:
            return response
        if not validation.valid:
            apply_cookie(response, blank_session_cookie(svc.cookie))
        elif validation.session.fresh:
            token = request.COOKIES[svc.cookie.name]
            apply_cookie(response, session_cookie(
                token, validation.session.expires_at, svc.cookie, svc.sessions.clock()))
        return response


class OriginCheckMiddleware:
    """403 for a state-changing request whose Origin (or Referer) is not one of ours,
    or that carries neither; Django's CSRF token check still follows."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            allowed = services.get().settings.allowed_origins
            if not is_allowed_origin(
                request.headers.get("Origin"), request.headers.get("Referer"), allowed
            ):
                return error_page(request, 403, "This form was sent from another site, "
                                  "so we did not accept it.")
        return self.get_response(request)


class BodyLimitMiddleware:
    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit():
            return error_page(request, 400, "The Content-Length header is not a number.")
        if int(length) > MAX_BODY_BYTES:
            return error_page(request, 413, "The request body is too large (64 KiB at most).")
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """CSP (Django 5.2 has none built in) and `no-store` on pages for logged-in users."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        # CSRF_TRUSTED_ORIGINS is the two app origins (settings.py).
        self.csp = content_security_policy(settings.CSRF_TRUSTED_ORIGINS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", self.csp)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or response.cookies:
            response["Cache-Control"] = "no-store"
        return response


class DatabaseUnavailableMiddleware:
    """A view that cannot reach MongoDB answers 503, not 500."""

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, DatabaseUnavailable):
            log.warning("database unavailable: %s", exc)
            return database_unavailable(request)
        return None
