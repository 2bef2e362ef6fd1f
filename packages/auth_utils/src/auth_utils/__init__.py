"""Framework-free authentication core shared by both apps (Lucia v3 semantics).

Storage is db_utils; nothing here imports Starlette or Django.
"""

from auth_utils.accounts import INCORRECT, Accounts, Outcome, Result
from auth_utils.client_ip import client_ip
from auth_utils.clock import Clock, utc_now
from auth_utils.config import Settings, SettingsError, load_settings, origin_of
from auth_utils.cookies import Cookie, CookieSettings, blank_session_cookie, session_cookie
from auth_utils.origins import content_security_policy, is_allowed_origin, safe_next_url
from auth_utils.passwords import PasswordCheck, hash_password, verify_dummy, verify_password
from auth_utils.session_cache import SessionCache
from auth_utils.sessions import (
    Session,
    SessionManager,
    SessionUser,
    SessionValidation,
    session_manager_for,
)
from auth_utils.throttling import Throttler
from auth_utils.tokens import generate_session_token, hash_token
from auth_utils.validation import normalize_username, validate_password, validate_username

__all__ = [
    "INCORRECT",
    "Accounts",
    "Clock",
    "Cookie",
    "CookieSettings",
    "Outcome",
    "PasswordCheck",
    "Result",
    "Session",
    "SessionCache",
    "SessionManager",
    "SessionUser",
    "SessionValidation",
    "Settings",
    "SettingsError",
    "Throttler",
    "blank_session_cookie",
    "client_ip",
    "content_security_policy",
    "generate_session_token",
    "hash_password",
    "hash_token",
    "is_allowed_origin",
    "load_settings",
    "normalize_username",
    "origin_of",
    "safe_next_url",
    "session_cookie",
    "session_manager_for",
    "utc_now",
    "validate_password",
    "validate_username",
    "verify_dummy",
    "verify_password",
]
