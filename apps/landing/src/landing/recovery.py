"""The way back in, as pages: "Forgot your password?" (/password/reset), the reset link's
page (/password/reset/<token>) and the e-mail verification link's page
(/email/verify/<token>). The core decides everything (auth_utils.flows.recovery, .email);
these only render its outcomes."""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth_utils import Outcome, Result, blank_session_cookie
from auth_utils.flows.email import LINK_ENDED as VERIFY_ENDED
from auth_utils.flows.recovery import LINK_ENDED as RESET_ENDED
from auth_utils.http import is_form_submission, outcome_headers, status_of
from landing.pages import templates
from landing.views import _field, _ip, shown_message

__all__ = ["reset_password", "reset_request", "verify_email"]

# A page reached by a link that carries a secret: no Referer carries its path (not even to
# this site's own assets, which logs would keep), and no cache keeps it. `strict-origin`,
# not `no-referrer`: under `no-referrer` a browser sends `Origin: null` with the page's own
# form, which the origin check refuses (403), so the link could never be used.
LINK_PAGE_HEADERS = {"referrer-policy": "strict-origin", "cache-control": "no-store"}


def _who(request: Request) -> dict[str, str]:
    return {"ip": _ip(request), "user_agent": request.headers.get("user-agent", "")}


async def reset_request(request: Request) -> Response:
    """The same page for every username or address, real or not (the core mails a link
    after the answer, when one matches)."""
    core = request.app.state.core
    context = {"mail": core.recovery.available}
    if not is_form_submission(request.method) or not core.recovery.available:
        return templates.TemplateResponse(request, "reset_request.html", context)
    form = await request.form(max_files=0, max_fields=5)
    identifier = _field(form, "identifier")
    outcome: Outcome = await run_in_threadpool(functools.partial(
        core.recovery.request_reset, identifier, **_who(request)))
    if outcome.ok:
        return templates.TemplateResponse(request, "reset_request.html", {**context,
                                                                           "sent": True})
    return templates.TemplateResponse(
        request, "reset_request.html",
        {**context, "error": shown_message(outcome), "error_field": outcome.field,
         "identifier": identifier[:254]},
        status_code=status_of(outcome), headers=outcome_headers(outcome))


def _link_ended(request: Request, message: str, status: int = 400) -> Response:
    return templates.TemplateResponse(
        request, "error.html", {"title": "This link no longer works", "message": message,
                                "status": status, "retry_url": "/password/reset"},
        status_code=status, headers=LINK_PAGE_HEADERS)


async def reset_password(request: Request) -> Response:
    """The link's page: a new password (and the second factor when on). Success: every
    session ended, this browser's cookie blanked, 303 to /login with a notice."""
    core, token = request.app.state.core, request.path_params["token"]
    user = await run_in_threadpool(core.recovery.open_link, token)
    if user is None:
        return _link_ended(request, RESET_ENDED)
    needs_code = await run_in_threadpool(core.recovery.needs_code, user)
    page = {"token": token, "username": user.username, "needs_code": needs_code}
    if not is_form_submission(request.method):
        return templates.TemplateResponse(request, "reset.html", page,
                                          headers=LINK_PAGE_HEADERS)
    form = await request.form(max_files=0, max_fields=10)
    outcome: Outcome = await run_in_threadpool(functools.partial(
        core.recovery.reset_password, token, _field(form, "new_password"),
        _field(form, "confirm_password"), _field(form, "code"), **_who(request)))
    if outcome.ok:
        response = RedirectResponse("/login?done=reset", status_code=303)
        response.headers.append("set-cookie", blank_session_cookie(core.cookie).serialize())
        return response
    if outcome.result is Result.ENDED:
        return _link_ended(request, outcome.message)
    return templates.TemplateResponse(
        request, "reset.html", {**page, "error": shown_message(outcome),
                                      "error_field": outcome.field},
        status_code=status_of(outcome), headers={**LINK_PAGE_HEADERS,
                                                 **outcome_headers(outcome)})


async def verify_email(request: Request) -> Response:
    """The verification link's page: GET shows what would be confirmed (a mail scanner
    that fetches links confirms nothing); the button's POST confirms it."""
    core, token = request.app.state.core, request.path_params["token"]
    user = await run_in_threadpool(core.email.open_link, token)
    if user is None:
        return _link_ended(request, VERIFY_ENDED)
    page = {"token": token, "username": user.username, "address": user.pending_email}
    if not is_form_submission(request.method):
        return templates.TemplateResponse(request, "verify_email.html", page,
                                          headers=LINK_PAGE_HEADERS)
    outcome: Outcome = await run_in_threadpool(functools.partial(
        core.email.verify, token, **_who(request)))
    if outcome.ok:
        return templates.TemplateResponse(request, "verify_email.html", {**page, "done": True},
                                          headers=LINK_PAGE_HEADERS)
    return _link_ended(request, outcome.message, status_of(outcome))
