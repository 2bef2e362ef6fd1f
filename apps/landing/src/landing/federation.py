"""Log in with an outside OpenID Connect provider: the button's POST, the callback, and
the page where a new identity picks its username. The rules are the core's
(`core.federation`); this is the glue: cookies, redirects and pages."""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from auth_utils.flows.federated import Begun, Federated
from auth_utils.http.cookies import Cookie, trusted_browser_cookie_name
from landing.auth import validation_of
from landing.pages import templates
from landing.views import _field, _ip, _next_url, _verify_url, _with_session

__all__ = ["oidc_callback", "oidc_signup", "oidc_start"]

STATE_COOKIE = "oidc_state"
SIGNUP_COOKIE = "oidc_signup"
CALLBACK_PATH = "/login/oidc/callback"
SIGNUP_PATH = "/signup/oidc"
FLOW_SECONDS = 600
# Calls to a provider run on threads of their own (at most this many at once), never on
# the tokens of the pool that password log-ins wait for: a slow provider cannot starve them.
OIDC_LIMITER = anyio.CapacityLimiter(16)
TITLES = {400: "This log-in did not work", 403: "This log-in was not allowed",
          404: "There is no such log-in", 409: "This log-in is linked elsewhere",
          429: "Too many attempts", 503: "The provider is not answering"}


async def _call(func: Any, *args: Any, **kwargs: Any) -> Any:
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs),
                                          limiter=OIDC_LIMITER)


def _cookie(request: Request, name: str, value: str, path: str, *, clear: bool = False
            ) -> str:
    """A short-lived, HttpOnly, SameSite=Lax cookie for one path: Lax is sent on the
    provider's top-level redirect back to us, never on a cross-site POST."""
    core = request.app.state.core
    now = core.sessions.clock()
    seconds = 0 if clear else FLOW_SECONDS
    return Cookie(name, "" if clear else value, seconds, now + timedelta(seconds=seconds),
                  core.cookie.secure, None, path).serialize()


def _refusal(request: Request, found: Federated, retry_url: str = "/login") -> Response:
    status = found.status
    headers = {"retry-after": str(found.outcome.retry_after)} \
        if found.outcome.retry_after else {}
    response = templates.TemplateResponse(
        request, "error.html", {"title": TITLES.get(status, "This log-in did not work"),
                                "message": found.outcome.message, "status": status,
                                "retry_url": retry_url},
        status_code=status, headers=headers)
    response.headers["cache-control"] = "no-store"
    return response


async def oidc_start(request: Request) -> Response:
    """POST /login/oidc/{provider}: to the provider with a fresh state (kept in this
    browser's cookie), nonce and PKCE verifier (kept server-side). `intent=link` from a
    logged-in session links the identity to it (after a recent re-authentication)."""
    core = request.app.state.core
    if request.method in ("GET", "HEAD"):
        return _link_page(request)
    form = await request.form(max_files=0, max_fields=5)
    intent = "link" if _field(form, "intent") == "link" else "login"
    next_value = _field(form, "next")
    validation = validation_of(request.scope)
    session = validation.session if validation and not validation.pending else None
    user = validation.user if session is not None else None
    begun = await _call(core.federation.begin, request.path_params["provider"], intent,
                        session=session, user=user, next=next_value)
    if not isinstance(begun, Begun):
        if begun.outcome.result.value == "reauth":  # confirm with the password first
            return RedirectResponse(f"{core.settings.web_url}/account/confirm?next="
                                    "%2Faccount%2Fsecurity", status_code=303)
        return _refusal(request, begun)
    response = RedirectResponse(begun.url, status_code=303)
    response.headers.append("set-cookie", _cookie(request, STATE_COOKIE, begun.state,
                                                  CALLBACK_PATH))
    return response


def _link_page(request: Request) -> Response:
    """GET /login/oidc/{provider}: the web app's "Link" goes here (a link, not a form:
    the web pages' `Referrer-Policy: same-origin` makes a browser send `Origin: null`
    with a cross-origin POST, which the origin check refuses), and this page's button
    posts the link request from the landing app's own origin."""
    core, provider_id = request.app.state.core, request.path_params["provider"]
    if provider_id not in {p.id for p in core.federation.providers}:
        return _refusal(request, Federated.refused(404, "There is no such way to log in."))
    validation = validation_of(request.scope)
    if validation is None or validation.pending or validation.user is None:
        return RedirectResponse("/login", status_code=303)
    return templates.TemplateResponse(request, "oidc_link.html", {
        "provider_id": provider_id, "provider": core.federation.provider_name(provider_id),
        "username": validation.user.username})


async def oidc_callback(request: Request) -> Response:
    """GET /login/oidc/callback: the provider sent the browser back."""
    core = request.app.state.core
    validation = validation_of(request.scope)
    session = validation.session if validation and not validation.pending else None
    found: Federated = await _call(
        core.federation.complete, dict(request.query_params),
        request.cookies.get(STATE_COOKIE), session=session,
        user=validation.user if session is not None else None, ip=_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        previous_session_id=validation.session.id if validation and validation.session
        else None,
        trusted_browser=request.cookies.get(trusted_browser_cookie_name(core.cookie)))
    response: Response
    if found.action == "signup":
        response = RedirectResponse(SIGNUP_PATH, status_code=303)
        response.headers.append("set-cookie", _cookie(request, SIGNUP_COOKIE,
                                                      found.signup_token, SIGNUP_PATH))
    elif found.action == "linked":
        response = RedirectResponse(f"{core.settings.web_url}/account/security",
                                    status_code=303)
    elif found.action == "login":
        target = _verify_url(found.next) if found.outcome.result.value == "second_factor" \
            else _next_url(request, found.next)
        response = _with_session(request, found.outcome, target)
    else:
        response = _refusal(request, found)
    response.headers.append("set-cookie", _cookie(request, STATE_COOKIE, "", CALLBACK_PATH,
                                                  clear=True))
    return response


async def oidc_signup(request: Request) -> Response:
    """GET/POST /signup/oidc: a new outside identity picks the username of its account."""
    core = request.app.state.core
    token = request.cookies.get(SIGNUP_COOKIE, "")
    if request.method in ("GET", "HEAD"):
        pending = await _call(core.identities.pending_signup, token) if token else None
        if pending is None:
            return _refusal(request, Federated.refused(
                400, "This sign-up has expired or was finished. Please start again."))
        return templates.TemplateResponse(request, "oidc_signup.html", {
            "provider": pending.provider, "username": pending.suggested})
    form = await request.form(max_files=0, max_fields=5)
    validation = validation_of(request.scope)
    found: Federated = await _call(
        core.identities.finish_signup, token, _field(form, "username"), ip=_ip(request),
        user_agent=request.headers.get("user-agent", ""),
        previous_session_id=validation.session.id if validation and validation.session
        else None)
    if found.action == "login":
        response = _with_session(request, found.outcome, _next_url(request, found.next))
        response.headers.append("set-cookie", _cookie(request, SIGNUP_COOKIE, "",
                                                      SIGNUP_PATH, clear=True))
        return response
    if found.signup_token:  # the name: say why, and ask again
        return templates.TemplateResponse(request, "oidc_signup.html", {
            "provider": found.provider, "username": found.outcome.username,
            "error": found.outcome.message, "error_field": found.outcome.field},
            status_code=found.status)
    return _refusal(request, found, "/signup")
