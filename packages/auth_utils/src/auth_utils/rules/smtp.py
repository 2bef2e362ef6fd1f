"""What SMTP_URL and MAIL_FROM must be: where mail goes and who it is from, parsed and
checked when settings load (`auth_utils.config`) and used by the sender
(`auth_utils.services.mail`, which opens the connection). No I/O here."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

__all__ = ["LOOPBACK_NAMES", "SmtpTarget", "sender_address"]

LOOPBACK_NAMES = frozenset({"localhost"})


def sender_address(mail_from: str) -> Address:
    """The one address of MAIL_FROM (`Name <addr@domain>` or `addr@domain`); ValueError
    otherwise."""
    message = EmailMessage()
    try:
        message["From"] = mail_from
        addresses = message["From"].addresses
    except (ValueError, IndexError, TypeError) as exc:
        raise ValueError(f"{mail_from!r} is not an e-mail address ({exc})") from None
    if len(addresses) != 1 or not addresses[0].domain or not addresses[0].username:
        raise ValueError(f"{mail_from!r} is not one e-mail address with a domain")
    return addresses[0]


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes, from SMTP_URL: `smtp://[user:pass@]host[:port]` (port 25 by
    default; STARTTLS whenever the server offers it, and required before a password is
    sent to another machine), `smtps://[user:pass@]host[:port]` (implicit TLS, port 465).
    Certificates are verified against the system's CAs. `smtp://127.0.0.1:8025`, the
    development server, has neither TLS nor a password."""

    host: str
    port: int
    implicit_tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        """ValueError (saying what is wrong, never the password) for a URL that is not one."""
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as exc:
            raise ValueError(f"SMTP_URL is not a URL ({exc})") from None
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SMTP_URL must start with smtp:// (STARTTLS when offered) or "
                             "smtps:// (implicit TLS)")
        if not parts.hostname:
            raise ValueError("SMTP_URL names no host (smtp://user:password@host:port)")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("SMTP_URL takes no path or query: smtp://user:password@host:port")
        implicit = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=port or (465 if implicit else 25),
                   implicit_tls=implicit,
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password is not None else None)

    @property
    def local(self) -> bool:
        return _is_loopback(self.host)

    def __str__(self) -> str:  # for logs: never the password
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{host}:{self.port}"
