"""The web app's pages: the protected home, log-out, and the health check."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from auth_utils import SessionUser, blank_session_cookie, http
from theme import assets
from web import services
from web.errors import apply_cookie
from web.requests import client, request_ip

__all__ = ["healthz", "home", "logout", "metrics", "robots", "static_file"]


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Login required: LoginRequiredMiddleware sends anonymous visitors to landing."""
    return render(request, "home.html")


@login_not_required
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    """Revoke the session server-side (so a replayed cookie fails in both apps)."""
    core = services.get()
    user = SessionUser(request.user.id, request.user.username) if request.auth_session else None
    core.accounts.log_out(request.auth_session.id if request.auth_session else None, user,
                          **client(request))
    response = HttpResponseRedirect(settings.LANDING_URL, status=303)
    apply_cookie(response, blank_session_cookie(core.cookie))
    return response


@csrf_exempt
@login_not_required
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text for allowed addresses (METRICS_ALLOWED_NETWORKS); others: 404."""
    found = http.metrics_for(services.get().settings, request_ip(request))
    if found is None:
        raise Http404("no such page")
    return HttpResponse(found[0], content_type=found[1])


@csrf_exempt  # changes nothing: any other method is a plain 405, as on landing
@login_not_required
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    if services.get().storage.ping():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable"}, status=503)


@csrf_exempt
@login_not_required
@require_safe
def static_file(request: HttpRequest, name: str = "") -> HttpResponse:
    """The theme's files and /favicon.ico, as theme.assets decides (hashed names cached
    for a year, gzip): the same rule as the landing app."""
    found = assets.answer(request.path, request.method or "GET",
                          request.headers.get("Accept-Encoding"),
                          request.headers.get("If-None-Match"))
    if found is None:
        raise Http404("no such file")
    return HttpResponse(found.body, status=found.status, headers=found.headers)


@csrf_exempt
@login_not_required
@require_safe
def robots(request: HttpRequest) -> HttpResponse:
    """The app is private: nothing in it is for search engines."""
    return HttpResponse(assets.robots_txt(private=True), content_type="text/plain; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=86400"})
