"""Django glue applying auth_utils' decisions (auth_utils.http) with Django's API."""

import time
from collections.abc import Callable

from django.contrib.auth.middleware import AuthenticationMiddleware, LoginRequiredMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from auth_utils import http
from web import services
from web.errors import apply_cookie, render_error
from web.users import AnonymousUser, AuthenticatedUser

__all__ = ["AuthGlueMiddleware", "LoginRequired", "SessionAuthMiddleware"]


class SessionAuthMiddleware(AuthenticationMiddleware):
    """`request.user` from the shared session cookie (and only the cookie)."""

    def process_request(self, request: HttpRequest) -> HttpResponse | None:
        core = services.get()
        token = request.COOKIES.get(core.cookie.name)
        request.user, request.auth_session, request.auth_validation = AnonymousUser(), None, None
        if token is None or http.skips_authentication(request.path):
            return None
        try:
            validation = core.sessions.validate_session_token(token)
        except core.storage.Unavailable:
            return render_error(request, http.database_unavailable())
        request.auth_validation = validation
        if validation.valid:
            request.user = AuthenticatedUser(validation.user)
            request.auth_session = validation.session
        to = http.enrolment_redirect(validation, request.path)  # REQUIRE_SECOND_FACTOR
        return HttpResponseRedirect(to) if to else None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        validation, core = getattr(request, "auth_validation", None), services.get()
        # Most answers have no cookie to send: then neither the cookie nor the clock is read.
        if http.cookie_due(validation) and core.cookie.name not in response.cookies and (
                cookie := http.cookie_after(validation, request.COOKIES.get(core.cookie.name),
                                            core.cookie, core.sessions.clock())):
            apply_cookie(response, cookie)
        return response


class LoginRequired(LoginRequiredMiddleware):
    """A visitor with a pending log-in goes to the code page, not the password form."""

    def handle_no_permission(self, request: HttpRequest, view_func: Callable) -> HttpResponse:
        response = super().handle_no_permission(request, view_func)
        response["Location"] = http.login_location(
            getattr(request, "auth_validation", None), services.get().settings,
            response["Location"], request.build_absolute_uri())
        return response


class AuthGlueMiddleware:
    """Refusals before the view, the contract's headers after, 503 for an outage."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.headers = http.security_headers(services.get().settings)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        refusal = http.body_refusal(request.META.get("CONTENT_LENGTH")) or http.origin_refusal(
            request.method or "GET", request.headers.get("Origin"),
            request.headers.get("Referer"), services.get().settings.allowed_origins)
        response = render_error(request, refusal) if refusal else self.get_response(request)
        http.finish_headers(response.headers, self.headers, sets_cookie=bool(response.cookies),
                            logged_in=getattr(request, "user", AnonymousUser()).is_authenticated)
        match = getattr(request, "resolver_match", None)
        http.observe("web", match.url_name if match else "unmatched", request.method or "GET",
                     time.perf_counter() - started)
        return response

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        down = isinstance(exc, services.get().storage.Unavailable)  # else Django's 500 page
        return render_error(request, http.database_unavailable(exc, "web")) if down else None
