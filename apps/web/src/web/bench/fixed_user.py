"""Benchmark-only middleware: the baseline's user, set without any lookup."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from auth_utils import SessionUser
from web.users import AuthenticatedUser

_USER = AuthenticatedUser(SessionUser("bench", "bench"))


class FixedUserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user = _USER
        request.auth_session = None
        return self.get_response(request)
