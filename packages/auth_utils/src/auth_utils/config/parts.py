"""The settings of the mail channel and of the outside OpenID Connect providers
(`OIDC_PROVIDERS`): the parts of `load_settings` with rules of their own."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from auth_utils.config.env import env_int, env_switch
from auth_utils.config.settings import DEFAULT_MAIL_FROM, DEFAULT_SMTP_URL, OidcProvider
from auth_utils.rules.errors import SettingsError
from auth_utils.rules.smtp import SmtpTarget, sender_address


def mail_sender_settings(env: Mapping[str, str]) -> dict[str, int]:
    """The sender's lease and backoff (MAIL_LEASE_SECONDS, MAIL_RETRY_FIRST_SECONDS,
    MAIL_RETRY_MAX_SECONDS), each a whole number of seconds >= 1, the first delay at most
    the longest one."""
    found = {"mail_lease_seconds": env_int(env, "MAIL_LEASE_SECONDS", 120),
             "mail_retry_first_seconds": env_int(env, "MAIL_RETRY_FIRST_SECONDS", 30),
             "mail_retry_max_seconds": env_int(env, "MAIL_RETRY_MAX_SECONDS", 3600)}
    if found["mail_retry_first_seconds"] > found["mail_retry_max_seconds"]:
        raise SettingsError(
            f"MAIL_RETRY_FIRST_SECONDS ({found['mail_retry_first_seconds']}) must not be "
            f"above MAIL_RETRY_MAX_SECONDS ({found['mail_retry_max_seconds']})")
    return found


def mail_settings(env: Mapping[str, str], production: bool) -> tuple[bool, str, str]:
    """(MAIL on, SMTP_URL, MAIL_FROM): in production both are required unless MAIL=off."""
    on = env_switch(env, "MAIL", True)
    smtp_url, mail_from = env.get("SMTP_URL", "").strip(), env.get("MAIL_FROM", "").strip()
    if on and production and not (smtp_url and mail_from):
        missing = " and ".join(n for n, v in (("SMTP_URL", smtp_url), ("MAIL_FROM", mail_from))
                               if not v)
        raise SettingsError(
            f"APP_ENV=production needs {missing} for the mail it sends (SMTP_URL="
            "smtps://user:password@smtp.example.com:465 or smtp://...:587 with STARTTLS; "
            "MAIL_FROM=\"Example <no-reply@example.com>\"), or MAIL=off to turn mail and "
            "the email features off")
    smtp_url, mail_from = smtp_url or DEFAULT_SMTP_URL, mail_from or DEFAULT_MAIL_FROM
    if on:
        try:
            SmtpTarget.parse(smtp_url)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        try:
            sender_address(mail_from)
        except ValueError as exc:
            raise SettingsError(f"MAIL_FROM: {exc}") from None
    return on, smtp_url, mail_from


_PROVIDER_ID = re.compile(r"[a-z0-9-]{1,32}")
_PROVIDER_KEYS = {"id", "name", "issuer", "client_id", "client_secret", "scope", "trust_mfa",
                  "mfa_acr", "timeout"}


def oidc_providers(env: Mapping[str, str], production: bool) -> tuple[OidcProvider, ...]:
    """`OIDC_PROVIDERS`: a JSON list of providers, or the path of a JSON file holding
    one (a secret mounted as a file keeps the client secrets out of the environment).
    Anything wrong is one SettingsError line naming the provider and the field."""
    raw = env.get("OIDC_PROVIDERS", "").strip()
    if not raw:
        return ()
    where = "OIDC_PROVIDERS"
    if not raw.startswith("["):
        path = Path(raw).expanduser()
        where = f"OIDC_PROVIDERS file {raw}"
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SettingsError(
                f"OIDC_PROVIDERS is neither a JSON list nor a readable file: {raw!r} "
                f"({exc.strerror or exc})") from None
    try:
        items = json.loads(raw)
    except ValueError as exc:
        raise SettingsError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise SettingsError(f"{where} must be a JSON list of providers "
                            '[{"id", "name", "issuer", "client_id", "client_secret"}]')
    providers: list[OidcProvider] = []
    for number, item in enumerate(items, 1):
        providers.append(_oidc_provider(item, f"{where}: provider {number}", production))
    ids = [p.id for p in providers]
    if len(set(ids)) != len(ids):
        raise SettingsError(f"{where}: two providers have the same id")
    return tuple(providers)


def _oidc_provider(item: object, where: str, production: bool) -> OidcProvider:
    if not isinstance(item, dict):
        raise SettingsError(f"{where} must be a JSON object")
    if unknown := sorted(set(item) - _PROVIDER_KEYS):
        raise SettingsError(f"{where}: unknown field {unknown[0]!r}")
    text = {}
    for key in ("id", "name", "issuer", "client_id", "client_secret"):
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            raise SettingsError(f"{where}: {key!r} is missing (a non-empty string)")
        text[key] = value.strip()
    where = f"{where} ({text['id']})"
    if not _PROVIDER_ID.fullmatch(text["id"]):
        raise SettingsError(f"{where}: 'id' must be 1-32 of a-z, 0-9 and -")
    issuer = urlsplit(text["issuer"])
    loopback = issuer.hostname in ("localhost", "127.0.0.1", "::1")
    # The issuer is where the keys that sign ID tokens come from: only over TLS, but
    # for a provider on this machine outside production (the tests' provider).
    if issuer.scheme != "https" and not (issuer.scheme == "http" and loopback
                                         and not production):
        raise SettingsError(f"{where}: 'issuer' must be an https URL, got {text['issuer']!r}")
    if issuer.query or issuer.fragment:
        raise SettingsError(f"{where}: 'issuer' must have no query or fragment")
    scope = item.get("scope", "openid email profile")
    if not isinstance(scope, str) or "openid" not in scope.split():
        raise SettingsError(f"{where}: 'scope' must be a string that includes openid")
    trust_mfa = item.get("trust_mfa", False)
    if not isinstance(trust_mfa, bool):
        raise SettingsError(f"{where}: 'trust_mfa' must be true or false")
    mfa_acr = item.get("mfa_acr", [])
    if not isinstance(mfa_acr, list) or not all(isinstance(v, str) for v in mfa_acr):
        raise SettingsError(f"{where}: 'mfa_acr' must be a list of strings")
    timeout = item.get("timeout", 5)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) \
            or not 0 < timeout <= 30:
        raise SettingsError(f"{where}: 'timeout' must be a number of seconds, 0 to 30")
    return OidcProvider(text["id"], text["name"], text["issuer"], text["client_id"],
                        text["client_secret"], scope, trust_mfa, tuple(mfa_acr),
                        float(timeout))

