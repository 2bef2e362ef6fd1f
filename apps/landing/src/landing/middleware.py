"""Pure ASGI glue applying auth_utils.http: refusals before the app, headers after."""

from __future__ import annotations

import time

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_utils import AuthCore, http
from landing.auth import validation_of
from landing.pages import render_error

__all__ = ["AuthGlueMiddleware"]


class AuthGlueMiddleware:
    """Refuse a foreign-origin state change or an oversized body before any view runs;
    add the contract's headers, `no-store` for logged-in pages and the session cookie the
    request's validation calls for (unless the view set one itself)."""

    def __init__(self, app: ASGIApp, core: AuthCore) -> None:
        self.app, self.core, self.headers = app, core, http.security_headers(core.settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers, received, started = Headers(scope=scope), 0, time.perf_counter()
        refusal = http.body_refusal(headers.get("content-length")) or (
            None if scope["path"] in http.COOKIELESS_PATHS else http.origin_refusal(
                scope["method"], headers.get("origin"), headers.get("referer"),
                self.core.settings.allowed_origins))

        async def limited_receive() -> Message:  # a streamed body is counted as it comes
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > http.MAX_BODY_BYTES:
                raise HTTPException(413)
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("endpoint"), "__name__", "unmatched")
                http.observe("landing", route, scope["method"], time.perf_counter() - started)
                out, name = MutableHeaders(scope=message), self.core.cookie.name
                validation = validation_of(scope)
                # Most answers send no session cookie: the cookie header is parsed again
                # and the clock read only for one that may (renewed, or to blank).
                cookie = http.cookie_after(
                    validation, Request(scope).cookies.get(name), self.core.cookie,
                    self.core.sessions.clock()) if http.cookie_due(validation) else None
                if cookie and not any(v.startswith(f"{name}=") for v in out.getlist("set-cookie")):
                    out.append("set-cookie", cookie.serialize())
                user = scope.get("user")
                http.finish_headers(out, self.headers, sets_cookie="set-cookie" in out,
                                    logged_in=user is not None and user.is_authenticated)
            await send(message)

        if refusal:
            return await render_error(Request(scope), refusal)(scope, receive, send_with_headers)
        await self.app(scope, limited_receive, send_with_headers)
