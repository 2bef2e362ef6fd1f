"""Username and password rules, with messages fit to show a person."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from auth_utils.rules.password_policy import APP_WORDS, screen_password

__all__ = [
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "USERNAME_MAX",
    "USERNAME_MIN",
    "USERNAME_PATTERN",
    "normalize_username",
    "validate_password",
    "validate_username",
]

USERNAME_MIN, USERNAME_MAX = 3, 31
PASSWORD_MIN, PASSWORD_MAX = 8, 255
USERNAME_PATTERN = "[a-z0-9_-]+"  # also the HTML `pattern` (browsers anchor it)
_USERNAME_RE = re.compile(USERNAME_PATTERN)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def normalize_username(raw: str) -> str:
    """Trim and lower-case, as both sign-up and log-in must (the seeds did only one).

    Only ASCII is folded, so the username is checked on the characters typed: `str.lower`
    maps the Kelvin sign U+212A to `k` (and U+0130 to `i` + U+0307), which would let
    `\u212aate` log in as `kate`. Anything non-ASCII is left as is for
    `validate_username` to refuse. Likewise only ASCII whitespace (`string.whitespace`)
    is trimmed: `str.strip` would also drop no-break and other Unicode spaces, and the
    ASCII separators U+001C..U+001F; those are kept and refused rather than silently
    forgiven.
    """
    return raw.strip(string.whitespace).translate(_ASCII_LOWER)


def validate_username(username: str) -> str | None:
    """None when the (normalized) username is acceptable, else the reason."""
    if not username:
        return "Enter a username."
    if not USERNAME_MIN <= len(username) <= USERNAME_MAX:
        return f"Username must be {USERNAME_MIN} to {USERNAME_MAX} characters long."
    if not _USERNAME_RE.fullmatch(username):
        return "Username may only contain a-z, 0-9, underscores and hyphens."
    return None


def validate_password(password: str, *, username: str = "",
                      site_words: Iterable[str] = APP_WORDS) -> str | None:
    """None when acceptable, else the reason, naming the rule (never the password).

    Any characters are allowed except NUL and broken bytes, 8 to 255 of them; then the
    screening of `auth_utils.rules.password_policy`: not a commonly used password, not built
    from `username` or the site's words (`Settings.site_words`: the app's name and host
    names). Sign-up, password change, reset and the CLI all call this one function."""
    if not password:
        return "Enter a password."
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return f"Password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long."
    if "\x00" in password:
        return "Password must not contain NUL characters."
    if "\ufffd" in password:
        return "Password contains bytes that are not valid UTF-8."
    refusal = screen_password(password, username=username, site=site_words)
    return refusal.message if refusal else None
