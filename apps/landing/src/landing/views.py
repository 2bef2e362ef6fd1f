"""The landing site's endpoints: /, /signup, /login, /healthz."""

from __future__ import annotations

import functools
from dataclasses import replace
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from auth_utils import Outcome, Result, blank_session_cookie, client_ip, safe_next_url
from auth_utils import session_cookie as make_session_cookie
from auth_utils.http import (
    is_form_submission,
    metrics_for,
    outcome_headers,
    page_csp,
    session_ended,
    session_ended_message,
    status_of,
)
from auth_utils.http.cookies import trusted_browser_cookie, trusted_browser_cookie_name
from auth_utils.services.passkeys import PasskeyError, passkey_request
from landing.auth import validation_of
from landing.pages import templates
from theme import assets
from theme.times import wait_message

__all__ = ["cancel_login", "healthz", "home", "login", "metrics", "passkey_login",
           "passkey_options", "robots", "signup", "static_file", "verify"]


def _next_url(request: Request, value: str | None = None) -> str:
    settings = request.app.state.core.settings
    raw = value if value is not None else request.query_params.get("next")
    return safe_next_url(raw, settings.allowed_origins, settings.web_url)


def _redirect_logged_in(request: Request, next_value: str | None = None) -> Response | None:
    if request.user.is_authenticated:
        return RedirectResponse(_next_url(request, next_value), status_code=303)
    return None


# Said on the landing page after an action that ended in the web app (`?notice=`): only
# these fixed texts, never anything from the query itself.
NOTICES = {"deleted": "Your account was deleted, and you were logged out everywhere."}
# Said on /login after a flow of this app (`?done=`), the same way.
DONE = {"reset": "Your password was changed and every session was logged out. Log in with "
                 "the new password."}


async def home(request: Request) -> Response:
    if redirect := _redirect_logged_in(request):
        return redirect
    return templates.TemplateResponse(request, "index.html", {
        "notice": NOTICES.get(request.query_params.get("notice", ""))})


def _ip(request: Request) -> str:
    """The client's address, `X-Forwarded-For` believed only from trusted proxies."""
    return client_ip(request.client.host if request.client else None,
                     request.headers.get("x-forwarded-for"),
                     request.app.state.core.settings.trusted_proxies)


async def metrics(request: Request) -> Response:
    core = request.app.state.core
    found = await run_in_threadpool(metrics_for, core.settings, _ip(request))
    if found is None:
        raise HTTPException(404)
    return Response(found[0], media_type=found[1])


async def healthz(request: Request) -> Response:
    if await run_in_threadpool(request.app.state.core.storage.ping):
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "unavailable"}, status_code=503)


async def static_file(request: Request) -> Response:
    """The theme's files and /favicon.ico, as theme.assets decides (hashed names cached
    for a year, gzip)."""
    found = assets.answer(request.url.path, request.method,
                          request.headers.get("accept-encoding"),
                          request.headers.get("if-none-match"))
    if found is None:
        raise HTTPException(404)
    return Response(found.body, status_code=found.status, headers=found.headers)


async def robots(request: Request) -> Response:
    """The public site may be indexed."""
    return PlainTextResponse(assets.robots_txt(private=False),
                             headers={"cache-control": "public, max-age=86400"})


def _field(form, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""  # an uploaded file is not a field


async def _auth_form(request: Request, template: str, action: str) -> Response:
    """GET renders the form; POST runs sign-up or log-in and redirects or re-renders."""
    next_param = request.query_params.get("next", "")
    if not is_form_submission(request.method):  # GET, and HEAD like GET
        # `reauth=1`: an OpenID Connect client asked for a fresh log-in (prompt=login,
        # max_age): the form is shown to a logged-in user too; logging in replaces the session.
        reauth = request.query_params.get("reauth") == "1"
        if not reauth and (redirect := _redirect_logged_in(request)):
            return redirect
        context = {"next": next_param[:2048], "mail": request.app.state.core.email.available,
                   "notice": DONE.get(request.query_params.get("done", ""))}
        if action == "login" and session_ended(request.query_params.get("reason"),
                                               validation_of(request.scope)):
            context["notice"] = session_ended_message(request.app.state.core.settings)
        return templates.TemplateResponse(request, template, context)

    core, ip = request.app.state.core, _ip(request)
    if early := core.accounts.refuse_early(ip, signup=action == "signup"):
        return _refused_early(request, template, early)
    form = await request.form(max_files=0, max_fields=10)
    username, password = _field(form, "username"), _field(form, "password")
    next_value = _field(form, "next") or next_param
    validation = validation_of(request.scope)
    previous = validation.session.id if validation and validation.session else None
    extra = {"email": _field(form, "email")} if action == "signup" else {
        "trusted_browser": request.cookies.get(trusted_browser_cookie_name(core.cookie))}
    flow = core.accounts.sign_up if action == "signup" else core.accounts.log_in
    call = functools.partial(
        flow, username, password, ip=ip,
        user_agent=request.headers.get("user-agent", ""), previous_session_id=previous, **extra)
    # The core's hashing gate bounds argon2 and refuses at once when it is saturated.
    outcome: Outcome = await run_in_threadpool(call)
    if outcome.result is Result.SECOND_FACTOR:  # the password opened a pending session
        return _with_session(request, outcome, _verify_url(next_value))
    if outcome.ok:
        return _with_session(request, outcome, _next_url(request, next_value))
    return _form_error(request, template, outcome, next_value, extra.get("email") or "")


def shown_message(outcome: Outcome) -> str:
    """The outcome's message as the page says it: a throttled form says how long to wait
    (from its `Retry-After`), not "a while"."""
    if outcome.result is Result.THROTTLED and outcome.retry_after:
        return wait_message(outcome.retry_after)
    return outcome.message


def _form_error(request: Request, template: str, outcome: Outcome, next_value: str,
                email: str = "") -> Response:
    headers = outcome_headers(outcome)
    shown_username = outcome.username if "\x00" not in outcome.username else ""
    return templates.TemplateResponse(
        request, template,
        {"error": shown_message(outcome), "error_field": outcome.field,
         # Every wrong field's message (sign-up shows them all at once).
         "field_errors": dict(outcome.errors) if outcome.errors else (
             {outcome.field: outcome.message} if outcome.field else {}),
         # Nothing typed was wrong: the fields are not marked, and the page offers what
         # still works (a passkey, the way back in).
         "throttled": outcome.result is Result.THROTTLED,
         "username": shown_username[:64], "next": next_value[:2048],
         "mail": request.app.state.core.email.available, "email": email[:254]},
        status_code=status_of(outcome), headers=headers,
    )


def _refused_early(request: Request, template: str, outcome: Outcome) -> Response:
    """A refusal the core made from memory before the body was read: the form comes back
    empty with the message (`next` is dropped), so the page depends on nothing the client
    sent and is rendered once per app, form and signed-in state. A flood from one address
    then costs no template work either (rendering was the largest part of its cost)."""
    pages = request.app.state.refusal_pages
    # The wait is said to the minute ("about 14 minutes"): a few dozen pages at most.
    message = shown_message(outcome)
    key = (template, outcome.result, message, request.user.is_authenticated)
    if key not in pages:
        # Only what the key names may reach the page: no username or field.
        blank = replace(outcome, message=message, retry_after=None, username="", field=None)
        pages[key] = _form_error(request, template, blank, "")
    page = pages[key]
    headers = outcome_headers(outcome)
    return Response(page.body, page.status_code, headers, page.media_type)


def _verify_url(next_value: str) -> str:
    return f"/login/verify?{urlencode({'next': next_value[:2048]})}" if next_value \
        else "/login/verify"


def _with_session(request: Request, outcome: Outcome, response: Response | str) -> Response:
    """`response` (or a 303 to it) carrying the outcome's new session cookie."""
    core = request.app.state.core
    if isinstance(response, str):
        response = RedirectResponse(response, status_code=303)
    cookie = make_session_cookie(outcome.token, outcome.session.expires_at, core.cookie,
                                 core.sessions.clock())
    response.headers.append("set-cookie", cookie.serialize())
    return response


async def verify(request: Request) -> Response:
    """The second factor for a pending log-in: a code from the app or a recovery code."""
    return await _for_client(request, await _verify(request))


async def _verify(request: Request) -> Response:
    next_param = request.query_params.get("next", "")
    validation = validation_of(request.scope)
    if validation is None or not validation.pending:  # nothing to verify (any more)
        if redirect := _redirect_logged_in(request, next_param):
            return redirect
        login_url = "/login" + (f"?{urlencode({'next': next_param[:2048]})}"
                                if next_param else "")
        return RedirectResponse(login_url, status_code=303)
    if not is_form_submission(request.method):
        return templates.TemplateResponse(request, "verify.html", {"next": next_param[:2048]})
    form = await request.form(max_files=0, max_fields=10)
    next_value = _field(form, "next") or next_param
    core = request.app.state.core
    outcome: Outcome = await run_in_threadpool(functools.partial(
        core.second_factor.verify, validation.session, validation.user,
        _field(form, "code"), ip=_ip(request), user_agent=request.headers.get("user-agent", ""),
        trust=_field(form, "trust") == "on"))
    if outcome.ok:
        response = _with_session(request, outcome, _next_url(request, next_value))
        if outcome.trusted_browser:
            response.headers.append("set-cookie", trusted_browser_cookie(
                outcome.trusted_browser, core.cookie, core.sessions.clock()).serialize())
        return response
    headers = outcome_headers(outcome)
    if outcome.result is Result.ENDED:  # back to the password, without the pending cookie
        response = templates.TemplateResponse(
            request, "login.html", {"error": outcome.message, "username": outcome.username,
                                    "next": next_value[:2048]}, status_code=400)
        response.headers.append("set-cookie", blank_session_cookie(core.cookie).serialize())
        return response
    return templates.TemplateResponse(
        request, "verify.html", {"error": shown_message(outcome), "error_field": outcome.field,
                                 "throttled": outcome.result is Result.THROTTLED,
                                 "next": next_value[:2048]},
        status_code=status_of(outcome), headers=headers)


async def cancel_login(request: Request) -> Response:
    """"Cancel" on the code page: the pending log-in ends (its session is deleted, the
    cookie blanked) and the visitor is back at the log-in form. A complete session is
    never ended here (a log-out is the web app's button)."""
    core = request.app.state.core
    form = await request.form(max_files=0, max_fields=10)
    next_value = _field(form, "next")[:2048]
    login_url = "/login" + (f"?{urlencode({'next': next_value})}" if next_value else "")
    validation = validation_of(request.scope)
    if validation is None or not validation.pending:
        if redirect := _redirect_logged_in(request, next_value):
            return redirect
        return RedirectResponse(login_url, status_code=303)
    await run_in_threadpool(functools.partial(
        core.second_factor.cancel_pending, validation.session, validation.user, ip=_ip(request),
        user_agent=request.headers.get("user-agent", "")))
    response = RedirectResponse(login_url, status_code=303)
    response.headers.append("set-cookie", blank_session_cookie(core.cookie).serialize())
    return response


def _passkey_answer(request: Request, outcome: Outcome, next_value: str) -> Response:
    """JSON for the passkey module: where to go (with the new cookie), or what failed."""
    if not outcome.ok:
        headers = outcome_headers(outcome)
        return JSONResponse({"error": outcome.message}, status_code=status_of(outcome),
                            headers=headers)
    return _with_session(request, outcome,
                         JSONResponse({"redirect": _next_url(request, next_value)}))


async def passkey_options(request: Request) -> Response:
    """A fresh single-use challenge for a passkey log-in (POST: it stores one)."""
    options = await run_in_threadpool(request.app.state.core.passkeys.login_options)
    return Response(options, media_type="application/json")


async def passkey_login(request: Request) -> Response:
    """Log in with a passkey (discoverable: no username), or use one as the second
    factor on the verification page (`/login/verify/passkey`)."""
    core = request.app.state.core
    try:
        credential, fields = passkey_request(await request.body())
    except PasskeyError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    next_value = fields.get("next", "")
    validation = validation_of(request.scope)
    ip = _ip(request)
    user_agent = request.headers.get("user-agent", "")
    if request.url.path.startswith("/login/verify/"):
        if validation is None or not validation.pending:
            return JSONResponse({"error": "There is no log-in waiting for a second factor.",
                                 "redirect": "/login"}, status_code=400)
        call = functools.partial(core.second_factor.verify_with_passkey, validation.session,
                                 validation.user, credential, ip=ip, user_agent=user_agent)
    else:
        previous = validation.session.id if validation and validation.session else None
        call = functools.partial(core.passkeys.log_in, credential, ip=ip,
                                 user_agent=user_agent, previous_session_id=previous)
    return _passkey_answer(request, await run_in_threadpool(call), next_value)


async def _for_client(request: Request, response: Response) -> Response:
    """A log-in page whose `next` is an OpenID Connect authorization request: its form may
    also lead to that client's registered redirect URI. Chromium applies CSP's form-action
    to every redirect after a form submission (our POST -> /oauth2/authorize -> the
    client), so without this a returning user's log-in would stop at our page. Only that
    client's registered origin, and only on this response."""
    next_value = getattr(response, "context", {}).get("next")
    openid = request.app.state.core.openid
    if next_value and openid is not None and (origin := await run_in_threadpool(
            openid.redirect_origin, next_value)):
        response.headers["content-security-policy"] = page_csp(
            request.app.state.core.settings, origin)
    return response


async def signup(request: Request) -> Response:
    return await _for_client(request, await _auth_form(request, "signup.html", "signup"))


async def login(request: Request) -> Response:
    return await _for_client(request, await _auth_form(request, "login.html", "login"))


