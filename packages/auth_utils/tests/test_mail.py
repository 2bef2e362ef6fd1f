"""The mail channel against a real SMTP server on a socket (aiosmtpd) and the real
database: delivered once with the right headers, nothing lost through an SMTP outage or a
sender killed -9, two senders (threads, processes) never both send a message, and the
database never holds a readable body."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from auth_utils import SettingsError, load_settings
from auth_utils.rules.sealing import SealedBox
from auth_utils.rules.smtp import SmtpTarget
from auth_utils.services.mail import MailSender
from auth_utils.services.outbox import MAIL_KEY_PURPOSE, MailDisabled, Message
from devtools.mailserver import MailServer, links_in
from devtools.testing import FAST_MAIL_SENDER, TEST_ENV, wait_for

LINK = "http://localhost:4321/password/reset/Zx8kq2Lr7WmN4pTs9VbYc3Hd"
SENDER_PROCESS = Path(__file__).with_name("mail_sender_process.py")


def reset_mail(to: str = "alice@example.com", n: int = 0) -> Message:
    return Message(to=to, subject=f"Reset your password ({n})",
                   text=f"Someone asked to reset your password.\n\n{LINK}?n={n}\n",
                   html=f'<p>Reset: <a href="{LINK}?n={n}">{LINK}?n={n}</a></p>',
                   kind="password_reset", user_id="u1")


def outbox_docs(db) -> list[dict]:
    return list(db["outbox"].find())


# --- delivery -------------------------------------------------------------------------

def test_enqueued_message_is_delivered_once_with_its_headers_and_body(mail_core, smtp_server,
                                                                      db):
    core = mail_core()
    message_id = core.outbox.enqueue(reset_mail())
    assert smtp_server.wait_for(1, 10)
    got = smtp_server.received[0]
    email = got.message
    assert email["Message-ID"] == message_id and message_id.endswith("@localhost>")
    assert email["From"] == "Monorepo Auth <no-reply@localhost>"
    assert email["To"] == "alice@example.com" and got.rcpt_tos == ("alice@example.com",)
    assert got.mail_from == "no-reply@localhost"
    assert email["Subject"] == "Reset your password (0)"
    assert abs(parsedate_to_datetime(email["Date"]).timestamp()
               - core.outbox.get(message_id).created_at.timestamp()) < 1
    assert f"{LINK}?n=0" in got.text() and f'href="{LINK}?n=0"' in got.html()
    assert links_in(email) == [f"{LINK}?n=0"]
    assert wait_for(lambda: core.outbox.get(message_id).status == "delivered", 5)
    record = core.outbox.get(message_id)
    assert record.attempts == 1 and record.delivered_at is not None
    assert record.body is None and record.expires_at is not None  # kept for audit, TTL'd
    assert core.outbox.counts() == {"pending": 0, "delivered": 1, "failed": 0}
    assert not wait_for(lambda: len(smtp_server.received) > 1, 0.5)  # and only once


def test_a_message_that_cannot_be_sent_is_refused_at_enqueue(core, db):
    for bad in (Message("alice@example.com", "Hi\r\nBcc: eve@example.com", "x"),
                Message("alice@example.com, bob@example.com", "Hi", "x"),
                Message("not-an-address", "Hi", "x")):
        with pytest.raises(ValueError):
            core.outbox.enqueue(bad)
    assert outbox_docs(db) == []


def test_mail_off_enqueues_nothing_and_starts_no_sender(make_core, db):
    core = make_core(mail=False)
    with pytest.raises(MailDisabled):
        core.outbox.enqueue(reset_mail())
    assert core.start_mail_sender() is None
    assert outbox_docs(db) == []


def test_a_refused_recipient_is_failed_for_the_operator_and_the_rest_go_out(
        mail_core, smtp_server, db):
    smtp_server.refused.add("nobody@example.com")
    core = mail_core()
    refused = core.outbox.enqueue(reset_mail("nobody@example.com"))
    fine = core.outbox.enqueue(reset_mail("bob@example.com", 1))
    assert smtp_server.wait_for(1, 10)
    assert wait_for(lambda: core.outbox.get(refused).status == "failed", 5)
    failed = core.outbox.get(refused)
    assert failed.attempts == 1 and failed.last_error.startswith("550")
    assert [m.message_id for m in core.outbox.list("failed")] == [refused]
    assert smtp_server.message_ids() == [fine]


# --- sealed at rest -------------------------------------------------------------------

def test_the_database_never_holds_a_readable_body(make_core, smtp_server, settings, db):
    core = make_core(smtp_url=smtp_server.url)
    message_id = core.outbox.enqueue(reset_mail())
    (pending,) = outbox_docs(db)
    assert LINK not in json.dumps(pending, default=str)  # sealed, link and all
    assert "reset your password" not in json.dumps(pending, default=str).lower().replace(
        "reset your password (0)", "")  # only the subject is in clear
    # Without the key (or with the TOTP key, or bound to another message) it stays shut.
    assert SealedBox("another-key-" + "x" * 40, MAIL_KEY_PURPOSE).open(
        pending["body"], pending["_id"]) is None
    assert SealedBox(settings.mfa_encryption_key, b"totp secret").open(
        pending["body"], pending["_id"]) is None
    right = SealedBox(settings.mfa_encryption_key, MAIL_KEY_PURPOSE)
    assert right.open(pending["body"], "another-message-id") is None
    assert LINK in right.open(pending["body"], pending["_id"])

    core.start_mail_sender(**FAST_MAIL_SENDER)
    assert smtp_server.wait_for(1, 10)
    assert wait_for(lambda: core.outbox.get(message_id).status == "delivered", 5)
    (delivered,) = outbox_docs(db)
    assert "body" not in delivered and LINK not in json.dumps(delivered, default=str)
    assert delivered["message_id"] == message_id and delivered["to"] == "alice@example.com"


# --- SMTP down ------------------------------------------------------------------------

def test_smtp_down_is_retried_with_backoff_and_nothing_is_lost(make_core, db):
    server = MailServer()  # its port, nothing listening yet: connections are refused
    core = make_core(smtp_url=server.url)
    ids = [core.outbox.enqueue(reset_mail(f"user{i}@example.com", i)) for i in range(5)]
    sender = core.start_mail_sender(**FAST_MAIL_SENDER)
    try:
        assert wait_for(lambda: all(core.outbox.get(i).attempts >= 3 for i in ids), 10)
        attempts = [core.outbox.get(i).attempts for i in ids]
        record = core.outbox.get(ids[0])
        assert record.status == "pending" and "Connection" in record.last_error
        # Backoff 0.2, 0.4, 0.8, 1, 1 s: a handful of attempts, not one per 50 ms poll.
        assert wait_for(lambda: False, 1.5) is False
        later = [core.outbox.get(i).attempts for i in ids]
        assert all(b - a <= 3 for a, b in zip(attempts, later, strict=True)), (attempts, later)
        assert core.outbox.get(ids[0]).next_attempt_at > record.created_at
        server.start()
        assert server.wait_for(5, 10), server.message_ids()
        assert wait_for(lambda: core.outbox.counts()["delivered"] == 5, 5)
        assert sorted(server.message_ids()) == sorted(ids)  # each once
        assert sender.outcomes["delivered"] == 5 and sender.outcomes["retry"] >= 15
    finally:
        core.close()
        server.stop()


# --- several senders --------------------------------------------------------------------

def test_three_sender_threads_on_one_outbox_deliver_each_message_once(make_core, smtp_server,
                                                                      db):
    smtp_server.on_message = lambda _: time.sleep(0.002)
    first, second = (make_core(smtp_url=smtp_server.url) for _ in range(2))
    ids = [first.outbox.enqueue(reset_mail(f"u{i}@example.com", i)) for i in range(60)]
    senders = [first.start_mail_sender(**FAST_MAIL_SENDER),
               second.start_mail_sender(**FAST_MAIL_SENDER),
               MailSender(first.outbox, SmtpTarget.parse(smtp_server.url), name="third",
                          **FAST_MAIL_SENDER).start()]
    try:
        assert smtp_server.wait_for(60, 30), len(smtp_server.received)
        assert wait_for(lambda: first.outbox.counts()["delivered"] == 60, 5)
        assert not wait_for(lambda: len(smtp_server.received) > 60, 0.5)
    finally:
        senders[2].stop()
    assert Counter(smtp_server.message_ids()) == Counter(ids)  # every one, once
    assert sum(s.outcomes.get("delivered", 0) for s in senders) == 60


def start_sender_process(smtp_url: str, name: str) -> subprocess.Popen:
    env = {**os.environ, "SMTP_URL": smtp_url}
    proc = subprocess.Popen([sys.executable, str(SENDER_PROCESS), name], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the process dies or says ready (bounded by its imports)
    assert line.strip() == "ready", line + proc.stdout.read()
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_two_sender_processes_on_one_outbox_deliver_each_message_once(core, smtp_server, db):
    smtp_server.on_message = lambda _: time.sleep(0.01)
    procs = []
    try:
        procs = [start_sender_process(smtp_server.url, f"proc{i}") for i in range(2)]
        ids = [core.outbox.enqueue(reset_mail(f"u{i}@example.com", i)) for i in range(60)]
        assert smtp_server.wait_for(60, 30), len(smtp_server.received)
        assert wait_for(lambda: core.outbox.counts()["delivered"] == 60, 5)
        assert not wait_for(lambda: len(smtp_server.received) > 60, 0.5)
    finally:
        for proc in procs:
            stop_process(proc)
    assert Counter(smtp_server.message_ids()) == Counter(ids)
    assert [p.returncode for p in procs] == [0, 0]
    senders = {doc["leased_by"].rsplit(":", 1)[1] for doc in outbox_docs(db)}
    assert senders == {"proc0", "proc1"}  # both took part


def test_a_sender_killed_after_smtp_accepted_causes_one_duplicate_at_most(core, smtp_server,
                                                                          db):
    """kill -9 of the sending process in the worst place: the SMTP server has the message,
    the sender has not heard "250" (so it never marks it delivered). Another sender takes
    over after the lease: everything is delivered, that one message twice, with the same
    Message-ID (the documented at-least-once); nothing else is sent twice."""
    victim: dict[str, subprocess.Popen] = {}

    def kill_at_the_tenth(received) -> None:
        if len(smtp_server.received) == 10 and "a" in victim:
            os.kill(victim["a"].pid, signal.SIGKILL)

    smtp_server.on_message = kill_at_the_tenth
    ids = [core.outbox.enqueue(reset_mail(f"u{i}@example.com", i)) for i in range(30)]
    procs = []
    try:
        victim["a"] = start_sender_process(smtp_server.url, "a")
        procs.append(victim["a"])
        assert victim["a"].wait(30) == -signal.SIGKILL
        procs.append(start_sender_process(smtp_server.url, "b"))
        assert smtp_server.wait_for(31, 30), len(smtp_server.received)
        assert wait_for(lambda: core.outbox.counts()["delivered"] == 30, 5)
        assert not wait_for(lambda: len(smtp_server.received) > 31, 0.5)
    finally:
        for proc in procs:
            stop_process(proc)
    received = Counter(smtp_server.message_ids())
    assert set(received) == set(ids)  # nothing lost
    tenth = smtp_server.received[9].message_id
    assert {mid for mid, n in received.items() if n > 1} == {tenth}
    assert received[tenth] == 2
    copies = [r.raw for r in smtp_server.received if r.message_id == tenth]
    assert copies[0] == copies[1]  # the same message, byte for byte
    assert core.outbox.get(tenth).attempts == 2


# --- the sender's settings -----------------------------------------------------------------

def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (the test server's), and its key."""
    import ipaddress
    from datetime import UTC, datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_starttls_when_offered_and_the_password_only_over_it(make_core, tmp_path,
                                                             monkeypatch, db):
    """smtp://user:password@...: the sender upgrades with STARTTLS (certificate checked
    against the trusted CAs: here the test's own, through SSL_CERT_FILE), then logs in."""
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert, key = self_signed_certificate(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((session.ssl is not None, auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret:/@", handled=False)

    server = MailServer(tls_context=tls, require_starttls=True, auth_required=True,
                        authenticator=authenticator,
                        auth_exclude_mechanism=["LOGIN"]).start()  # PLAIN: one answer
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    try:
        core = make_core(smtp_url=f"smtp://mailer:s3cret%3A%2F%40@127.0.0.1:{server.port}")
        core.start_mail_sender(**FAST_MAIL_SENDER)
        message_id = core.outbox.enqueue(reset_mail())
        assert server.wait_for(1, 10)
        assert server.message_ids() == [message_id]
        assert logins == [(True, b"mailer", b"s3cret:/@")]
        wrong = make_core(smtp_url=f"smtp://mailer:wrong@127.0.0.1:{server.port}")
        wrong.start_mail_sender(**FAST_MAIL_SENDER)
        core.stop_mail_sender()
        refused = wrong.outbox.enqueue(reset_mail(n=1))
        assert wait_for(lambda: wrong.outbox.get(refused).attempts >= 2, 10)
        record = wrong.outbox.get(refused)
        assert record.status == "pending" and record.last_error.startswith("535")
        assert server.message_ids() == [message_id]
    finally:
        server.stop()


@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://127.0.0.1:8025", SmtpTarget("127.0.0.1", 8025)),
    ("smtp://mail.example.com", SmtpTarget("mail.example.com", 25)),
    ("smtps://u%40x:p%3Ass@smtp.example.com", SmtpTarget("smtp.example.com", 465, True,
                                                        "u@x", "p:ss")),
    ("smtp://user:secret@[::1]:2525", SmtpTarget("::1", 2525, False, "user", "secret")),
])
def test_smtp_url_is_parsed(url, expected):
    target = SmtpTarget.parse(url)
    assert target == expected and target.password == expected.password
    assert "secret" not in str(target) and "secret" not in repr(target)


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://h:99999", "smtp://h/x",
                                 "smtp://h?starttls=no"])
def test_a_bad_smtp_url_is_refused_by_the_settings(url):
    with pytest.raises(SettingsError, match="SMTP_URL"):
        load_settings({**TEST_ENV, "SMTP_URL": url})


def test_production_needs_smtp_url_and_mail_from_unless_mail_is_off():
    production = {**TEST_ENV, "APP_ENV": "production", "SMTP_URL": "", "MAIL_FROM": ""}
    with pytest.raises(SettingsError, match=r"SMTP_URL and MAIL_FROM.*MAIL=off"):
        load_settings(production)
    with pytest.raises(SettingsError, match="needs MAIL_FROM"):
        load_settings({**production, "SMTP_URL": "smtps://u:p@smtp.example.com"})
    with pytest.raises(SettingsError, match="MAIL_FROM"):
        load_settings({**production, "SMTP_URL": "smtps://u:p@smtp.example.com",
                       "MAIL_FROM": "nobody"})
    assert not load_settings({**production, "MAIL": "off"}).mail
    ok = load_settings({**production, "SMTP_URL": "smtps://u:p@smtp.example.com",
                        "MAIL_FROM": "Example <no-reply@example.com>"})
    assert ok.mail and ok.mail_from == "Example <no-reply@example.com>"
    assert "u:p@" not in repr(ok)
    development = load_settings({k: v for k, v in TEST_ENV.items()
                                 if k not in ("SMTP_URL", "MAIL_FROM")})
    assert development.smtp_url == "smtp://127.0.0.1:8025"
    assert development.mail_from == "Monorepo Auth <no-reply@localhost>"


def test_the_senders_lease_and_backoff_come_from_the_settings(make_core):
    defaults = load_settings(TEST_ENV)
    assert (defaults.mail_lease_seconds, defaults.mail_retry_first_seconds,
            defaults.mail_retry_max_seconds) == (120, 30, 3600)  # production's
    fast = load_settings({**TEST_ENV, "MAIL_LEASE_SECONDS": "4",
                          "MAIL_RETRY_FIRST_SECONDS": "1", "MAIL_RETRY_MAX_SECONDS": "2"})
    sender = make_core(smtp_url="smtp://127.0.0.1:9", mail_lease_seconds=4,
                       mail_retry_first_seconds=1, mail_retry_max_seconds=2
                       ).start_mail_sender()
    assert (fast.mail_lease_seconds, fast.mail_retry_max_seconds) == (4, 2)
    assert sender.lease == timedelta(seconds=4) and sender.timeout == 1.0  # lease / 4
    assert sender.retry.delay(1) == timedelta(seconds=1)
    assert sender.retry.delay(5) == timedelta(seconds=2)
    for bad, match in ((("MAIL_LEASE_SECONDS", "0"),), "MAIL_LEASE_SECONDS"), (
            (("MAIL_RETRY_MAX_SECONDS", "soon"),), "MAIL_RETRY_MAX_SECONDS"), (
            (("MAIL_RETRY_FIRST_SECONDS", "60"), ("MAIL_RETRY_MAX_SECONDS", "30")),
            "must not be above"):
        with pytest.raises(SettingsError, match=match):
            load_settings({**TEST_ENV, **dict(bad)})
