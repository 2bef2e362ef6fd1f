"""Friendly error pages (Django's handler400/403/404/500 and the CSRF failure view)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from auth_utils.http import CSRF_FAILED, ErrorPage, error_page

__all__ = ["bad_request", "csrf_failure", "not_found", "permission_denied", "render_error",
           "server_error"]


def render_error(request: HttpRequest | None, page: ErrorPage) -> HttpResponse:
    # Rendered without the request context: an error page must not fail on a broken
    # request (e.g. no CSRF token, no user yet).
    html = render_to_string("error.html", {"title": page.title, "message": page.message,
                                           "status": page.status})
    return HttpResponse(html, status=page.status, headers=page.headers or None)


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
