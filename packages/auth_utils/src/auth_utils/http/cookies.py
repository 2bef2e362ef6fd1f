"""The `auth_session` cookie as a value object; each app applies it with its own API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from auth_utils.config import Settings
from auth_utils.services.second_factor import TRUST_LIFETIME

__all__ = ["Cookie", "CookieSettings", "blank_session_cookie", "session_cookie",
           "trusted_browser_cookie", "trusted_browser_cookie_name"]

COOKIE_NAME = "auth_session"
SECURE_COOKIE_NAME = "__Secure-auth_session"


@dataclass(frozen=True, slots=True)
class CookieSettings:
    name: str = COOKIE_NAME
    secure: bool = False
    domain: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> CookieSettings:
        # `__Secure-` makes the browser refuse the cookie without `Secure` (ASVS V3.3.1);
        # `__Host-` would forbid the Domain attribute that sub-domain sharing needs.
        if settings.production:
            return cls(SECURE_COOKIE_NAME, True, settings.cookie_domain)
        return cls(COOKIE_NAME, False, settings.cookie_domain)


@dataclass(frozen=True, slots=True)
class Cookie:
    name: str
    value: str
    max_age: int
    expires: datetime
    secure: bool
    domain: str | None = None
    path: str = "/"
    http_only: bool = True
    same_site: str = "Lax"

    def serialize(self) -> str:
        """The `Set-Cookie` header value."""
        parts = [
            f"{self.name}={self.value}",
            f"Max-Age={self.max_age}",
            f"Expires={format_datetime(self.expires.astimezone(UTC), usegmt=True)}",
            f"Path={self.path}",
        ]
        if self.domain:
            parts.append(f"Domain={self.domain}")
        if self.secure:
            parts.append("Secure")
        if self.http_only:
            parts.append("HttpOnly")
        parts.append(f"SameSite={self.same_site}")
        return "; ".join(parts)


def session_cookie(
    token: str, expires_at: datetime, settings: CookieSettings, now: datetime
) -> Cookie:
    max_age = max(0, int((expires_at - now).total_seconds()))
    return Cookie(settings.name, token, max_age, expires_at, settings.secure, settings.domain)


def blank_session_cookie(settings: CookieSettings) -> Cookie:
    return Cookie(
        settings.name, "", 0, datetime(1970, 1, 1, tzinfo=UTC), settings.secure, settings.domain
    )


def trusted_browser_cookie_name(settings: CookieSettings) -> str:
    """"Trust this browser" lives on the landing host only (where log-in happens), so
    `__Host-` in production (Secure, no Domain, Path=/: no sub-domain can set or read it)."""
    return "__Host-auth_trusted" if settings.secure else "auth_trusted"


def trusted_browser_cookie(token: str, settings: CookieSettings, now: datetime) -> Cookie:
    return Cookie(trusted_browser_cookie_name(settings), token,
                  int(TRUST_LIFETIME.total_seconds()), now + TRUST_LIFETIME, settings.secure)
