"""The test environment: the apps' test URLs, the settings every test process and child
gets, where artifacts go, how Chromium runs."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ARTIFACTS", "CHROMIUM_ARGS", "LANDING", "TEST_ENV", "WEB"]

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
}

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
