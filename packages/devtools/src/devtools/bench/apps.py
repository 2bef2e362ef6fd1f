"""The servers the benchmark drives: the real apps plus a same-shaped endpoint without
authentication, so each ratio compares like with like."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def whoami(request: Request) -> PlainTextResponse:
    user = request.user
    return PlainTextResponse(user.display_name if user.is_authenticated else "anonymous")


def landing_app() -> Starlette:
    """The landing app with one extra tiny endpoint; the baseline is the same request
    without a cookie (the backend returns at once, no database)."""
    from landing.app import create_app

    app = create_app()
    app.router.routes.insert(0, Route("/bench/whoami", whoami))
    return app
