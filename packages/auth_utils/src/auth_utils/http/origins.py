"""Where requests may come from and where redirects may go."""

from __future__ import annotations

from collections.abc import Collection
from urllib.parse import urlsplit

from auth_utils.config import origin_of

__all__ = ["content_security_policy", "is_allowed_origin", "safe_next_url"]


def is_allowed_origin(
    origin: str | None, referer: str | None, allowed: Collection[str]
) -> bool:
    """A state-changing request must name one of our origins in `Origin` (or `Referer`).

    A request that carries neither is refused: browsers always send `Origin` on a POST.
    """
    if origin:
        return origin != "null" and _safe_origin(origin) in allowed
    if referer:
        return _safe_origin(referer) in allowed
    return False


def _safe_origin(url: str) -> str | None:
    try:
        return origin_of(url)
    except ValueError:  # e.g. a port out of range
        return None


def safe_next_url(next_url: str | None, allowed: Collection[str], default: str) -> str:
    """`next` if it is on one of our origins; a relative path resolved against `default`
    (WEB_URL: where a logged-in user goes, whichever app the form was on); else
    `default`."""
    if not next_url or len(next_url) > 2048:
        return default
    if any(c in next_url for c in "\\\x00\r\n\t") or any(ord(c) < 0x20 for c in next_url):
        return default
    if next_url.startswith("/") and not next_url.startswith("//"):
        return origin_of(default) + next_url
    try:
        parts = urlsplit(next_url)
        if parts.scheme in ("http", "https") and parts.hostname and not parts.username \
                and origin_of(next_url) in allowed:
            return next_url
    except ValueError:
        pass
    return default


def content_security_policy(allowed: Collection[str]) -> str:
    """The pages' CSP, the same in both apps: nothing but our own stylesheet and script
    module (and requests to our own origin), no framing, and forms that post (and
    redirect) only to our two origins."""
    forms = " ".join(sorted(allowed))
    return (
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
        f"img-src 'self'; form-action 'self' {forms}; frame-ancestors 'none'; base-uri 'none'"
    )
