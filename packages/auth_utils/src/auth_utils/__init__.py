"""Framework-free authentication core shared by both apps (Lucia v3 semantics).

An app builds one `AuthCore` per process (`build_core(load_settings())`), calls its
`prepare()` at start-up, validates each request's cookie with `core.sessions`, runs
the account flows (`core.accounts`, `core.second_factor`, `core.passkeys`) and applies
the decisions of `auth_utils.http` (cookie to send, origin check, body limit, status
codes) with its own framework's API. Storage is behind `auth_utils.storage`;
`auth_utils.storage.mongo` wires MongoDB. Nothing here imports a web framework. See
packages/auth_utils/README.md.
"""

import importlib
from typing import Any

# The public names and the module each comes from, imported on first use (PEP 562): a
# command that needs only the settings (`uv run dev`, `db`, `mail`) does not pay the
# second it takes to import the whole core (pymongo, webauthn, authlib, ...).
_EXPORTS = {
    "config": ("Settings", "SettingsError", "load_settings", "origin_of"),
    "core": ("AuthCore", "build_core"),
    "flows": ("AccountFlows", "PasskeyFlows", "SecondFactorFlows"),
    "flows.outcomes": ("INCORRECT", "Outcome", "Result"),
    "http.cookies": ("Cookie", "CookieSettings", "blank_session_cookie", "session_cookie"),
    "http.origins": ("content_security_policy", "is_allowed_origin", "safe_next_url"),
    "rules.client_ip": ("client_ip", "throttle_bucket"),
    "rules.clock": ("Clock", "utc_now"),
    "rules.passwords": ("hash_password",),
    "rules.validation": ("normalize_username", "validate_password", "validate_username"),
    "services.session_cache": ("CachedSessionStore",),
    "services.session_policy": ("SessionPolicy", "Verdict", "judge"),
    "services.sessions": ("Session", "SessionManager", "SessionUser", "SessionValidation"),
    "storage": ("SessionStore", "Storage"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = list(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'auth_utils' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"auth_utils.{module}"), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
