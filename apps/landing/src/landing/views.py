"""The landing site's endpoints: /, /signup, /login, /healthz."""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from auth_utils import Outcome, client_ip, safe_next_url
from auth_utils import session_cookie as make_session_cookie
from auth_utils.http import is_form_submission, status_of
from landing.auth import validation_of
from landing.pages import templates

__all__ = ["healthz", "home", "login", "signup"]


def _next_url(request: Request, value: str | None = None) -> str:
    settings = request.app.state.core.settings
    raw = value if value is not None else request.query_params.get("next")
    return safe_next_url(raw, settings.allowed_origins, settings.web_url)


def _redirect_logged_in(request: Request, next_value: str | None = None) -> Response | None:
    if request.user.is_authenticated:
        return RedirectResponse(_next_url(request, next_value), status_code=303)
    return None


async def home(request: Request) -> Response:
    if redirect := _redirect_logged_in(request):
        return redirect
    return templates.TemplateResponse(request, "index.html")


async def healthz(request: Request) -> Response:
    if await run_in_threadpool(request.app.state.core.storage.ping):
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable"}, status_code=503)


def _field(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""  # an uploaded file is not a field


async def _auth_form(request: Request, template: str, action: str) -> Response:
    """GET renders the form; POST runs sign-up or log-in and redirects or re-renders."""
    next_param = request.query_params.get("next", "")
    if not is_form_submission(request.method):  # GET, and HEAD like GET
        if redirect := _redirect_logged_in(request):
            return redirect
        return templates.TemplateResponse(request, template, {"next": next_param[:2048]})

    form = await request.form(max_files=0, max_fields=10)
    username, password = _field(form, "username"), _field(form, "password")
    next_value = _field(form, "next") or next_param
    core = request.app.state.core
    validation = validation_of(request.scope)
    previous = validation.session.id if validation and validation.session else None
    flow = core.accounts.sign_up if action == "signup" else core.accounts.log_in
    ip = client_ip(
        request.client.host if request.client else None,
        request.headers.get("x-forwarded-for"),
        core.settings.trusted_proxies,
    )
    call = functools.partial(
        flow, username, password, ip=ip,
        user_agent=request.headers.get("user-agent", ""), previous_session_id=previous,
    )
    # The core's hashing gate bounds argon2 and refuses at once when it is saturated.
    outcome: Outcome = await run_in_threadpool(call)
    if outcome.ok:
        response = RedirectResponse(_next_url(request, next_value), status_code=303)
        cookie = make_session_cookie(
            outcome.token, outcome.session.expires_at, core.cookie, core.sessions.clock(),
        )
        response.headers.append("set-cookie", cookie.serialize())
        return response
    headers = {"Retry-After": str(outcome.retry_after)} if outcome.retry_after else None
    shown_username = outcome.username if "\x00" not in outcome.username else ""
    return templates.TemplateResponse(
        request, template,
        {"error": outcome.message, "error_field": outcome.field,
         "username": shown_username[:64], "next": next_value[:2048]},
        status_code=status_of(outcome), headers=headers,
    )


async def signup(request: Request) -> Response:
    return await _auth_form(request, "signup.html", "signup")


async def login(request: Request) -> Response:
    return await _auth_form(request, "login.html", "login")


