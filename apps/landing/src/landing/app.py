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
from starlette.routing import Route

from auth_utils import AuthCore, build_core, load_settings
from auth_utils.http import database_unavailable, error_page, security_headers
from auth_utils.ops.event_log import log_events_to_stderr
from landing.auth import SessionBackend, on_auth_error
from landing.federation import oidc_callback, oidc_signup, oidc_start
from landing.middleware import AuthGlueMiddleware
from landing.pages import render_error
from landing.provider import authorize, discovery, end_session, jwks, revoke, token, userinfo
from landing.recovery import reset_password, reset_request, verify_email
from landing.views import (
    cancel_login,
    healthz,
    home,
    login,
    metrics,
    passkey_login,
    passkey_options,
    robots,
    signup,
    static_file,
    verify,
)

__all__ = ["create_app"]

log = logging.getLogger("landing")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = None if exc.status_code in (404, 405, 413) else str(exc.detail)
    return render_error(request, error_page(exc.status_code, message), exc.headers)


async def _database_down(request: Request, exc: Exception) -> Response:
    return render_error(request, database_unavailable(exc, "landing"))


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    # ServerErrorMiddleware renders this outside our middleware: add the headers here.
    headers = {**security_headers(request.app.state.core.settings), "cache-control": "no-store"}
    return render_error(request, error_page(500), headers)


def create_app(core: AuthCore | None = None) -> Starlette:
    """Build the app on `core` (built from the environment unless a test gives one)."""
    core = core or build_core(load_settings())
    log_events_to_stderr()  # after uvicorn's logging set-up: the auth.events JSON lines

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not await run_in_threadpool(core.prepare):
            # Start anyway: pages answer 503 until MongoDB is back, then recover.
            log.warning("database unavailable at start-up; indexes will be built later")
        core.start_mail_sender()  # this process delivers the outbox too (auth_utils.services.mail)
        core.start_logout_sender()  # and back-channel log-outs (auth_utils.services.backchannel)
        try:
            yield
        finally:
            await run_in_threadpool(core.stop_mail_sender)
            await run_in_threadpool(core.stop_logout_sender)

    app = Starlette(
        debug=False,
        routes=[
            Route("/", home, methods=["GET", "HEAD"]),
            Route("/signup", signup, methods=["GET", "HEAD", "POST"]),
            Route("/login", login, methods=["GET", "HEAD", "POST"]),
            Route("/login/verify", verify, methods=["GET", "HEAD", "POST"]),
            Route("/login/cancel", cancel_login, methods=["POST"]),
            Route("/login/passkey/options", passkey_options, methods=["POST"]),
            Route("/login/passkey", passkey_login, methods=["POST"]),
            Route("/login/verify/passkey", passkey_login, methods=["POST"]),
            Route("/login/oidc/callback", oidc_callback, methods=["GET"]),
            Route("/login/oidc/{provider}", oidc_start, methods=["GET", "HEAD", "POST"]),
            Route("/signup/oidc", oidc_signup, methods=["GET", "HEAD", "POST"]),
            Route("/password/reset", reset_request, methods=["GET", "HEAD", "POST"]),
            Route("/password/reset/{token}", reset_password, methods=["GET", "HEAD", "POST"]),
            Route("/email/verify/{token}", verify_email, methods=["GET", "HEAD", "POST"]),
            # Our OpenID Connect provider (auth_utils.flows.provider).
            Route("/.well-known/openid-configuration", discovery, methods=["GET", "HEAD"]),
            Route("/oauth2/jwks", jwks, methods=["GET", "HEAD"]),
            Route("/oauth2/authorize", authorize, methods=["GET", "HEAD", "POST"]),
            Route("/oauth2/token", token, methods=["POST"]),
            Route("/oauth2/userinfo", userinfo, methods=["GET", "POST"]),
            Route("/oauth2/revoke", revoke, methods=["POST"]),
            Route("/oauth2/logout", end_session, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics, methods=["GET", "HEAD"]),
            Route("/static/{path:path}", static_file, methods=["GET", "HEAD"]),
            Route("/favicon.ico", static_file, methods=["GET", "HEAD"]),
            Route("/robots.txt", robots, methods=["GET", "HEAD"]),
        ],
        middleware=[
            Middleware(AuthGlueMiddleware, core=core),
            Middleware(AuthenticationMiddleware, backend=SessionBackend(core),
                       on_error=on_auth_error),
        ],
        exception_handlers={
            HTTPException: _http_error,
            core.storage.Unavailable: _database_down,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.core = core
    app.state.refusal_pages = {}  # views._refused_early: a handful, input-independent
    return app
