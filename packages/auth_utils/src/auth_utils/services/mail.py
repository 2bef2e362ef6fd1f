"""The mail channel: an outbox in the database and a sender that delivers it over SMTP.

Flows call `core.outbox.enqueue(Message(...))` in the same step as the event that causes
the mail; it returns at once (no SMTP on the request path). A `MailSender` thread in each
app process (`core.start_mail_sender()`) claims due messages one at a time under a lease,
sends them and marks them delivered, or records the failure and backs off.

What is stored: `to`, `subject`, who and why (`kind`, `user_id`) in clear, for operators;
the body (text and HTML) always sealed (AES-256-GCM under a key derived from
MFA_ENCRYPTION_KEY for this purpose, bound to the message's id). Always, not only for
messages that carry a link: a flow cannot forget to ask, and it costs microseconds. So a
subject must never carry a secret. Once delivered, the body is removed and the metadata
(with the Message-ID) is kept for 30 days (TTL), so a copy of the database holds no
usable link, pending messages included (without the key).

The guarantee: every enqueued message is delivered at least once, every copy with the
one Message-ID set at enqueue; or, refused for good by the server (5xx for the recipient
or the message) or out of attempts (~5 hours of backoff by default), it stays in the
outbox as `failed`, visible to operators and re-queueable (`Outbox.requeue`). Nothing is
lost: a killed sender's claim returns after its lease; an SMTP outage only delays.

Duplicates: only a sender that dies (or loses the database for longer than its lease)
between the SMTP server's acceptance of a message and the mark "delivered" leaves it to
be sent again once its lease has passed: one duplicate at most per such crash, with the
same Message-ID and the same bytes (receiving systems and mail clients recognise a
duplicate by it). So can an SMTP server so slow that one message outlasts the lease (2
minutes; each SMTP step is bounded by 20 s). The window is kept small: the mark is written
right after the server's "250" (retried until it lands while the database is down), and
a sender does not start sending a message whose lease is half gone.

Sending uses the standard library's `smtplib` and `email.message.EmailMessage`, not
`aiosmtplib`: the sender is a plain thread (in an ASGI app or a sync Django worker
alike), so there is no event loop to share and nothing to gain from async I/O; one fewer
dependency, and `smtplib` does STARTTLS, implicit TLS and AUTH.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from auth_utils.rules.clock import Clock, utc_now
from auth_utils.rules.smtp import SmtpTarget, sender_address
from auth_utils.services.metrics import MAIL_ATTEMPTS
from auth_utils.services.second_factor import SealedBox
from auth_utils.services.worker import DrainThread
from auth_utils.storage import OutboxStore, StoredMail
from db_utils.outbox import Retry

__all__ = [
    "MAIL_KEY_PURPOSE",
    "MailDisabled",
    "MailSender",
    "Message",
    "Outbox",
    "Retry",
    "SmtpNotSecure",
    "build_email",
    "open_smtp",
]

log = logging.getLogger("auth_utils.mail")

MAIL_KEY_PURPOSE = b"mail body"  # HKDF info: a key of its own, apart from the TOTP one


class MailDisabled(RuntimeError):
    """`MAIL=off`: nothing may be enqueued (the flows hide what would send mail)."""


class SmtpNotSecure(smtplib.SMTPException):
    """The server offers no STARTTLS and the URL carries a password for a host that is not
    this machine: the password is not sent in clear (the attempt counts as failed)."""


def open_smtp(target: SmtpTarget, timeout: float, helo: str | None = None) -> smtplib.SMTP:
    """A connection ready to send: TLS as the URL says, logged in when it has a user.
    `helo` names this client (by default the MAIL_FROM domain: asking the system for
    its fully qualified name can take seconds of DNS)."""
    context = ssl.create_default_context()
    helo = helo or "localhost"
    smtp: smtplib.SMTP
    if target.implicit_tls:
        smtp = smtplib.SMTP_SSL(target.host, target.port, local_hostname=helo,
                                timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(target.host, target.port, local_hostname=helo, timeout=timeout)
    try:
        smtp.ehlo()
        if not target.implicit_tls:
            if smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            elif target.username and not target.local:
                raise SmtpNotSecure(f"{target} offers no STARTTLS; not sending the "
                                    "password in clear (use smtps:// or fix the server)")
        if target.username:
            smtp.login(target.username, target.password or "")
    except BaseException:
        _close(smtp)
        raise
    return smtp


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


@dataclass(frozen=True)
class Message:
    """One e-mail to one address. `subject` is stored in clear (never put a secret in
    it); `text` and `html` are stored sealed and removed once delivered. `kind` (what
    caused it, e.g. "password_reset") and `user_id` are for operators."""

    to: str
    subject: str
    text: str
    html: str | None = None
    kind: str = ""
    user_id: str | None = None


def build_email(*, mail_from: str, to: str, subject: str, text: str, html: str | None,
                message_id: str, date) -> EmailMessage:
    """The message as sent (the same bytes on every attempt but the transport's own).
    ValueError for a header that cannot be sent (a line break: header injection) or a
    `to` that is not exactly one address."""
    email = EmailMessage()
    email["From"] = mail_from
    email["To"] = to
    email["Subject"] = subject
    email["Date"] = format_datetime(date)
    email["Message-ID"] = message_id
    addresses = email["To"].addresses
    if len(addresses) != 1 or not addresses[0].domain or not addresses[0].username:
        raise ValueError(f"{to!r} is not one e-mail address")
    email.set_content(text)
    if html:
        email.add_alternative(html, subtype="html")
        # From the Message-ID, not random: every copy of a message is the same bytes.
        email.set_boundary("==" + hashlib.sha256(message_id.encode()).hexdigest()[:32])
    return email


class Outbox:
    """Enqueue mail, and what operators and senders read of the outbox."""

    def __init__(self, store: OutboxStore, box: SealedBox, mail_from: str, *,
                 enabled: bool = True, unavailable: type[Exception] = ConnectionError,
                 clock: Clock = utc_now) -> None:
        self.store = store
        self.box = box
        self.mail_from = mail_from
        self.domain = sender_address(mail_from).domain
        self.enabled = enabled
        self.unavailable = unavailable  # what the store raises while the database is down
        # Mail runs on real time (leases and backoff are shared between processes), not
        # on a test's settable clock.
        self.clock = clock
        self.wakeup = threading.Event()  # set by enqueue: this process's senders look now

    def enqueue(self, message: Message) -> str:
        """Store `message` for delivery (sealed) and return its Message-ID, set here once
        for every attempt. Raises MailDisabled with MAIL=off, ValueError for a message
        that could never be sent, the storage's Unavailable when the database is down."""
        if not self.enabled:
            raise MailDisabled("mail is off (MAIL=off): nothing is sent")
        now = self.clock()
        message_id = make_msgid(domain=self.domain)
        build_email(mail_from=self.mail_from, to=message.to, subject=message.subject,
                    text=message.text, html=message.html, message_id=message_id, date=now)
        doc_id = secrets.token_hex(16)
        body = json.dumps({"text": message.text, "html": message.html})
        self.store.add(id=doc_id, message_id=message_id, to=message.to,
                       subject=message.subject, body=self.box.seal(body, doc_id),
                       kind=message.kind, user_id=message.user_id, created_at=now)
        self.wakeup.set()
        return message_id

    def compose(self, mail: StoredMail) -> EmailMessage | None:
        """The stored message as an e-mail, its body unsealed; None when the body is gone
        (delivered) or cannot be opened with this key."""
        opened = self.box.open(mail.body, mail.id) if mail.body else None
        if opened is None:
            return None
        body = json.loads(opened)
        return build_email(mail_from=self.mail_from, to=mail.to, subject=mail.subject,
                           text=body["text"], html=body.get("html"),
                           message_id=mail.message_id, date=mail.created_at)

    def get(self, message_id: str) -> StoredMail | None:
        return self.store.get(message_id)

    def list(self, status: str | None = None, limit: int = 100) -> list[StoredMail]:
        """Newest first, without bodies: what an operator looks at."""
        return self.store.list(status, limit)

    def counts(self) -> dict[str, int]:
        """{"pending": n, "delivered": n, "failed": n}."""
        return self.store.counts()

    def requeue(self, message_id: str | None = None) -> int:
        """Failed messages (or one) pending again; how many."""
        count = self.store.requeue(self.clock(), message_id)
        if count:
            self.wakeup.set()
        return count


class MailSender:
    """Delivers the outbox over SMTP from a daemon thread: claim (a lease), send, mark
    delivered or record the failure; any number of senders, in any processes, share one
    outbox. Sends what is due at once when this process enqueues, and looks for what
    other processes enqueued every `poll_every` seconds (one indexed query)."""

    def __init__(self, outbox: Outbox, target: SmtpTarget, *,
                 lease: timedelta = timedelta(seconds=120), retry: Retry | None = None,
                 poll_every: float = 1.0, timeout: float = 20.0, name: str = "mail-sender"
                 ) -> None:
        self.outbox = outbox
        self.target = target
        self.lease = lease
        self.retry = retry or Retry()
        self.timeout = timeout  # each SMTP step's bound (connect, every command)
        self.thread = DrainThread(name, lambda _: self.run_once(), outbox.wakeup,
                                  poll_every=poll_every)
        self.identity = self.thread.identity
        self._stopping = self.thread.stopping
        self.outcomes: dict[str, int] = {}  # this sender's own counts (tests, logs)

    # --- the thread -----------------------------------------------------------------

    def start(self) -> MailSender:
        if self.thread.start():
            log.info("mail sender %s started: sending to %s", self.identity, self.target)
        return self

    @property
    def running(self) -> bool:
        return self.thread.running

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the message in hand (a claim not yet sent is given back)."""
        self.thread.stop(self.timeout + 5 if timeout is None else timeout)

    # --- one pass ---------------------------------------------------------------------

    def run_once(self, limit: int = 100) -> int:
        """Deliver up to `limit` due messages over one SMTP connection; how many were
        handled (sent, failed or given back). Returns early while the database is down."""
        handled = 0
        smtp: smtplib.SMTP | None = None
        try:
            while handled < limit and not self._stopping.is_set():
                now = self.outbox.clock()
                try:
                    mail = self.outbox.store.claim(now, now + self.lease,
                                                   secrets.token_hex(16), self.identity,
                                                   self.retry)
                except self.outbox.unavailable as exc:
                    log.debug("mail sender: database unavailable (%s)", exc)
                    break
                if mail is None:
                    break
                handled += 1
                smtp = self._deliver(mail, smtp, time.monotonic())
        finally:
            _close(smtp)
        return handled

    def _deliver(self, mail: StoredMail, smtp: smtplib.SMTP | None, claimed: float
                 ) -> smtplib.SMTP | None:
        """Send one claimed message; the connection to use next (None: reconnect)."""
        email = self.outbox.compose(mail)
        if email is None:
            self._failed(mail, "the body cannot be unsealed with this MFA_ENCRYPTION_KEY",
                         permanent=True)
            return smtp
        try:
            if smtp is None:
                smtp = open_smtp(self.target, self.timeout, helo=self.outbox.domain)
            if (self._stopping.is_set()
                    or time.monotonic() - claimed > self.lease.total_seconds() / 2):
                self._release(mail)  # too late to send within the lease: someone else may
                return smtp
            smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            self._failed(mail, f"{code} {_text(reply)}", permanent=code >= 500)
            _close(smtp)
            return None
        except (smtplib.SMTPDataError, smtplib.SMTPNotSupportedError) as exc:
            code = getattr(exc, "smtp_code", 554)
            self._failed(mail, _describe(exc), permanent=code >= 500)
            _close(smtp)
            return None
        except Exception as exc:  # connection refused or lost, 4xx, TLS, auth, timeouts
            self._failed(mail, _describe(exc))
            _close(smtp)
            return None
        self._delivered(mail)
        return smtp

    # --- recording outcomes -------------------------------------------------------------

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        MAIL_ATTEMPTS.labels(outcome).inc()

    def _delivered(self, mail: StoredMail) -> None:
        """Mark it delivered now: the duplicate window. While the database is down, keep
        trying (until stopped): the longer it stays unmarked, the likelier a resend."""
        while True:
            try:
                self.outbox.store.delivered(mail, self.outbox.clock())
                break
            except self.outbox.unavailable as exc:
                if self._stopping.wait(0.2):
                    log.warning("mail sender stopped before %s could be marked delivered "
                                "(%s): it will be sent again, same Message-ID",
                                mail.message_id, exc)
                    return
        self._count("delivered")
        log.info("mail %s (%s) delivered to %s", mail.message_id, mail.kind or "-", mail.to)

    def _failed(self, mail: StoredMail, error: str, *, permanent: bool = False) -> None:
        try:
            outcome = self.outbox.store.failed(mail, self.outbox.clock(), error, self.retry,
                                               permanent=permanent)
        except self.outbox.unavailable:
            outcome = "unrecorded"  # the lease runs out and the message is tried again
        self._count(outcome)
        level = logging.ERROR if outcome == "failed" else logging.WARNING
        log.log(level, "mail %s to %s: attempt %d failed (%s): %s", mail.message_id, mail.to,
                mail.attempts, error, outcome)

    def _release(self, mail: StoredMail) -> None:
        with contextlib.suppress(self.outbox.unavailable):  # else the lease runs out
            self.outbox.store.release(mail, self.outbox.clock())
        self._count("released")


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
