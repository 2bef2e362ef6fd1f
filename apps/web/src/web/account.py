"""The account page: a user's sessions (revoke one, or all others), the apps on other
domains they allowed to use their log-in (revoke one), password change, and deleting the
account."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from auth_utils import Outcome, Result, blank_session_cookie
from auth_utils.http import status_of
from auth_utils.rules.agents import describe_user_agent
from auth_utils.services.activity import TITLES, session_ref
from web import services
from web.errors import apply_cookie, render_page
from web.requests import client, reauth_redirect, session_user

__all__ = ["account", "activity", "change_password", "delete_account", "email_add",
           "email_remove", "revoke_app", "revoke_others", "revoke_session"]

NOTICES = {
    "password": "Your password was changed. Every other session was logged out.",
    "revoked": "That session was logged out.",
    "others": "Every other session was logged out.",
    "confirmed": "Thanks: you can make changes for ten minutes.",
    "email": "We sent a link to the new address: follow it to verify the address.",
    "email-removed": "Your email address was removed.",
    "app-revoked": "That app can no longer use your log-in: it was logged out, and it "
                   "will ask for your permission again.",
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
    for s in sessions:  # its Log out button's accessible name: which row it ends
        s["logout_label"] = f"Log out {s['browser']}{' (this browser)' if s['current'] else ''}"
    # This browser first (what a person looks for), then the others as the store lists
    # them (sorted is stable).
    sessions.sort(key=lambda s: not s["current"])
    failed, changes = svc.accounts.unseen_notices(request.user.id, current) if not outcome \
        else (0, [])
    return render_page(request, "account.html", {
        "sessions": sessions,
        "failed_logins": failed,
        "changes": [{"title": TITLES.get(e.kind, e.kind), "at": e.at, "browser": e.browser,
                     "ip": e.ip or "unknown"} for e in changes],
        "email": svc.email.of(request.user.id) if svc.email.available else None,
        "mail": svc.email.available,
        "second_factor": svc.second_factor.enabled(request.user.id),
        "apps": svc.openid.consents(request.user.id),
        "notice": NOTICES.get(request.GET.get("done", "")),
        "site_words": " ".join(svc.settings.site_words),  # for the strength hint
    }, outcome, status)


@require_safe
def account(request: HttpRequest) -> HttpResponse:
    return _render(request)


@require_safe
def activity(request: HttpRequest) -> HttpResponse:
    """The user's own security activity, newest first, 20 a page."""
    try:
        page = max(1, min(int(request.GET.get("page", "1")), 10_000))
    except ValueError:
        page = 1
    svc = services.get()
    events = svc.activity.page(request.user.id, page, per_page=21)
    here = session_ref(request.auth_session.id)
    today = svc.sessions.clock().astimezone(UTC).date()
    # Grouped by day (UTC, as the times' titles say). A session's reference is a hash a
    # person cannot read: the page says only which events came from this browser.
    days: list[dict] = []
    for e in events[:20]:
        day = (e.at if e.at.tzinfo else e.at.replace(tzinfo=UTC)).astimezone(UTC).date()
        if not days or days[-1]["date"] != day:
            label = "Today" if day == today else "Yesterday" if day == today - timedelta(1) \
                else f"{day:%A} {day.day} {day:%B %Y}"
            days.append({"date": day, "label": label, "events": []})
        days[-1]["events"].append({
            "at": e.at, "title": TITLES.get(e.kind, e.kind), "ok": e.outcome == "success",
            "ip": e.ip or "unknown address", "browser": e.browser, "detail": e.detail,
            "this_browser": bool(e.session_ref) and e.session_ref == here})
    return render(request, "activity.html", {"days": days, "page": page,
                                              "more": len(events) > 20})


@require_POST
def revoke_session(request: HttpRequest, session_id: str) -> HttpResponse:
    """End one of the user's own sessions; another user's (or no) session is a 404."""
    svc = services.get()
    if not svc.accounts.revoke_session(session_user(request), session_id,
                                       current_session_id=request.auth_session.id,
                                       **client(request)):
        raise Http404("no such session")
    if session_id == request.auth_session.id:  # revoked the one in use: logged out here
        response = HttpResponseRedirect(settings.LANDING_URL, status=303)
        apply_cookie(response, blank_session_cookie(svc.cookie))
        return response
    return HttpResponseRedirect("/account?done=revoked", status=303)


@require_POST
def revoke_app(request: HttpRequest, client_id: str) -> HttpResponse:
    """Withdraw the user's permission for an app (an OpenID Connect client): its tokens
    stop working and it is told to log the user out. An id the user never allowed
    (another user's, a malformed one) is a 404 and changes nothing. No re-authentication:
    it only takes access away."""
    if not services.get().openid.withdraw(session_user(request), client_id,
                                          session_id=request.auth_session.id,
                                          **client(request)):
        raise Http404("no such app")
    return HttpResponseRedirect("/account?done=app-revoked", status=303)


@require_POST
def revoke_others(request: HttpRequest) -> HttpResponse:
    services.get().accounts.revoke_other_sessions(session_user(request),
                                                  keep=request.auth_session.id, **client(request))
    return HttpResponseRedirect("/account?done=others", status=303)


@require_POST
def change_password(request: HttpRequest) -> HttpResponse:
    svc = services.get()
    outcome = svc.passwords.change_password(
        session_user(request), request.POST.get("current_password", ""),
        request.POST.get("new_password", ""), request.POST.get("confirm_password", ""),
        keep_session_id=request.auth_session.id, session=request.auth_session,
        **client(request))
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account")
    if outcome.ok:
        return HttpResponseRedirect("/account?done=password", status=303)
    return _render(request, outcome, status_of(outcome))


@require_POST
def delete_account(request: HttpRequest) -> HttpResponse:
    """"Delete my account": after a recent re-authentication (else to /account/confirm,
    back to /account), a page that says what goes and asks for the username; then every
    session ends everywhere, everything of the user goes, and this browser is logged out
    (blank cookie, 303 to the landing page with a notice)."""
    svc = services.get()
    confirm = request.POST.get("confirm")
    outcome = svc.lifecycle.delete_own(request.auth_session, session_user(request),
                                       confirm or "", **client(request))
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account")
    if not outcome.ok:  # the confirmation page (first time), or a name that did not match
        return render_page(request, "delete_account.html", {
            "retire_days": svc.settings.security_events_retention_days,
        }, outcome if confirm is not None else None,
            200 if confirm is None else status_of(outcome))
    landing = settings.LANDING_URL.rstrip("/")
    response = HttpResponseRedirect(f"{landing}/?notice=deleted", status=303)
    apply_cookie(response, blank_session_cookie(svc.cookie))
    return response


@require_POST
def email_add(request: HttpRequest) -> HttpResponse:
    """Add or change the address (after a recent re-authentication): a link goes to it."""
    svc = services.get()
    outcome = svc.email.add(request.auth_session, session_user(request),
                            request.POST.get("email", ""), **client(request))
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account")
    if outcome.ok:
        return HttpResponseRedirect("/account?done=email", status=303)
    return _render(request, outcome, status_of(outcome))


@require_POST
def email_remove(request: HttpRequest) -> HttpResponse:
    svc = services.get()
    outcome = svc.email.remove(request.auth_session, session_user(request), **client(request))
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account")
    if outcome.ok:
        return HttpResponseRedirect("/account?done=email-removed", status=303)
    return _render(request, outcome, status_of(outcome))
