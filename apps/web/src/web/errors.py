"""Friendly error pages (Django's handler400/403/404/500 and the CSRF failure view)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

__all__ = ["bad_request", "csrf_failure", "error_page", "not_found", "permission_denied",
           "server_error"]

TITLES = {400: "Bad request", 403: "Forbidden", 404: "Page not found",
          405: "Method not allowed", 413: "Request too large", 429: "Too many requests",
          500: "Something went wrong", 503: "Service unavailable"}


def error_page(request: HttpRequest | None, status: int, message: str) -> HttpResponse:
    # Rendered without the request context: an error page must not fail on a broken
    # request (e.g. no CSRF token, no user yet).
    html = render_to_string("error.html", {"title": TITLES.get(status, "Error"),
                                           "message": message, "status": status})
    return HttpResponse(html, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 400, "The request could not be understood.")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 403, "You are not allowed to do that.")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, 404, "There is no page at this address.")


def server_error(request: HttpRequest) -> HttpResponse:
    return error_page(request, 500, "Something went wrong on our side. Please try again.")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_page(request, 403, "This form has expired or was not sent from our site. "
                      "Go back, reload the page and try again.")
