"""Settings from the environment, after `.env` and `.env.local` (real variables win)."""

from __future__ import annotations

import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from auth_utils.errors import SettingsError
from auth_utils.password_policy import site_words

__all__ = [
    "OidcProvider",
    "Settings",
    "SettingsError",
    "load_dotenv_files",
    "load_settings",
    "origin_of",
    "require_secret",
]

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
DEFAULT_SMTP_URL = "smtp://127.0.0.1:8025"  # the development server: `uv run mail`, `uv run dev`
DEFAULT_MAIL_FROM = "Monorepo Auth <no-reply@localhost>"
DEV_SECRET_MARKER = "dev-insecure"  # noqa: S105 - a marker we refuse, not a secret


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, lower-cased, default ports dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class OidcProvider:
    """One outside OpenID Connect provider (`OIDC_PROVIDERS`): found by its issuer's
    discovery document; our client there is `client_id` with `client_secret`."""

    id: str  # in our URLs and the linked identities: [a-z0-9-], 1-32
    name: str  # on the button: "Log in with <name>"
    issuer: str  # exactly as the provider's discovery document and ID tokens say it
    client_id: str
    client_secret: str = field(repr=False)  # never in a log line or a traceback's repr
    scope: str = "openid email profile"
    # Skip our second factor when the provider's ID token says the log-in was
    # multi-factor (`amr` has "mfa" or `acr` is in `mfa_acr`): off unless the operator
    # says so per provider, since it hands our second factor to their policy.
    trust_mfa: bool = False
    mfa_acr: tuple[str, ...] = ()
    timeout: float = 5.0  # seconds, every call to the provider (a slow one never hangs us)


@dataclass(frozen=True)
class Settings:
    mongo_uri: str
    landing_url: str
    web_url: str
    cookie_domain: str | None
    app_env: str
    login_max_failures_per_user: int
    login_max_failures_per_ip: int
    signup_max_per_ip: int
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = field(
        default=()
    )
    session_cache: bool = True
    session_cache_ttl: float = 5.0
    # How far behind the deletions a process may be and still serve from its cache; what
    # every revocation waits before it answers.
    session_cache_max_lag: float = 0.3
    throttle_ipv6_prefix: int = 64  # IPv6 clients are counted per network of this size
    # Log-ins per IPv6 /48 (one customer's allocation: 65,536 /64s) per window, beside the
    # per-/64 limit; 0: ten times login_max_failures_per_ip (`login_limit_per_ip48`).
    login_max_failures_per_ip48: int = 0
    hashing_max_per_client: int = 2  # password checks one IP bucket may have in flight
    # Seals TOTP secrets at rest (a dev value in .env; production refuses it).
    mfa_encryption_key: str = f"{DEV_SECRET_MARKER}-mfa-key-only-for-local-development"
    mfa_max_failures_per_user: int = 10  # wrong second-factor codes per user per window
    mfa_max_failures_per_day: int = 8  # and per user per day: < 1 % a year to guess one
    require_second_factor: bool = False  # REQUIRE_SECOND_FACTOR=on: enrol before anything
    security_events_retention_days: int = 180  # how long the activity log keeps events
    # However often it is used, a session ends this many days after its log-in (ASVS 5.0
    # 7.3.2); the 30-day renewal never passes it. 90: an active user enters the password
    # about once a quarter, and a stolen cookie kept alive by its thief dies by then.
    session_max_lifetime_days: int = 90
    metrics_allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
        LOOPBACK)
    # Mail (auth_utils.mail): where it goes and who it is from; MAIL=off turns it off.
    mail: bool = True
    smtp_url: str = field(default=DEFAULT_SMTP_URL, repr=False)  # may carry a password
    mail_from: str = DEFAULT_MAIL_FROM
    # The mail sender of each app process (auth_utils.mail.MailSender): how long it holds a
    # claimed message (a killed sender's message goes out again once this has passed) and
    # its backoff after a failed attempt (doubling from the first delay up to the most).
    # MAIL_SENDER=off: this process queues mail but delivers none (another process of the
    # deployment does; every sender shares the one outbox under leases).
    mail_sender: bool = True
    mail_lease_seconds: int = 120
    mail_retry_first_seconds: int = 30
    mail_retry_max_seconds: int = 3600
    # Password-reset requests per client IP (or /64) and per username or address asked
    # for, and verification mails per account, per hour (`reset_window_seconds`).
    reset_max_per_ip: int = 10
    reset_max_per_account: int = 5
    login_window_seconds: int = 15 * 60
    signup_window_seconds: int = 60 * 60
    reset_window_seconds: int = 60 * 60
    # Outside OpenID Connect providers to log in with (none: no buttons, no routes).
    oidc_providers: tuple[OidcProvider, ...] = ()

    @property
    def production(self) -> bool:
        return self.app_env == "production"

    @property
    def login_limit_per_ip48(self) -> int:
        return self.login_max_failures_per_ip48 or 10 * self.login_max_failures_per_ip

    # Computed once per Settings (they are frozen): the glue asks for them on every
    # request, and parsing two URLs each time was a measurable share of a small page.
    @cached_property
    def landing_origin(self) -> str:
        return origin_of(self.landing_url)

    @cached_property
    def web_origin(self) -> str:
        return origin_of(self.web_url)

    @cached_property
    def allowed_origins(self) -> frozenset[str]:
        return frozenset({self.landing_origin, self.web_origin})

    @property
    def site_words(self) -> tuple[str, ...]:
        """What a password must not be built from, besides the username: the app's name
        and the labels of the site's host names (auth_utils.password_policy)."""
        return site_words((self.landing_url, self.web_url), (self.cookie_domain,))


def _find_upwards(name: str, start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def load_dotenv_files(start: Path | None = None) -> dict[str, str]:
    """Values of `.env` overlaid by `.env.local`, found from `start` (cwd) upwards."""
    start = start or Path.cwd()
    values: dict[str, str] = {}
    for name in (".env", ".env.local"):
        path = _find_upwards(name, start)
        if path:
            values.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    return values


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise SettingsError(f"{name} must be on or off, got {raw!r}")


def _prefix(env: Mapping[str, str]) -> int:
    value = _int(env, "THROTTLE_IPV6_PREFIX", 64)
    if value > 128:
        raise SettingsError(f"THROTTLE_IPV6_PREFIX must be 1 to 128, got {value}")
    return value


def _networks(raw: str, name: str = "TRUSTED_PROXIES"
              ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for item in filter(None, (p.strip() for p in raw.split(","))):
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise SettingsError(f"{name}: {item!r} is not an address or network") from None
    return tuple(nets)


def _environment(environ: Mapping[str, str] | None) -> dict[str, str]:
    return {**load_dotenv_files(), **os.environ} if environ is None else dict(environ)


def require_secret(name: str, *, production: bool,
                   environ: Mapping[str, str] | None = None) -> str:
    """A secret an app needs (e.g. DJANGO_SECRET_KEY); in production a missing or
    development value is refused, so a deployment never runs on the committed one."""
    value = _environment(environ).get(name, "").strip()
    if production and (not value or DEV_SECRET_MARKER in value):
        raise SettingsError(
            f"APP_ENV=production needs {name} set to a long random value "
            "(e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    return value or f"{DEV_SECRET_MARKER}-only-for-local-development"


# MFA_ENCRYPTION_KEY in production: 256 bits, written as text. 43 characters is 32 random
# bytes in url-safe base64 (`secrets.token_urlsafe(32)`); hex needs 64, `openssl rand
# -base64 32` gives 44. A key the generators make has dozens of distinct characters (64
# hex digits show fewer than 10 of the 16 with probability ~1e-9) and never repeats a
# shorter string; 'x' * 64 or 'abcd' * 16 fail both. A length and variety check cannot
# prove randomness: it refuses the keys that are plainly not random.
MFA_KEY_MIN_CHARS = 43
MFA_KEY_MIN_DISTINCT = 10
MFA_KEY_HOWTO = 'python -c "import secrets; print(secrets.token_urlsafe(32))"'


def _mfa_key(env: Mapping[str, str], production: bool) -> str:
    key = require_secret("MFA_ENCRYPTION_KEY", production=production, environ=env)
    if not production:
        return key
    periodic = key in (key + key)[1:-1]  # a shorter string repeated ('ab' * 30)
    if len(key) < MFA_KEY_MIN_CHARS or len(set(key)) < MFA_KEY_MIN_DISTINCT or periodic:
        raise SettingsError(
            "APP_ENV=production needs MFA_ENCRYPTION_KEY to be a random key of at least "
            f"256 bits ({MFA_KEY_MIN_CHARS}+ url-safe base64 or 64 hex characters, with no "
            f"pattern); this one is too short or too regular. Make one: {MFA_KEY_HOWTO} "
            "(docs/deploy.md §2; changing the key of a running deployment: the rotation "
            "steps there)")
    return key


def _mail_sender(env: Mapping[str, str]) -> dict[str, int]:
    """The sender's lease and backoff (MAIL_LEASE_SECONDS, MAIL_RETRY_FIRST_SECONDS,
    MAIL_RETRY_MAX_SECONDS), each a whole number of seconds >= 1, the first delay at most
    the longest one."""
    found = {"mail_lease_seconds": _int(env, "MAIL_LEASE_SECONDS", 120),
             "mail_retry_first_seconds": _int(env, "MAIL_RETRY_FIRST_SECONDS", 30),
             "mail_retry_max_seconds": _int(env, "MAIL_RETRY_MAX_SECONDS", 3600)}
    if found["mail_retry_first_seconds"] > found["mail_retry_max_seconds"]:
        raise SettingsError(
            f"MAIL_RETRY_FIRST_SECONDS ({found['mail_retry_first_seconds']}) must not be "
            f"above MAIL_RETRY_MAX_SECONDS ({found['mail_retry_max_seconds']})")
    return found


def _mail(env: Mapping[str, str], production: bool) -> tuple[bool, str, str]:
    """(MAIL on, SMTP_URL, MAIL_FROM): in production both are required unless MAIL=off."""
    on = _switch(env, "MAIL", True)
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
        from auth_utils.mail import SmtpTarget, sender_address

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


def _oidc_providers(env: Mapping[str, str], production: bool) -> tuple[OidcProvider, ...]:
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


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The auth core's settings (the apps' own secrets: `require_secret`)."""
    env = _environment(environ)
    app_env = env.get("APP_ENV", "development").strip() or "development"
    if app_env not in ("development", "production", "test"):
        raise SettingsError(f"APP_ENV must be development, production or test, not {app_env!r}")
    landing_url = env.get("LANDING_URL", "").strip() or "http://localhost:4321"
    web_url = env.get("WEB_URL", "").strip() or "http://localhost:3000"
    for name, url in (("LANDING_URL", landing_url), ("WEB_URL", web_url)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError(f"{name} must be an http(s) URL, got {url!r}")
    from auth_utils.mongo import DEFAULT_MONGO_URI

    mongo_uri = env.get("MONGO_URI", "").strip() or DEFAULT_MONGO_URI
    if not mongo_uri.startswith(("mongodb://", "mongodb+srv://")):
        raise SettingsError("MONGO_URI must start with mongodb:// or mongodb+srv://")
    mail, smtp_url, mail_from = _mail(env, app_env == "production")
    return Settings(
        mongo_uri=mongo_uri,
        landing_url=landing_url.rstrip("/"),
        web_url=web_url.rstrip("/"),
        cookie_domain=env.get("COOKIE_DOMAIN", "").strip().lstrip(".") or None,
        app_env=app_env,
        login_max_failures_per_user=_int(env, "LOGIN_MAX_FAILURES_PER_USER", 10),
        login_max_failures_per_ip=_int(env, "LOGIN_MAX_FAILURES_PER_IP", 100),
        signup_max_per_ip=_int(env, "SIGNUP_MAX_PER_IP", 20),
        trusted_proxies=_networks(env.get("TRUSTED_PROXIES", "")),
        session_cache=_switch(env, "SESSION_CACHE", True),
        session_cache_ttl=float(_int(env, "SESSION_CACHE_TTL_SECONDS", 5)),
        session_cache_max_lag=_int(env, "SESSION_CACHE_MAX_LAG_MS", 300) / 1000,
        throttle_ipv6_prefix=_prefix(env),
        login_max_failures_per_ip48=_int(env, "LOGIN_MAX_FAILURES_PER_IP48", 0),  # 0: 10x
        hashing_max_per_client=_int(env, "HASHING_MAX_PER_CLIENT", 2),
        mfa_encryption_key=_mfa_key(env, production=app_env == "production"),
        mfa_max_failures_per_user=_int(env, "MFA_MAX_FAILURES_PER_USER", 10),
        mfa_max_failures_per_day=_int(env, "MFA_MAX_FAILURES_PER_DAY", 8),
        require_second_factor=_switch(env, "REQUIRE_SECOND_FACTOR", False),
        security_events_retention_days=_int(env, "SECURITY_EVENTS_RETENTION_DAYS", 180),
        session_max_lifetime_days=_int(env, "SESSION_MAX_LIFETIME_DAYS", 90),
        metrics_allowed_networks=_networks(env.get("METRICS_ALLOWED_NETWORKS", ""),
                                           "METRICS_ALLOWED_NETWORKS") or LOOPBACK,
        reset_max_per_ip=_int(env, "RESET_MAX_PER_IP", 10),
        reset_max_per_account=_int(env, "RESET_MAX_PER_ACCOUNT", 5),
        mail=mail,
        smtp_url=smtp_url,
        mail_from=mail_from,
        mail_sender=_switch(env, "MAIL_SENDER", True),
        **_mail_sender(env),
        oidc_providers=_oidc_providers(env, app_env == "production"),
    )
