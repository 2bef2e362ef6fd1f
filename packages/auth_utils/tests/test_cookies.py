import secrets
from datetime import UTC, datetime, timedelta

from auth_utils import CookieSettings, blank_session_cookie, load_settings, session_cookie


def test_session_cookie_attributes():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cookie = session_cookie("tok", now + timedelta(days=30), CookieSettings(), now)
    header = cookie.serialize()
    assert header.startswith("auth_session=tok; ")
    for part in ("Max-Age=2592000", "Expires=Sat, 31 Jan 2026 00:00:00 GMT", "Path=/",
                 "HttpOnly", "SameSite=Lax"):
        assert part in header.split("; ")
    assert "Secure" not in header and "Domain" not in header


def test_blank_cookie():
    header = blank_session_cookie(CookieSettings()).serialize()
    assert header.startswith("auth_session=; ") and "Max-Age=0" in header


def test_production_cookie_is_secure_prefixed_with_domain():
    settings = load_settings({"APP_ENV": "production", "MAIL": "off",
                              "MFA_ENCRYPTION_KEY": secrets.token_urlsafe(32),
                              "COOKIE_DOMAIN": ".example.com"})
    cs = CookieSettings.from_settings(settings)
    assert cs == CookieSettings("__Secure-auth_session", True, "example.com")
    header = blank_session_cookie(cs).serialize()
    assert "; Secure" in header and "Domain=example.com" in header
