"""The account's security section: the second factor (enrol, turn off, recovery codes)
and re-authentication ("sudo mode") for the sensitive changes. Decisions are the core's
(`Accounts`, `SecondFactors`); this module only renders and redirects."""

from __future__ import annotations

import re

import segno
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST, require_safe

from auth_utils import Outcome, Result, session_cookie
from auth_utils.http import status_of
from auth_utils.services.passkeys import PasskeyError, passkey_request
from web import services
from web.errors import apply_cookie, render_page
from web.requests import client, reauth_redirect, session_user

__all__ = ["confirm_identity", "confirm_with_passkey", "confirm_with_passkey_options",
           "identity_unlink", "passkey_add", "passkey_options", "passkey_remove",
           "passkey_rename", "recovery_download", "recovery_regenerate", "security", "totp_cancel",
           "totp_confirm", "totp_disable", "totp_start", "trusted_forget"]

NOTICES = {
    "off": "The second factor is off. Every other session was logged out.",
    "confirmed": "Thanks: you can make changes for ten minutes.",
    "passkey": "Your passkey was added.", "passkey-removed": "The passkey was removed.",
    "passkey-renamed": "The passkey was renamed.",
    "forgotten": "That browser will ask for a code again.",
    "forgotten-all": "Every browser will ask for a code again.",
    "required": "This site asks every account for a second factor: set one up to go on.",
    "unlinked": "That log-in is no longer linked.",
    "cancelled": "The set-up was cancelled: the second factor stays off.",
    "codes-saved": "The second factor is on, and your recovery codes are saved.",
}
REAUTH_JSON = {"error": "Enter your password again first.",
               "redirect": "/account/confirm?next=%2Faccount%2Fsecurity"}
_RECOVERY = re.compile(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){3}")


def _qr_svg(uri: str) -> str:
    # Rendered here as inline SVG: no external request, nothing the CSP must allow.
    return segno.make(uri, error="m").svg_inline(scale=5, light="#fff", title="QR code")


def _page(request: HttpRequest, outcome: Outcome | None = None, status: int = 200
          ) -> HttpResponse:
    core = services.get()
    factor = core.second_factor.status(session_user(request))
    return render_page(request, "security.html", {
        "enabled": factor.enabled, "recovery_left": factor.recovery_left,
        "passkeys": core.passkeys.for_user(request.user.id), "enrolment": factor.enrolment,
        "trusted": factor.trusted,
        "qr": _qr_svg(factor.enrolment.uri) if factor.enrolment else "",
        "notice": NOTICES.get(request.GET.get("done", "")),
        # Outside log-ins (OIDC_PROVIDERS): linked ones, and a Link button per provider,
        # which posts to the landing app (it holds the callback).
        "identities": [(i, core.federation.provider_name(i.provider))
                       for i in core.identities.linked(request.user.id)],
        "oidc_providers": core.federation.providers, "landing_url": core.settings.landing_url,
    }, outcome, status)


def _codes_page(request: HttpRequest, codes: list[str], *, turned_on: bool = False
                ) -> HttpResponse:
    return render(request, "recovery_codes.html", {"codes": codes, "turned_on": turned_on})


@require_safe
def security(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
def totp_start(request: HttpRequest) -> HttpResponse:
    outcome = services.get().second_factor.start(request.auth_session, session_user(request),
                                                 **client(request))
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account/security")
    return HttpResponseRedirect("/account/security#enrol", status=303)


@require_POST
def totp_cancel(request: HttpRequest) -> HttpResponse:
    """Stop an enrolment half-way (the key shown is forgotten)."""
    outcome = services.get().second_factor.cancel(session_user(request))
    if not outcome.ok:
        return _page(request, outcome, status_of(outcome))
    return HttpResponseRedirect("/account/security?done=cancelled", status=303)


@require_POST
def totp_confirm(request: HttpRequest) -> HttpResponse:
    outcome, codes = services.get().second_factor.confirm(
        request.auth_session, session_user(request), request.POST.get("code", "")[:32],
        **client(request))
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account/security")
    if not outcome.ok:
        return _page(request, outcome, status_of(outcome))
    response = _codes_page(request, codes, turned_on=True)  # with the new session's cookie
    core = services.get()
    apply_cookie(response, session_cookie(outcome.token, outcome.session.expires_at,
                                          core.cookie, core.sessions.clock()))
    return response


@require_POST
def totp_disable(request: HttpRequest) -> HttpResponse:
    outcome = services.get().second_factor.disable(request.auth_session,
                                                   session_user(request), **client(request))
    return _answer(request, outcome, "off")


@require_POST
def recovery_regenerate(request: HttpRequest) -> HttpResponse:
    outcome, codes = services.get().second_factor.regenerate_recovery_codes(
        request.auth_session, session_user(request), **client(request))
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account/security")
    if not outcome.ok:
        return _page(request, outcome, status_of(outcome))
    return _codes_page(request, codes)


@require_POST
def trusted_forget(request: HttpRequest, browser_id: str | None = None) -> HttpResponse:
    """Forget one trusted browser (by id) or, without an id, all of them."""
    outcome = services.get().second_factor.forget_browser(
        request.auth_session, session_user(request), browser_id, **client(request))
    if not outcome.ok:
        return _page(request, outcome, status_of(outcome))
    done = "forgotten" if browser_id else "forgotten-all"
    return HttpResponseRedirect(f"/account/security?done={done}", status=303)


@require_POST
def recovery_download(request: HttpRequest) -> HttpResponse:
    """The codes just shown, back as a text file (nothing is looked up: they are only
    on the page the user has)."""
    codes = [c for c in request.POST.getlist("code")[:10] if _RECOVERY.fullmatch(c)]
    body = "Monorepo Auth recovery codes for {}\nEach works once.\n\n{}\n".format(
        request.user.username, "\n".join(codes))
    response = HttpResponse(body, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="recovery-codes.txt"'
    return response


@require_POST
def passkey_options(request: HttpRequest) -> HttpResponse:
    """Registration options (a stored, single-use challenge), after a recent
    re-authentication (the core's rule)."""
    outcome, options = services.get().passkeys.registration_options(request.auth_session,
                                                                    session_user(request))
    if outcome.result is Result.REAUTH:
        return JsonResponse(REAUTH_JSON, status=403)
    return HttpResponse(options, content_type="application/json")


@require_POST
def passkey_add(request: HttpRequest) -> HttpResponse:
    try:
        credential, fields = passkey_request(request.body)
    except PasskeyError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    outcome = services.get().passkeys.add(request.auth_session, session_user(request),
                                          credential, fields.get("name", ""), **client(request))
    if outcome.result is Result.REAUTH:
        return JsonResponse(REAUTH_JSON, status=403)
    if not outcome.ok:
        return JsonResponse({"error": outcome.message}, status=status_of(outcome))
    return JsonResponse({"redirect": "/account/security?done=passkey"})


@require_POST
def passkey_rename(request: HttpRequest, credential_id: str) -> HttpResponse:
    outcome = services.get().passkeys.rename(request.auth_session, session_user(request),
                                             credential_id, request.POST.get("name", ""),
                                             **client(request))
    return _answer(request, outcome, "passkey-renamed")


@require_POST
def passkey_remove(request: HttpRequest, credential_id: str) -> HttpResponse:
    outcome = services.get().passkeys.remove(request.auth_session, session_user(request),
                                             credential_id, **client(request))
    return _answer(request, outcome, "passkey-removed")


@require_POST
def identity_unlink(request: HttpRequest, identity_id: str) -> HttpResponse:
    """Unlink an outside log-in (the core refuses the account's only way in)."""
    outcome = services.get().identities.unlink(request.auth_session, session_user(request),
                                               identity_id, **client(request))
    return _answer(request, outcome, "unlinked")


def _answer(request: HttpRequest, outcome: Outcome, done: str) -> HttpResponse:
    """A change's answer: re-authenticate first (the core asked), the page with what was
    wrong, or back to the page saying what was `done`."""
    if outcome.result is Result.REAUTH:
        return reauth_redirect("/account/security")
    if not outcome.ok:
        return _page(request, outcome, status_of(outcome))
    return HttpResponseRedirect(f"/account/security?done={done}", status=303)


def _safe_next(value: str | None) -> str:
    return value if value and re.fullmatch(r"/account(/[a-z0-9/_-]*)?", value) else "/account"


def confirm_identity(request: HttpRequest) -> HttpResponse:
    """Re-authentication: the password (and a code, when the second factor is on)."""
    core = services.get()
    next_path = _safe_next(request.POST.get("next") or request.GET.get("next"))
    context = {"next": next_path, "needs_code": core.second_factor.enabled(request.user.id),
               "has_passkeys": bool(core.passkeys.for_user(request.user.id))}
    if request.method != "POST":
        return render(request, "confirm.html", context)
    outcome = core.passwords.reauthenticate(
        request.auth_session, session_user(request), request.POST.get("password", ""),
        request.POST.get("code", ""), **client(request))
    if outcome.ok:
        return HttpResponseRedirect(f"{next_path}?done=confirmed", status=303)
    return render_page(request, "confirm.html", context, outcome, status_of(outcome))


@require_POST
def confirm_with_passkey_options(request: HttpRequest) -> HttpResponse:
    """A fresh single-use challenge for "Confirm it is you" with a passkey."""
    return HttpResponse(services.get().passkeys.login_options(),
                        content_type="application/json")


@require_POST
def confirm_with_passkey(request: HttpRequest) -> HttpResponse:
    """Re-authentication with one of the user's own passkeys (JSON for passkeys.js)."""
    try:
        credential, fields = passkey_request(request.body)
    except PasskeyError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    outcome = services.get().passkeys.reauthenticate(
        request.auth_session, session_user(request), credential, **client(request))
    if not outcome.ok:
        return JsonResponse({"error": outcome.message}, status=status_of(outcome))
    next_path = _safe_next(fields.get("next"))
    return JsonResponse({"redirect": f"{next_path}?done=confirmed"})
