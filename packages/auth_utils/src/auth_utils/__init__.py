"""Framework-free authentication core shared by both apps (Lucia v3 semantics).

An app builds one `AuthCore` per process (`build_core(load_settings())`), calls its
`prepare()` at start-up, validates each request's cookie with `core.sessions`, runs
the account flows (`core.accounts`, `core.second_factor`, `core.passkeys`) and applies
the decisions of `auth_utils.http` (cookie to send, origin check, body limit, status
codes) with its own framework's API. Storage is behind `auth_utils.storage`;
`auth_utils.storage.mongo` wires MongoDB. Nothing here imports a web framework. See
packages/auth_utils/README.md.
"""

from auth_utils.config import Settings, SettingsError, load_settings, origin_of
from auth_utils.core import AuthCore, build_core
from auth_utils.flows import AccountFlows, PasskeyFlows, SecondFactorFlows
from auth_utils.flows.outcomes import INCORRECT, Outcome, Result
from auth_utils.http.cookies import Cookie, CookieSettings, blank_session_cookie, session_cookie
from auth_utils.http.origins import content_security_policy, is_allowed_origin, safe_next_url
from auth_utils.rules.client_ip import client_ip, throttle_bucket
from auth_utils.rules.clock import Clock, utc_now
from auth_utils.rules.passwords import hash_password
from auth_utils.rules.validation import normalize_username, validate_password, validate_username
from auth_utils.services.session_cache import CachedSessionStore
from auth_utils.services.sessions import (
    Session,
    SessionManager,
    SessionPolicy,
    SessionUser,
    SessionValidation,
    Verdict,
    judge,
)
from auth_utils.storage import SessionStore, Storage

__all__ = [
    "INCORRECT",
    "AccountFlows",
    "AuthCore",
    "CachedSessionStore",
    "Clock",
    "Cookie",
    "CookieSettings",
    "Outcome",
    "PasskeyFlows",
    "Result",
    "SecondFactorFlows",
    "Session",
    "SessionManager",
    "SessionPolicy",
    "SessionStore",
    "SessionUser",
    "SessionValidation",
    "Settings",
    "SettingsError",
    "Storage",
    "Verdict",
    "blank_session_cookie",
    "build_core",
    "client_ip",
    "content_security_policy",
    "hash_password",
    "is_allowed_origin",
    "judge",
    "load_settings",
    "normalize_username",
    "origin_of",
    "safe_next_url",
    "session_cookie",
    "throttle_bucket",
    "utc_now",
    "validate_password",
    "validate_username",
]
