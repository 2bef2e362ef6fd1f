"""The account page: a user's sessions (revoke one, or all others) and password change."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from auth_utils import Outcome, Result, SessionUser, blank_session_cookie, client_ip
from auth_utils.http import status_of
from web import services
from web.agents import describe_user_agent
from web.errors import apply_cookie
from web.security import reauth_redirect

__all__ = ["account", "change_password", "revoke_others", "revoke_session"]

NOTICES = {
    "password": "Your password was changed. Every other session was logged out.",
    "revoked": "That session was logged out.",
    "others": "Every other session was logged out.",
    "confirmed": "Thanks: you can make changes for ten minutes.",
}


def _render(request: HttpRequest, outcome: Outcome | None = None, status: int = 200
            ) -> HttpResponse:
    svc = services.get()
    current = request.auth_session.id
    sessions = [
        {"id": s.id, "browser": describe_user_agent(s.user_agent), "ip": s.ip or "unknown",
         "created_at": s.created_at, "last_seen_at": s.last_seen_at, "current": s.id == current,
         "pending": s.pending}
        for s in svc.sessions.list_user_sessions(request.user.id)
    ]
    response = render(request, "account.html", {
        "sessions": sessions,
        "second_factor": svc.accounts.second_factors.enabled(request.user.id),
        "notice": NOTICES.get(request.GET.get("done", "")),
        "error": outcome.message if outcome else None,
        "error_field": outcome.field if outcome else None,
    }, status=status)
    if outcome and outcome.retry_after:
        response["Retry-After"] = str(outcome.retry_after)
    return response


@require_safe
def account(request: HttpRequest) -> HttpResponse:
    return _render(request)


@require_POST
def revoke_session(request: HttpRequest, session_id: str) -> HttpResponse:
    """End one of the user's own sessions; another user's (or no) session is a 404."""
    svc = services.get()
    own = {s.id for s in svc.sessions.list_user_sessions(request.user.id)}
    if session_id not in own:
        raise Http404("no such session")
    svc.sessions.invalidate_session(session_id)
    if session_id == request.auth_session.id:  # revoked the one in use: logged out here
        response = HttpResponseRedirect(settings.LANDING_URL, status=303)
        apply_cookie(response, blank_session_cookie(svc.cookie))
        return response
    return HttpResponseRedirect("/account?done=revoked", status=303)


@require_POST
def revoke_others(request: HttpRequest) -> HttpResponse:
    services.get().sessions.invalidate_user_sessions(request.user.id,
                                                     keep=request.auth_session.id)
    return HttpResponseRedirect("/account?done=others", status=303)


@require_POST
def change_password(request: HttpRequest) -> HttpResponse:
    svc = services.get()
    ip = client_ip(request.META.get("REMOTE_ADDR"), request.headers.get("X-Forwarded-For"),
                   svc.settings.trusted_proxies)
    outcome = svc.accounts.change_password(
        SessionUser(request.user.id, request.user.username),
        request.POST.get("current_password", ""),
        request.POST.get("new_password", ""), request.POST.get("confirm_password", ""),
        ip=ip, keep_session_id=request.auth_session.id, session=request.auth_session,
    )
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account")
    if outcome.ok:
        return HttpResponseRedirect("/account?done=password", status=303)
    return _render(request, outcome, status_of(outcome))
