"""`uv run mail`: a local SMTP server (aiosmtpd) that delivers nothing and prints one line
per message received (To, Subject, and the links in its body), so a developer can click
through a password reset or an email verification on their own machine. `uv run dev`
runs the same server; the tests use `MailServer` as their real SMTP server on a socket.
"""

from __future__ import annotations

import argparse
import contextlib
import email
import logging
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from devtools.processes import CommandParser

__all__ = ["MailServer", "Received", "links_in", "main", "summary"]

LINK = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass(frozen=True)
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"] or "")

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str | None:
        part = self.message.get_body(("html",))
        return part.get_content() if part is not None else None


def links_in(message: EmailMessage) -> list[str]:
    """The http(s) links of every text part, each once, in order."""
    found: list[str] = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            with contextlib.suppress(LookupError, ValueError):
                for link in LINK.findall(part.get_content()):
                    link = link.rstrip(".,;:!?").replace("&amp;", "&")
                    if link not in found:
                        found.append(link)
    return found


def summary(received: Received) -> str:
    """The one line `uv run mail` and `uv run dev` print for a message."""
    to = ", ".join(received.rcpt_tos)
    links = links_in(received.message)
    line = f"To: {to} | Subject: {received.message['Subject'] or ''}"
    return f"{line} | {' '.join(links)}" if links else line


class _Collector:
    """aiosmtpd handler: keeps each message, refuses the addresses in `refused` (550)."""

    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_RCPT(self, smtp: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.lower() in self.server.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=default_policy)
        assert isinstance(message, EmailMessage)
        received = Received(str(envelope.mail_from), tuple(envelope.rcpt_tos), message, raw)
        self.server.record(received)
        return "250 2.0.0 Message accepted"


class MailServer:
    """A real SMTP server on loopback (plain SMTP, no AUTH) that keeps what it receives.
    `stop()` then `start()` make an outage on the same port; `on_message(received)` is
    called for each message before the server answers 250 (a test may kill the sender
    there: the message is received, the sender never hears so)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, *,
                 on_message: Callable[[Received], None] | None = None,
                 **smtp_options: object) -> None:
        """`smtp_options` go to aiosmtpd's SMTP server (tests: `tls_context`,
        `require_starttls`, `authenticator`, `auth_required`)."""
        from devtools.dbserver import free_port

        self.host = host
        self.port = port or free_port(host)
        self.on_message = on_message
        self.refused: set[str] = set()
        self.received: list[Received] = []
        self.smtp_options = smtp_options
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)
        if self.on_message is not None:
            self.on_message(received)

    def message_ids(self) -> list[str]:
        with self._lock:
            return [r.message_id for r in self.received]

    def start(self) -> MailServer:
        if self._controller is None:
            controller = Controller(_Collector(self), hostname=self.host, port=self.port,
                                    ready_timeout=10,
                                    **{"enable_SMTPUTF8": True, **self.smtp_options})
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Until `count` messages have arrived (or `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="mail",
        description="Run a local SMTP server for development until Ctrl-C: it delivers "
                    "nothing and prints one line per message the apps send (To, Subject "
                    "and any link in it, such as a password-reset link). It listens where "
                    "SMTP_URL points (default smtp://127.0.0.1:8025); `uv run dev` runs "
                    "the same server by itself.",
        epilog="Settings come from the environment, .env and .env.local (see README.md).")
    parser.add_argument("--port", type=int, help="listen on this port instead of SMTP_URL's")
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"mail: {message}", file=sys.stderr, flush=True)
    return code


def local_smtp_address(smtp_url: str) -> tuple[str, int] | None:
    """(host, port) when SMTP_URL is plain smtp:// on this machine (where a development
    server can listen), else None."""
    from auth_utils.rules.smtp import SmtpTarget

    try:
        target = SmtpTarget.parse(smtp_url)
    except ValueError:
        return None
    if target.implicit_tls or not target.local:
        return None
    return target.host, target.port


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from auth_utils import SettingsError, load_settings
    from devtools.dbserver import port_answers

    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(str(exc), 2)
    address = local_smtp_address(settings.smtp_url)
    if address is None and args.port is None:
        return _fail(f"SMTP_URL ({settings.smtp_url.split('@')[-1]}) is not plain smtp:// "
                     "on this machine; mail goes there, not here (give --port to listen "
                     "anyway)", 2)
    host, port = address or ("127.0.0.1", 0)
    port = args.port if args.port is not None else port
    if not 0 < port < 65536:
        return _fail(f"--port must be 1 to 65535, not {port}", 2)
    if port_answers(host, port):
        return _fail(f"port {host}:{port} is already taken (another `uv run mail` or "
                     "`uv run dev`?); stop it or change SMTP_URL")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's per-command log
    server = MailServer(host, port, on_message=lambda r: print(
        f"mail: {summary(r)}", flush=True))
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        return _fail(f"could not listen on {host}:{port}: {exc}")
    print(f"mail: SMTP server on {host}:{port}; each message is printed here "
          "(Ctrl-C to stop)", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    print("mail: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
