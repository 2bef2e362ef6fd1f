import pytest

from auth_utils import SettingsError, client_ip, load_settings
from auth_utils.config import load_dotenv_files, require_secret


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
    assert load_settings({"APP_ENV": "production", "MFA_ENCRYPTION_KEY": "k" * 40,
                          "MAIL": "off"}).production
    with pytest.raises(SettingsError, match="MFA_ENCRYPTION_KEY"):
        load_settings({"APP_ENV": "production", "MFA_ENCRYPTION_KEY": secret, "MAIL": "off"})


@pytest.mark.parametrize(
    ("env", "match"),
    [({"LOGIN_MAX_FAILURES_PER_USER": "x"}, "whole number"),
     ({"SIGNUP_MAX_PER_IP": "0"}, "at least 1"),
     ({"TRUSTED_PROXIES": "nope"}, "TRUSTED_PROXIES"),
     ({"WEB_URL": "localhost:3000"}, "WEB_URL"),
     ({"APP_ENV": "staging"}, "APP_ENV")],
)
def test_bad_values_say_what_is_wrong(env, match):
    with pytest.raises(SettingsError, match=match):
        load_settings(env)


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
    assert client_ip("10.0.0.2", "garbage", proxies) == "10.0.0.2"
