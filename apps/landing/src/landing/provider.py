"""Our OpenID Connect provider's endpoints on the landing app (the identity host): the
glue between Starlette and `core.openid` (auth_utils.flows.provider), which decides."""

from __future__ import annotations

import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from auth_utils import blank_session_cookie
from auth_utils.flows.provider import Answer, Authorize, OAuthRequest
from auth_utils.http.origins import content_security_policy, origin_of
from landing.auth import validation_of
from landing.pages import templates
from landing.views import _ip

__all__ = ["authorize", "discovery", "end_session", "jwks", "revoke", "token", "userinfo"]

FORM_FIELDS_MAX = 30
# Discovery and keys are public and read by clients in browsers too (CORS).
PUBLIC = {"access-control-allow-origin": "*"}


def _oauth_request(request: Request, params: list[tuple[str, str]]) -> OAuthRequest:
    """The request as the core sees it: the URL on LANDING_URL (never the Host header)."""
    settings = request.app.state.core.settings
    grouped: dict[str, list[str]] = {}
    for key, value in params:
        grouped.setdefault(key, []).append(value)
    url = settings.landing_url + request.url.path
    return OAuthRequest(request.method, url, request.headers, grouped)  # case-insensitive


async def _form(request: Request) -> list[tuple[str, str]]:
    form = await request.form(max_files=0, max_fields=FORM_FIELDS_MAX)
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]


def _answer(answer: Answer) -> Response:
    headers = {k: v for k, v in answer.headers if k.lower() != "content-type"}
    if answer.status in (301, 302, 303):
        return RedirectResponse(answer.location or "/", status_code=answer.status,
                                headers={k: v for k, v in headers.items()
                                         if k.lower() != "location"})
    headers.setdefault("Cache-Control", "no-store")
    return JSONResponse(answer.body if isinstance(answer.body, dict) else {},
                        status_code=answer.status, headers=headers)


async def discovery(request: Request) -> Response:
    """GET /.well-known/openid-configuration (OpenID Connect Discovery 1.0)."""
    return JSONResponse(request.app.state.core.openid.metadata(),
                        headers={**PUBLIC, "cache-control": "public, max-age=3600"})


async def jwks(request: Request) -> Response:
    """GET /oauth2/jwks: the public keys (current, next, retired in overlap)."""
    keys = await run_in_threadpool(request.app.state.core.openid.keys.jwks)
    return JSONResponse(keys, headers={**PUBLIC, "cache-control": "public, max-age=300"})


def _page(request: Request, found: Authorize) -> Response:
    response = templates.TemplateResponse(
        request, "error.html", {"title": "This sign-in request cannot be used",
                                "message": found.message, "status": 400, "retry_url": "/"},
        status_code=400)
    response.headers["cache-control"] = "no-store"
    return response


async def authorize(request: Request) -> Response:
    """GET /oauth2/authorize, and POST from our consent page (`decision`)."""
    core = request.app.state.core
    if request.method == "POST":
        params = await _form(request)
        decision = next((v for k, v in params if k == "decision"), "deny")
        params = [(k, v) for k, v in params if k != "decision"]
    else:
        params, decision = list(request.query_params.multi_items()), None
    oauth_request = _oauth_request(request, params)
    found: Authorize = await run_in_threadpool(functools.partial(
        core.openid.authorize, oauth_request, validation_of(request.scope),
        decision=decision, ip=_ip(request), user_agent=request.headers.get("user-agent", "")))
    if found.action == "redirect":
        return RedirectResponse(found.location, status_code=303 if decision else 302)
    if found.action == "error":
        return _page(request, found)
    # The consent page. Its form posts here and is then redirected to the client: the
    # CSP's form-action governs that redirect too, so this page allows the client's origin.
    redirect_uri = oauth_request.params.get("redirect_uri", [""])[0]
    settings = core.settings
    response = templates.TemplateResponse(request, "consent.html", {
        "client_name": found.client_name, "scopes": found.scopes, "params": params,
        "username": validation_of(request.scope).user.username})
    response.headers["content-security-policy"] = content_security_policy(
        settings.allowed_origins | {origin_of(redirect_uri)})
    response.headers["cache-control"] = "no-store"
    return response


async def token(request: Request) -> Response:
    """POST /oauth2/token: codes and refresh tokens for tokens (no cookie involved)."""
    oauth_request = _oauth_request(request, await _form(request))
    return _answer(await run_in_threadpool(request.app.state.core.openid.token,
                                           oauth_request))


async def revoke(request: Request) -> Response:
    """POST /oauth2/revoke (RFC 7009)."""
    oauth_request = _oauth_request(request, await _form(request))
    return _answer(await run_in_threadpool(request.app.state.core.openid.revoke,
                                           oauth_request))


async def userinfo(request: Request) -> Response:
    """GET or POST /oauth2/userinfo with a Bearer access token (header only: a token in
    a query string ends up in logs, RFC 6750 2.3)."""
    answer = await run_in_threadpool(request.app.state.core.openid.userinfo,
                                     request.headers.get("authorization"))
    return _answer(answer)


async def end_session(request: Request) -> Response:
    """GET /oauth2/logout (RP-initiated log-out); POST from our confirmation page."""
    core = request.app.state.core
    if request.method == "POST":
        params = [(k, v) for k, v in await _form(request) if k != "confirm"]
        confirmed = True
    else:
        params, confirmed = list(request.query_params.multi_items()), False
    validation = validation_of(request.scope)
    answer = await run_in_threadpool(functools.partial(
        core.openid.end_session, _oauth_request(request, params), validation,
        confirmed=confirmed, ip=_ip(request), user_agent=request.headers.get("user-agent", "")))
    if answer is None:
        response = templates.TemplateResponse(request, "logout_confirm.html",
                                              {"params": params})
        response.headers["cache-control"] = "no-store"
        return response
    response = _answer(answer)
    if validation is not None and validation.session is not None:
        response.headers.append("set-cookie", blank_session_cookie(core.cookie).serialize())
    return response
