import base64
import os
import secrets

import pytest

from auth_utils import SettingsError, client_ip, load_settings
from auth_utils.config import load_dotenv_files, require_secret
from devtools.testing import TEST_ENV


def test_defaults():
    s = load_settings({})
    assert s.landing_url == "http://localhost:4321" and s.web_url == "http://localhost:3000"
    assert s.allowed_origins == {"http://localhost:4321", "http://localhost:3000"}
    assert not s.production and s.cookie_domain is None
    assert "retryWrites=false" in s.mongo_uri


@pytest.mark.parametrize("secret", ["", "dev-insecure-change-me"])
def test_production_refuses_missing_or_dev_secret(secret):
    # The Django key is the web app's (auth_utils' settings no longer carry it); the
    # rule that refuses it lives in one helper every app's secret goes through.
    with pytest.raises(SettingsError, match="DJANGO_SECRET_KEY"):
        require_secret("DJANGO_SECRET_KEY", production=True,
                       environ={"APP_ENV": "production", "DJANGO_SECRET_KEY": secret})
    # The core needs its own secret, not Django's.
    assert load_settings({"APP_ENV": "production", "MAIL": "off",
                          "MFA_ENCRYPTION_KEY": secrets.token_urlsafe(32)}).production
    with pytest.raises(SettingsError, match="MFA_ENCRYPTION_KEY"):
        load_settings({"APP_ENV": "production", "MFA_ENCRYPTION_KEY": secret, "MAIL": "off"})


@pytest.mark.parametrize("key", [
    "x", "k" * 40, "x" * 64, "ab" * 40, "0123456789abcdef" * 4, "Zq8#rT!x2@" * 5,
    secrets.token_urlsafe(16), secrets.token_hex(16), secrets.token_urlsafe(31)[:42],
    " " * 50 + "abc",
], ids=["x", "k*40", "x*64", "ab*40", "hex-run*4", "symbols*5", "urlsafe-16-bytes",
        "hex-16-bytes", "urlsafe-42-chars", "spaces-abc"])
def test_production_refuses_an_mfa_key_below_256_bits_or_with_a_pattern(key):
    """'x' used to be enough: anything without the dev marker was taken."""
    with pytest.raises(SettingsError) as refused:
        load_settings({"APP_ENV": "production", "MAIL": "off", "MFA_ENCRYPTION_KEY": key})
    message = str(refused.value)
    assert "MFA_ENCRYPTION_KEY" in message and "256 bits" in message
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in message
    if len(key.strip()) > 8:
        assert key.strip() not in message  # the refused key is not echoed to a log


def test_production_takes_every_key_the_documented_generators_make():
    """No false refusals: 300 keys each from token_urlsafe(32), token_hex(32) (`openssl
    rand -hex 32`), base64 of 32 random bytes (`openssl rand -base64 32`), padded with
    spaces as an env file may leave them."""
    makers = [lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(32),
              lambda: base64.b64encode(os.urandom(32)).decode(),
              lambda: f"  {secrets.token_urlsafe(32)}\n"]
    for make in makers:
        for _ in range(300):
            key = make()
            settings = load_settings({"APP_ENV": "production", "MAIL": "off",
                                      "MFA_ENCRYPTION_KEY": key})
            assert settings.mfa_encryption_key == key.strip()


def test_outside_production_any_mfa_key_is_taken():
    """Development and test keep their short or readable keys (the suite's own TEST_ENV
    key also passes the production rule, which production-mode tests rely on)."""
    for env in ("development", "test"):
        assert load_settings({"APP_ENV": env, "MFA_ENCRYPTION_KEY": "x"})
    assert load_settings({**TEST_ENV, "APP_ENV": "production"}).production


@pytest.mark.parametrize(
    ("env", "match"),
    [({"LOGIN_MAX_FAILURES_PER_USER": "x"}, "whole number"),
     ({"SIGNUP_MAX_PER_IP": "0"}, "at least 1"),
     ({"LOGIN_MAX_FAILURES_PER_IP48": "0"}, "LOGIN_MAX_FAILURES_PER_IP48"),
     ({"LOGIN_MAX_FAILURES_PER_IP48": "lots"}, "whole number"),
     ({"TRUSTED_PROXIES": "nope"}, "TRUSTED_PROXIES"),
     ({"WEB_URL": "localhost:3000"}, "WEB_URL"),
     ({"APP_ENV": "staging"}, "APP_ENV")],
)
def test_bad_values_say_what_is_wrong(env, match):
    with pytest.raises(SettingsError, match=match):
        load_settings(env)


def test_the_48_limit_is_ten_times_the_per_ip_limit_unless_set():
    assert load_settings({}).login_limit_per_ip48 == 1000
    assert load_settings({"LOGIN_MAX_FAILURES_PER_IP": "7"}).login_limit_per_ip48 == 70
    assert load_settings({"LOGIN_MAX_FAILURES_PER_IP48": "250"}).login_limit_per_ip48 == 250


def test_env_local_overrides_env(tmp_path):
    (tmp_path / ".env").write_text("A=1\nB=2\n")
    (tmp_path / ".env.local").write_text("B=3\n")
    sub = tmp_path / "apps"
    sub.mkdir()
    assert load_dotenv_files(sub) == {"A": "1", "B": "3"}


def test_client_ip_trusts_forwarded_for_only_from_proxies():
    proxies = load_settings({"TRUSTED_PROXIES": "10.0.0.0/8"}).trusted_proxies
    assert client_ip("203.0.113.9", "1.2.3.4", ()) == "203.0.113.9"
    assert client_ip("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"
    assert client_ip("10.0.0.2", "1.2.3.4, 10.0.0.7", proxies) == "1.2.3.4"
    assert client_ip("10.0.0.2", "6.6.6.6, 1.2.3.4", proxies) == "1.2.3.4"
    assert client_ip("10.0.0.2", "garbage", proxies) == "unknown"  # never the proxy


def test_mail_sender_switch():
    assert load_settings({}).mail_sender is True
    assert load_settings({"MAIL_SENDER": "off"}).mail_sender is False
    with pytest.raises(SettingsError):
        load_settings({"MAIL_SENDER": "sometimes"})
