"""Templates and the one helper that renders an error page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from auth_utils.validation import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
)

__all__ = ["database_unavailable_page", "error_page", "templates"]

RULES = {
    "username_min": USERNAME_MIN,
    "username_max": USERNAME_MAX,
    "username_pattern": USERNAME_PATTERN,
    "password_min": PASSWORD_MIN,
    "password_max": PASSWORD_MAX,
}


def _context(request: Request) -> dict:
    settings = request.app.state.settings
    return {"rules": RULES, "web_url": settings.web_url, "landing_url": settings.landing_url}


templates = Jinja2Templates(
    directory=Path(__file__).parent / "templates", context_processors=[_context]
)

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


def error_page(
    request: Request, status_code: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    """A friendly HTML error page: never a traceback."""
    return templates.TemplateResponse(
        request, "error.html",
        {"title": TITLES.get(status_code, "Error"), "message": message, "status": status_code},
        status_code=status_code, headers=headers,
    )


def database_unavailable_page(request: Request) -> Response:
    """The 503 page for an outage, wherever it is noticed (auth backend or a view)."""
    return error_page(request, 503, "We cannot reach our database right now. "
                      "Please try again in a moment.", {"Retry-After": "5"})
