"""Pure ASGI middleware: cookie refresh, origin check, body limit, security headers."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth_utils import (
    Clock,
    CookieSettings,
    Settings,
    blank_session_cookie,
    content_security_policy,
    is_allowed_origin,
    session_cookie,
    utc_now,
)
from landing.auth import validation_of
from landing.pages import error_page

__all__ = [
    "BodyLimitMiddleware",
    "OriginCheckMiddleware",
    "SecurityHeadersMiddleware",
    "SessionCookieMiddleware",
    "security_headers",
]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 64 * 1024
TOO_LARGE = "The request body is too large (64 KiB at most)."


class SessionCookieMiddleware:
    """Re-send the cookie of a renewed (fresh) session; blank a cookie that is invalid.

    A response that sets the session cookie itself (log-in, sign-up) is left alone.
    """

    def __init__(self, app: ASGIApp, cookie: CookieSettings, clock: Clock = utc_now) -> None:
        self.app = app
        self.cookie = cookie
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            result = validation_of(scope)
            if (message["type"] == "http.response.start" and result is not None
                    and (result.session is None or result.session.fresh)):
                headers = MutableHeaders(scope=message)
                already = any(
                    v.startswith(f"{self.cookie.name}=") for v in headers.getlist("set-cookie")
                )
                if not already:
                    if result.session is None:
                        headers.append("set-cookie", blank_session_cookie(self.cookie).serialize())
                    else:  # fresh
                        token = Request(scope).cookies.get(self.cookie.name, "")
                        cookie = session_cookie(
                            token, result.session.expires_at, self.cookie, self.clock()
                        )
                        headers.append("set-cookie", cookie.serialize())
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class OriginCheckMiddleware:
    """Refuse state-changing requests whose Origin (or Referer) is not one of ours."""

    def __init__(self, app: ASGIApp, allowed: frozenset[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            headers = Headers(scope=scope)
            if not is_allowed_origin(headers.get("origin"), headers.get("referer"), self.allowed):
                response = error_page(
                    Request(scope), 403,
                    "This form was sent from another site, so we did not accept it.",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """413 for bodies over 64 KiB, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length and (not length.isdigit() or int(length) > self.max_bytes):
            status = 413 if length.isdigit() else 400
            response = error_page(
                Request(scope), status,
                TOO_LARGE if status == 413
                else "The Content-Length header is not a number.",
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, TOO_LARGE)
            return message

        await self.app(scope, limited_receive, send)


def security_headers(settings: Settings) -> dict[str, str]:
    """The contract's headers (also put on the 500 page, which is rendered outside)."""
    headers = {
        "content-security-policy": content_security_policy(settings.allowed_origins),
        "x-content-type-options": "nosniff",
        "referrer-policy": "same-origin",
        "x-frame-options": "DENY",
        "cross-origin-opener-policy": "same-origin",
    }
    if settings.production:
        headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
    return headers


class SecurityHeadersMiddleware:
    """The contract's headers on every response, `no-store` for logged-in pages."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = security_headers(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers.setdefault(name, value)
                user = scope.get("user")
                if (user is not None and user.is_authenticated) or "set-cookie" in headers:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
