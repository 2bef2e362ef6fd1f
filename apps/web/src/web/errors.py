"""Responses the glue and views share: friendly error pages (Django's handler400/403/404/500
and the CSRF failure view) and an auth_utils cookie applied to a Django response."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.template.loader import render_to_string

from auth_utils import Cookie, Outcome, Result
from auth_utils.http import CSRF_FAILED, ErrorPage, error_page, outcome_headers, retry_url
from theme import assets
from theme.times import wait_message

__all__ = ["apply_cookie", "bad_request", "csrf_failure", "not_found", "permission_denied",
           "render_error", "render_page", "server_error"]


def apply_cookie(response: HttpResponse, cookie: Cookie) -> None:
    """Set an auth_utils cookie value on a Django response."""
    response.set_cookie(
        cookie.name, cookie.value, max_age=cookie.max_age, path=cookie.path,
        expires=None if cookie.max_age else "Thu, 01 Jan 1970 00:00:00 GMT",
        domain=cookie.domain, secure=cookie.secure, httponly=cookie.http_only,
        samesite=cookie.same_site)


def render_error(request: HttpRequest | None, page: ErrorPage) -> HttpResponse:
    # Rendered without the request context processors: an error page must not fail on a
    # broken request (e.g. no user yet). Only a signed-in user's request is passed in, so
    # the page keeps the header (its log-out form takes a fresh CSRF token).
    context = {"title": page.title, "message": page.message, "status": page.status,
               "asset": assets.urls(), "retry_url": "/"}
    if request is not None:
        context["retry_url"] = retry_url(request.path, request.META.get("QUERY_STRING", ""))
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            context.update(request=request, csrf_token=get_token(request))
    html = render_to_string("error.html", context)
    return HttpResponse(html, status=page.status, headers=page.headers or None)


def render_page(request: HttpRequest, template: str, context: dict,
                outcome: Outcome | None = None, status: int = 200) -> HttpResponse:
    """A page with the outcome's message on its field (and its Retry-After, which a
    throttled page also says in words)."""
    message = outcome.message if outcome else None
    if outcome and outcome.result is Result.THROTTLED and outcome.retry_after:
        message = wait_message(outcome.retry_after)
    response = render(request, template, {
        **context, "error": message,
        "error_field": outcome.field if outcome else None}, status=status)
    for name, value in outcome_headers(outcome).items():
        response[name] = value
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, error_page(400))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, error_page(403))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_error(request, error_page(404))


def server_error(request: HttpRequest) -> HttpResponse:
    return render_error(request, error_page(500))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render_error(request, error_page(403, CSRF_FAILED))
