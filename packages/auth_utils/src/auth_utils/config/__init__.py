"""Settings from the environment, after `.env` and `.env.local` (real variables win):
`load_settings()` reads and checks them once, at start-up, and returns the `Settings`
value the rest of the core reads (`settings.py`); reading rules in `env.py`, the mail and
outside-provider parts in `parts.py`."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from auth_utils.config.env import (
    env_int,
    env_switch,
    environment,
    ipv6_prefix,
    load_dotenv_files,
    mfa_key,
    networks,
    require_secret,
)
from auth_utils.config.parts import mail_sender_settings, mail_settings, oidc_providers
from auth_utils.config.settings import LOOPBACK, OidcProvider, Settings, origin_of
from auth_utils.rules.errors import SettingsError

__all__ = [
    "OidcProvider",
    "Settings",
    "SettingsError",
    "load_dotenv_files",
    "load_settings",
    "origin_of",
    "require_secret",
]


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The auth core's settings (the apps' own secrets: `require_secret`)."""
    env = environment(environ)
    app_env = env.get("APP_ENV", "development").strip() or "development"
    if app_env not in ("development", "production", "test"):
        raise SettingsError(f"APP_ENV must be development, production or test, not {app_env!r}")
    landing_url = env.get("LANDING_URL", "").strip() or "http://localhost:4321"
    web_url = env.get("WEB_URL", "").strip() or "http://localhost:3000"
    for name, url in (("LANDING_URL", landing_url), ("WEB_URL", web_url)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"{name} must be an http(s) URL, got {url!r}")
    # Imported here: db_utils loads pymongo (a quarter of a second), which the commands
    # that only read the settings (`uv run dev`, `db`, `mail`) never need.
    from db_utils.connection import DEFAULT_MONGO_URI

    mongo_uri = env.get("MONGO_URI", "").strip() or DEFAULT_MONGO_URI
    if not mongo_uri.startswith(("mongodb://", "mongodb+srv://")):
        raise SettingsError("MONGO_URI must start with mongodb:// or mongodb+srv://")
    mail, smtp_url, mail_from = mail_settings(env, app_env == "production")
    return Settings(
        mongo_uri=mongo_uri,
        landing_url=landing_url.rstrip("/"),
        web_url=web_url.rstrip("/"),
        cookie_domain=env.get("COOKIE_DOMAIN", "").strip().lstrip(".") or None,
        app_env=app_env,
        login_max_failures_per_user=env_int(env, "LOGIN_MAX_FAILURES_PER_USER", 10),
        login_max_failures_per_ip=env_int(env, "LOGIN_MAX_FAILURES_PER_IP", 100),
        signup_max_per_ip=env_int(env, "SIGNUP_MAX_PER_IP", 20),
        trusted_proxies=networks(env.get("TRUSTED_PROXIES", "")),
        session_cache=env_switch(env, "SESSION_CACHE", True),
        session_cache_ttl=float(env_int(env, "SESSION_CACHE_TTL_SECONDS", 5)),
        session_cache_max_lag=env_int(env, "SESSION_CACHE_MAX_LAG_MS", 300) / 1000,
        throttle_ipv6_prefix=ipv6_prefix(env),
        login_max_failures_per_ip48=env_int(env, "LOGIN_MAX_FAILURES_PER_IP48", 0),  # 0: 10x
        hashing_max_per_client=env_int(env, "HASHING_MAX_PER_CLIENT", 2),
        mfa_encryption_key=mfa_key(env, production=app_env == "production"),
        mfa_max_failures_per_user=env_int(env, "MFA_MAX_FAILURES_PER_USER", 10),
        mfa_max_failures_per_day=env_int(env, "MFA_MAX_FAILURES_PER_DAY", 8),
        require_second_factor=env_switch(env, "REQUIRE_SECOND_FACTOR", False),
        security_events_retention_days=env_int(env, "SECURITY_EVENTS_RETENTION_DAYS", 180),
        session_max_lifetime_days=env_int(env, "SESSION_MAX_LIFETIME_DAYS", 90),
        metrics_allowed_networks=networks(env.get("METRICS_ALLOWED_NETWORKS", ""),
                                           "METRICS_ALLOWED_NETWORKS") or LOOPBACK,
        reset_max_per_ip=env_int(env, "RESET_MAX_PER_IP", 10),
        reset_max_per_account=env_int(env, "RESET_MAX_PER_ACCOUNT", 5),
        mail=mail,
        smtp_url=smtp_url,
        mail_from=mail_from,
        mail_sender=env_switch(env, "MAIL_SENDER", True),
        **mail_sender_settings(env),
        oidc_providers=oidc_providers(env, app_env == "production"),
    )

