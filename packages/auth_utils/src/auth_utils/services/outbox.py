"""The outbox: mail waiting in the database, sealed, until a sender delivers it
(`auth_utils.services.mail`).

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
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from auth_utils.rules.clock import Clock, utc_now
from auth_utils.rules.sealing import SealedBox
from auth_utils.rules.smtp import sender_address
from auth_utils.storage import OutboxStore, StoredMail

__all__ = ["MAIL_KEY_PURPOSE", "MailDisabled", "Message", "Outbox", "build_email"]

MAIL_KEY_PURPOSE = b"mail body"  # HKDF info: a key of its own, apart from the TOTP one


class MailDisabled(RuntimeError):
    """`MAIL=off`: nothing may be enqueued (the flows hide what would send mail)."""


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
