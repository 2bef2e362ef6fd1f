"""The test environment: the apps' test URLs, the settings every test process and child
gets, where artifacts go, how Chromium runs."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["ARTIFACTS", "CHROMIUM_ARGS", "FAST_MAIL_SENDER", "LANDING", "TEST_ENV", "WEB",
           "chromium_executable"]

LANDING = "http://localhost:4321"
WEB = "http://localhost:3000"
ARTIFACTS = Path(__file__).resolve().parents[5] / "artifacts"

# Generous throttling for the suite (many sign-ups come from one address); the
# throttling tests build their own Settings with small limits.
TEST_ENV = {
    "APP_ENV": "test",
    "LANDING_URL": LANDING,
    "WEB_URL": WEB,
    "COOKIE_DOMAIN": "",
    "LOGIN_MAX_FAILURES_PER_USER": "1000",
    "LOGIN_MAX_FAILURES_PER_IP": "100000",
    "SIGNUP_MAX_PER_IP": "100000",
    "HASHING_MAX_PER_CLIENT": "1000",
    "TRUSTED_PROXIES": "",
    "DJANGO_SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnop",
    "MFA_ENCRYPTION_KEY": "test-mfa-key-not-for-production-0123456789abcdefghijklmnop",
    # Given explicitly, so a production-mode test process starts; the mail tests start
    # their own SMTP servers and point their cores at them.
    "SMTP_URL": "smtp://127.0.0.1:8025",
    "MAIL_FROM": "Monorepo Auth <no-reply@localhost>",
}


def _fast_mail_sender() -> dict:
    from datetime import timedelta

    from db_utils.outbox import Retry

    return {"lease": timedelta(seconds=2), "poll_every": 0.05, "timeout": 2.0,
            "retry": Retry(first_delay=timedelta(seconds=0.2), max_delay=timedelta(seconds=1),
                           max_attempts=100)}


# MailSender options for tests (`core.start_mail_sender(**FAST_MAIL_SENDER)`): a 2 s lease
# (a killed sender's message is free again soon), backoff from 0.2 s up to 1 s.
FAST_MAIL_SENDER = _fast_mail_sender()

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium_executable() -> str | None:
    """Debian's Chromium (what CI installs and the browser tests use), or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
