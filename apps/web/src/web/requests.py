"""What the web app's views read off a request for the core: the signed-in user, the
client (address behind trusted proxies, browser) that events record, and the redirect
to re-authentication the core's REAUTH outcome becomes."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from auth_utils import SessionUser, client_ip
from web import services

__all__ = ["client", "reauth_redirect", "request_ip", "session_user"]


def session_user(request: HttpRequest) -> SessionUser:
    return SessionUser(request.user.id, request.user.username)


def request_ip(request: HttpRequest) -> str:
    """The client's address, as auth_utils finds it behind trusted proxies."""
    return client_ip(request.META.get("REMOTE_ADDR"), request.headers.get("X-Forwarded-For"),
                     services.get().settings.trusted_proxies)


def client(request: HttpRequest) -> dict[str, str]:
    """`ip` and `user_agent`, as every flow's keyword arguments: an event about a change
    made here says where it came from."""
    return {"ip": request_ip(request), "user_agent": request.headers.get("User-Agent", "")}


def reauth_redirect(next_path: str) -> HttpResponse:
    """To the re-authentication page, coming back to `next_path` afterwards."""
    return HttpResponseRedirect(f"/account/confirm?{urlencode({'next': next_path})}", status=303)
