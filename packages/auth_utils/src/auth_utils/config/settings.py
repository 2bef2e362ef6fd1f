"""What the settings are: the `Settings` value every part of the core reads, the outside
OpenID Connect providers it names, and the origin of a URL (how settings compare sites)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urlsplit

from auth_utils.rules.password_policy import site_words

__all__ = ["DEFAULT_MAIL_FROM", "DEFAULT_SMTP_URL", "DEV_SECRET_MARKER", "LOOPBACK",
           "OidcProvider", "Settings", "origin_of"]

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
    # Mail (auth_utils.services.mail): where it goes and who it is from; MAIL=off turns it off.
    mail: bool = True
    smtp_url: str = field(default=DEFAULT_SMTP_URL, repr=False)  # may carry a password
    mail_from: str = DEFAULT_MAIL_FROM
    # The mail sender of each app process (auth_utils.services.mail.MailSender): how long it holds a
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
        and the labels of the site's host names (auth_utils.rules.password_policy)."""
        return site_words((self.landing_url, self.web_url), (self.cookie_domain,))

