"""Starlette glue for auth_utils: an AuthenticationBackend over the session cookie."""

from __future__ import annotations

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import Response

from auth_utils import SessionManager, SessionUser, SessionValidation
from db_utils import DatabaseUnavailable
from landing.pages import database_unavailable_page, error_page

__all__ = ["AuthUser", "DatabaseDown", "SessionBackend", "on_auth_error"]

VALIDATION_SCOPE_KEY = "auth.validation"


class AuthUser(BaseUser):
    def __init__(self, user: SessionUser) -> None:
        self.id = user.id
        self.username = user.username

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.username


class DatabaseDown(AuthenticationError):
    """Raised when the session cannot be checked because MongoDB is unreachable."""


class SessionBackend(AuthenticationBackend):
    """Reads the session cookie (only the cookie: never a query string or header)."""

    # Health checks and static files need no user: they never cost a session lookup.
    SKIP_PREFIXES = ("/healthz", "/static/")

    def __init__(self, sessions: SessionManager, cookie_name: str) -> None:
        self.sessions = sessions
        self.cookie_name = cookie_name

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        token = conn.cookies.get(self.cookie_name)
        if token is None or conn.scope["path"].startswith(self.SKIP_PREFIXES):
            return None
        try:
            result = self.sessions.validate_from_cache(token) or await run_in_threadpool(
                self.sessions.validate_session_token, token)
        except DatabaseUnavailable as exc:
            raise DatabaseDown("database unavailable") from exc
        # The cookie middleware re-sends a fresh cookie or blanks an invalid one.
        conn.scope[VALIDATION_SCOPE_KEY] = result
        if not result.valid:
            return None
        return AuthCredentials(["authenticated"]), AuthUser(result.user)


def on_auth_error(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    from starlette.requests import Request

    request = Request(conn.scope)
    if isinstance(exc, DatabaseDown):
        return database_unavailable_page(request)
    return error_page(request, 400, "Your session could not be read.")


def validation_of(scope: dict) -> SessionValidation | None:
    return scope.get(VALIDATION_SCOPE_KEY)
