"""A third app in under 40 lines: plain WSGI, the standard library and auth_utils."""

from http.cookies import CookieError, SimpleCookie

from auth_utils import build_core, load_settings
from auth_utils.http import cookie_after, database_unavailable, security_headers

core = build_core(load_settings())
core.prepare()


def application(environ, start_response):
    try:
        jar = SimpleCookie(environ.get("HTTP_COOKIE", ""))
        token = jar[core.cookie.name].value if core.cookie.name in jar else None
    except CookieError:
        token = None
    headers = [*security_headers(core.settings).items(), ("content-type", "text/plain"),
               ("cache-control", "no-store")]
    try:
        validation = core.sessions.validate_session_token(token) if token else None
    except core.storage.Unavailable:
        page = database_unavailable()
        start_response(f"{page.status} Service Unavailable", headers)
        return [page.message.encode()]
    cookie = cookie_after(validation, token, core.cookie, core.sessions.clock())
    if cookie:  # renewed: send it again; invalid: blank it
        headers.append(("set-cookie", cookie.serialize()))
    if validation is None or not validation.valid:
        start_response("401 Unauthorized", headers)
        return [b"Not logged in.\n"]
    start_response("200 OK", headers)
    return [f"Hello, {validation.user.username}!\n".encode()]
