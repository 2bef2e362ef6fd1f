"""The landing application factory."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import db_utils
import theme
from auth_utils import (
    Accounts,
    CookieSettings,
    SessionManager,
    Settings,
    load_settings,
    session_manager_for,
)
from landing.auth import SessionBackend, on_auth_error
from landing.middleware import (
    BodyLimitMiddleware,
    OriginCheckMiddleware,
    SecurityHeadersMiddleware,
    SessionCookieMiddleware,
    security_headers,
)
from landing.pages import database_unavailable_page, error_page
from landing.views import healthz, home, login, signup

__all__ = ["create_app"]

log = logging.getLogger("landing")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: "There is no page at this address.",
        405: "This page does not accept that kind of request.",
    }
    message = messages.get(exc.status_code) or str(exc.detail)
    return error_page(request, exc.status_code, message, exc.headers)


async def _database_down(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", exc)
    return database_unavailable_page(request)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    # ServerErrorMiddleware renders this outside our middleware: add the headers here.
    return error_page(request, 500, "Something went wrong on our side. Please try again.",
                      {**security_headers(request.app.state.settings), "cache-control": "no-store"})


def create_app(
    settings: Settings | None = None, sessions: SessionManager | None = None
) -> Starlette:
    """Build the app; `settings` and `sessions` are injectable for tests."""
    settings = settings or load_settings()
    sessions = sessions or session_manager_for(settings)
    cookie = CookieSettings.from_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db_utils.connect(settings.mongo_uri)
        try:
            await run_in_threadpool(db_utils.ensure_indexes)
        except db_utils.DatabaseUnavailable:
            # Start anyway: pages answer 503 until MongoDB is back, then recover.
            log.warning("database unavailable at start-up; indexes will be built later")
        yield

    app = Starlette(
        debug=False,
        routes=[
            Route("/", home, methods=["GET", "HEAD"]),
            Route("/signup", signup, methods=["GET", "HEAD", "POST"]),
            Route("/login", login, methods=["GET", "HEAD", "POST"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Mount("/static", StaticFiles(directory=theme.STATIC_DIR), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware, settings=settings),
            Middleware(BodyLimitMiddleware),
            Middleware(OriginCheckMiddleware, allowed=settings.allowed_origins),
            Middleware(SessionCookieMiddleware, cookie=cookie, clock=sessions.clock),
            Middleware(
                AuthenticationMiddleware,
                backend=SessionBackend(sessions, cookie.name),
                on_error=on_auth_error,
            ),
        ],
        exception_handlers={
            HTTPException: _http_error,
            db_utils.DatabaseUnavailable: _database_down,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.cookie_settings = cookie
    app.state.accounts = Accounts(settings, sessions)
    return app
