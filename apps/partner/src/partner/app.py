"""An example relying party: an app on another site whose users log in through the landing
app's OpenID Connect provider, and are logged out when their log-in there ends.

    GET  /                     the user's name, or a "Log in" link
    GET  /login                to the provider: code flow, PKCE S256, state, nonce (Authlib)
    GET  /callback             back: iss and state checked, the code exchanged, the ID token
                               checked (signature, iss, aud, exp, nonce), a local session
    POST /logout               ends the local session, then the provider's (RP-initiated)
    POST /backchannel-logout   the provider says a session ended: end ours for it

The local session is server-side (`Sessions`) so that the back channel can end it: the
cookie only names it. Everything protocol-level is Authlib's and joserfc's.
"""

from __future__ import annotations

import html
import secrets
import time
import warnings
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import authlib.deprecate  # noqa: F401 - its module-level "always" filter goes first
import httpx
from authlib.common.errors import AuthlibBaseError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

with warnings.catch_warnings():
    # Authlib prefers the `httpx2` fork and warns when it falls back to httpx, the HTTP
    # client this workspace uses (as auth_utils.services.oidc does).
    warnings.simplefilter("ignore")
    from authlib.integrations.starlette_client import OAuth

from partner.logout_token import InvalidKeyIdError, LogoutTokenError, validate_logout_token

__all__ = ["Config", "Login", "Sessions", "create_app"]

COOKIE = "partner_session"
SESSION_SECONDS = 8 * 3600  # the cookie's and the server-side record's lifetime
BODY_MAX = 16_384  # a Logout Token is well under 2 KB


@dataclass(frozen=True)
class Config:
    """From the environment (partner.__main__): where we are, who the provider is, and the
    credentials `auth-admin clients add` gave us."""

    partner_url: str   # PARTNER_URL, e.g. http://127.0.0.1:4322
    issuer: str        # LANDING_URL: the provider's issuer, exactly
    client_id: str
    client_secret: str
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))


@dataclass
class Login:
    """One local session: who, and which provider session (`sid`) it came from."""

    sub: str
    sid: str
    name: str
    id_token: str
    expires: float = field(default_factory=lambda: time.time() + SESSION_SECONDS)


class Sessions:
    """The partner's own sessions, in memory (one process; a real app keeps them in its
    database). A back-channel log-out removes them, so the next request is logged out."""

    def __init__(self) -> None:
        self.by_id: dict[str, Login] = {}
        self.seen_jti: dict[str, float] = {}  # Logout Tokens already acted on, until exp

    def start(self, login: Login) -> str:
        now = time.time()
        self.by_id = {k: v for k, v in self.by_id.items() if v.expires > now}
        session_id = secrets.token_urlsafe(32)
        self.by_id[session_id] = login
        return session_id

    def get(self, session_id: str) -> Login | None:
        login = self.by_id.get(session_id)
        return login if login is not None and login.expires > time.time() else None

    def end_for(self, *, sid: str | None, sub: str | None) -> int:
        """Spec 2.7: with `sid`, the sessions of that provider session (of that user, when
        `sub` is given too); with `sub` alone, all of that user's."""
        gone = [k for k, s in self.by_id.items()
                if (sid is None or s.sid == sid) and (sub is None or s.sub == sub)]
        for key in gone:
            del self.by_id[key]
        return len(gone)

    def first_use_of(self, jti: str, exp: float) -> bool:
        """False for a Logout Token already acted on: a replay within its lifetime must
        not end a session started since (the provider resends the same jti only when it
        missed our 200, and gets 200 again)."""
        now = time.time()
        self.seen_jti = {k: v for k, v in self.seen_jti.items() if v > now}
        if jti in self.seen_jti:
            return False
        self.seen_jti[jti] = exp
        return True


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport "
        f'content="width=device-width,initial-scale=1"><title>{html.escape(title)} · '
        f"Partner</title><main><h1>{html.escape(title)}</h1>{body}</main></html>",
        status_code=status, headers={"cache-control": "no-store"})


def _unreachable() -> HTMLResponse:
    return _page("The provider did not answer", "<p>Try again in a moment.</p>", 502)


def _refused(reason: str, status: int = 400) -> JSONResponse:
    """Spec 2.8: 400 for a token we do not accept (a reason helps the provider's log)."""
    return JSONResponse({"error": "invalid_request", "error_description": reason[:200]},
                        status, headers={"cache-control": "no-store"})


def create_app(config: Config) -> Starlette:
    """The partner app for `config`."""
    oauth = OAuth()
    provider = oauth.register(
        "landing", client_id=config.client_id, client_secret=config.client_secret,
        server_metadata_url=f"{config.issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile", "code_challenge_method": "S256"})
    sessions = Sessions()
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(config.partner_url))
    jwks_fetched_at = [0.0]

    def current(request: Request) -> Login | None:
        return sessions.get(request.session.get("login", ""))

    async def home(request: Request) -> Response:
        login = current(request)
        if login is None:
            return _page("Welcome", "<p>An example app on another site.</p>"
                         '<p><a href="/login">Log in with your account</a></p>')
        return _page(f"Hello, {login.name}!",
                     '<form method=post action="/logout"><button>Log out</button></form>')

    async def login(request: Request) -> Response:
        try:
            return await provider.authorize_redirect(request, f"{config.partner_url}/callback")
        except httpx.HTTPError:  # its discovery document could not be read
            return _unreachable()

    async def callback(request: Request) -> Response:
        # RFC 9207: the answer names its issuer; one from another provider (a mix-up
        # attack) is refused before its code goes anywhere.
        if request.query_params.get("iss") != config.issuer:
            return _page("Log-in failed", "<p>The answer is not from our provider.</p>", 400)
        try:
            token = await provider.authorize_access_token(request)  # state, PKCE, ID token
        except (AuthlibBaseError, JoseError) as exc:  # OAuthError, state, the ID token
            reason = getattr(exc, "error", None) or type(exc).__name__
            return _page("Log-in failed", f"<p>{html.escape(str(reason))}. "
                         '<a href="/login">Try again</a>.</p>', 400)
        except httpx.HTTPError:
            return _unreachable()
        claims = token.get("userinfo")  # the ID token's claims, checked by Authlib
        if not claims:
            return _page("Log-in failed", "<p>The provider sent no ID token.</p>", 400)
        request.session.clear()  # a new session id at each log-in (no fixation)
        request.session["login"] = sessions.start(Login(
            sub=claims["sub"], sid=claims.get("sid", ""), id_token=token["id_token"],
            name=claims.get("name") or claims.get("preferred_username") or claims["sub"]))
        return RedirectResponse("/", status_code=303)

    async def logout(request: Request) -> Response:
        # Same-origin POSTs only: another site must not log our users out.
        if request.headers.get("origin") != origin:
            return _page("Forbidden", "<p>Log out from this site's own button.</p>", 403)
        login = sessions.by_id.pop(request.session.get("login", ""), None)
        request.session.clear()
        if login is None:
            return RedirectResponse("/", status_code=303)
        # RP-initiated log-out: the provider ends its session (and tells its other apps).
        try:
            return await provider.logout_redirect(
                request, post_logout_redirect_uri=f"{config.partner_url}/",
                id_token_hint=login.id_token, client_id=config.client_id)
        except httpx.HTTPError:
            return _unreachable()

    async def keys(force: bool = False) -> KeySet:
        return KeySet.import_key_set(await provider.fetch_jwk_set(force=force))

    async def backchannel_logout(request: Request) -> Response:
        """OpenID Connect Back-Channel Logout 1.0, 2.5-2.8: 200 once done, 400 if the
        token is not good; never cached."""
        length = request.headers.get("content-length", "0")
        if not length.isdigit() or int(length) > BODY_MAX:
            return _refused("the body is missing its length or too long", 413)
        form = await request.form(max_files=0, max_fields=5)
        token = form.get("logout_token")
        if not isinstance(token, str) or not token:
            return _refused("no logout_token")
        try:
            metadata = await provider.load_server_metadata()
            options = {"issuer": config.issuer, "client_id": config.client_id,
                       "algorithms": metadata["id_token_signing_alg_values_supported"]}
            try:
                claims = validate_logout_token(token, await keys(), **options)
            except InvalidKeyIdError:
                # A key the provider rotated in since we fetched its JWKS; fetched again
                # at most once a minute, so forged kids cannot make us hammer it.
                if time.monotonic() - jwks_fetched_at[0] < 60:
                    raise LogoutTokenError("unknown signing key") from None
                jwks_fetched_at[0] = time.monotonic()
                claims = validate_logout_token(token, await keys(force=True), **options)
        except (LogoutTokenError, InvalidKeyIdError) as exc:
            return _refused(str(exc))
        except httpx.HTTPError:  # its keys could not be read: the provider tries again
            return _refused("the provider's keys could not be read", 503)
        if sessions.first_use_of(claims["jti"], claims["exp"]):
            sessions.end_for(sid=claims.get("sid"), sub=claims.get("sub"))
        return Response(status_code=200, headers={"cache-control": "no-store"})

    async def healthz(request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    async def security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        # Forms post here, and the log-out's redirect goes on to the provider: CSP's
        # form-action governs redirects after a form submission too.
        response.headers.setdefault("content-security-policy",
                                    "default-src 'none'; frame-ancestors 'none'; "
                                    f"base-uri 'none'; form-action 'self' {config.issuer}")
        response.headers.setdefault("x-content-type-options", "nosniff")
        response.headers.setdefault("referrer-policy", "same-origin")
        return response

    https = config.partner_url.startswith("https://")
    app = Starlette(routes=[
        Route("/", home), Route("/login", login), Route("/callback", callback),
        Route("/logout", logout, methods=["POST"]),
        Route("/backchannel-logout", backchannel_logout, methods=["POST"]),
        Route("/healthz", healthz),
    ], middleware=[
        # Our own cookie on our own host (no Domain): the provider's site never sees it.
        # Lax: the provider's redirect back to /callback is a top-level GET, which
        # carries it; a cross-site POST does not.
        Middleware(SessionMiddleware, secret_key=config.session_secret,
                   session_cookie=COOKIE, same_site="lax", https_only=https,
                   max_age=SESSION_SECONDS),
        Middleware(BaseHTTPMiddleware, dispatch=security_headers),
    ])

    app.state.sessions = sessions
    return app
