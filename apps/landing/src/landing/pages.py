"""Templates and the one helper that renders an error page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from auth_utils.http import ErrorPage, retry_url
from auth_utils.rules.validation import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    USERNAME_MAX,
    USERNAME_MIN,
    USERNAME_PATTERN,
)
from theme import assets

__all__ = ["render_error", "templates"]

RULES = {
    "username_min": USERNAME_MIN,
    "username_max": USERNAME_MAX,
    "username_pattern": USERNAME_PATTERN,
    "password_min": PASSWORD_MIN,
    "password_max": PASSWORD_MAX,
}


def _context(request: Request) -> dict:
    settings = request.app.state.core.settings
    user = request.scope.get("user")  # absent when the glue refused the request first
    # The password was right and the second factor is still to come: the header says
    # whose log-in it is instead of offering "Sign up".
    validation = request.scope.get("auth.validation")  # landing.auth.VALIDATION_KEY
    pending = validation.user.username if validation is not None and validation.pending \
        and validation.user is not None else None
    return {"rules": RULES, "web_url": settings.web_url, "landing_url": settings.landing_url,
            "asset": assets.urls(), "signed_in": bool(user and user.is_authenticated),
            "pending_username": pending,
            "site_words": " ".join(settings.site_words),
            # Outside OpenID Connect providers: a button each on /login and /signup.
            "oidc_providers": request.app.state.core.federation.providers}


templates = Jinja2Templates(
    directory=Path(__file__).parent / "templates", context_processors=[_context]
)


def render_error(request: Request, page: ErrorPage, headers: dict[str, str] | None = None
                 ) -> Response:
    """A friendly HTML error page: never a traceback."""
    return templates.TemplateResponse(
        request, "error.html",
        {"title": page.title, "message": page.message, "status": page.status,
         "retry_url": retry_url(request.url.path, request.url.query)},
        status_code=page.status, headers={**page.headers, **(headers or {})},
    )
