"""Starlette glue for auth_utils: an AuthenticationBackend over the session cookie."""

from __future__ import annotations

from starlette import authentication as auth
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from auth_utils import AuthCore, SessionValidation
from auth_utils.http import BAD_SESSION, database_unavailable, error_page, skips_authentication
from landing.pages import render_error

__all__ = ["SessionBackend", "on_auth_error", "validation_of"]

VALIDATION_KEY = "auth.validation"
AUTHENTICATED = auth.AuthCredentials(["authenticated"])  # the same for everyone: made once


class DatabaseDown(auth.AuthenticationError):
    """The session cannot be checked because the storage is unavailable."""


class SessionBackend(auth.AuthenticationBackend):
    """Reads the session cookie (only the cookie: never a query string or header)."""

    def __init__(self, core: AuthCore) -> None:
        self.core = core

    async def authenticate(self, conn: HTTPConnection
                           ) -> tuple[auth.AuthCredentials, auth.SimpleUser] | None:
        token = conn.cookies.get(self.core.cookie.name)
        if token is None or skips_authentication(conn.scope["path"]):
            return None
        sessions = self.core.sessions
        try:
            result = sessions.validate_cached(token) or await run_in_threadpool(
                sessions.validate_session_token, token)
        except self.core.storage.Unavailable as exc:
            raise DatabaseDown from exc
        conn.scope[VALIDATION_KEY] = result  # the response glue re-sends or blanks it
        if not result.valid:
            return None
        return AUTHENTICATED, auth.SimpleUser(result.user.username)


def on_auth_error(conn: HTTPConnection, exc: auth.AuthenticationError) -> Response:
    page = database_unavailable() if isinstance(exc, DatabaseDown) else error_page(400, BAD_SESSION)
    return render_error(Request(conn.scope), page)


def validation_of(scope: dict) -> SessionValidation | None:
    return scope.get(VALIDATION_KEY)
