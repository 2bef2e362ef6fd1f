"""Test support shared by every member's tests: the test environment, the apps as real
processes, HTTP helpers and assertions. (Fixtures live in the conftest files; this module
holds what they and the tests import.)"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from db_utils.monitoring import CommandCounter

__all__ = [
    "ARTIFACTS",
    "CHROMIUM_ARGS",
    "LANDING",
    "TEST_ENV",
    "WEB",
    "CommandCounter",
    "LiveSystem",
    "assert_only_valid_users",
    "assert_redirect_stays_home",
    "csrf_token",
    "metric_value",
    "start_live_system",
    "wait_for",
]

LANDING = "http://localhost:4321"
WEB = "http://localhost:3000"
ARTIFACTS = Path(__file__).resolve().parents[4] / "artifacts"

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


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    """Poll `predicate` until it is true or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return False


def metric_value(text: str, series: str) -> float:
    """The sample of `series` (name and labels, as exposed) in Prometheus text; 0 when
    absent."""
    found = re.search(rf"^{re.escape(series)} ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def csrf_token(page: object, path: str = "/") -> str:
    """Django's CSRF form token from a page's HTML, or from `path` fetched with a client
    (Django's test client or httpx)."""
    if not isinstance(page, str):
        response = page.get(path)  # type: ignore[attr-defined]
        page = response.text if hasattr(response, "text") else response.content.decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


@dataclass
class LiveSystem:
    """Both apps as real server processes (as in development) on free loopback ports."""

    landing_url: str
    web_url: str
    env: dict


def start_live_system(database_uri: str, artifacts: Path, **overrides: str):
    """Start landing and web as `python -m landing` / `python -m web` processes."""
    from devtools.dbserver import free_port
    from devtools.processes import AppProcess, wait_until_answers

    env = {
        **os.environ, **TEST_ENV, "MONGO_URI": database_uri,
        "LANDING_URL": f"http://localhost:{free_port()}",
        "WEB_URL": f"http://localhost:{free_port()}",
        **overrides,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    artifacts.mkdir(parents=True, exist_ok=True)
    procs = [
        AppProcess("landing", env, log_path=artifacts / "landing.log").start(),
        AppProcess("web", env, args=("--noreload",), log_path=artifacts / "web.log").start(),
    ]
    ports = [urlsplit(env[k]).port for k in ("LANDING_URL", "WEB_URL")]
    for proc, port in zip(procs, ports, strict=True):
        if not wait_until_answers(f"http://127.0.0.1:{port}/healthz", 60, proc):
            for p in procs:
                p.stop()
            raise RuntimeError(f"{proc.module} did not start; see {artifacts}")
    return LiveSystem(env["LANDING_URL"], env["WEB_URL"], env), procs


def assert_redirect_stays_home(response_status: int, location: str | None) -> None:
    """A redirect goes to a relative path or to one of the two app origins only."""
    if response_status not in (301, 302, 303, 307, 308):
        return
    from auth_utils import origin_of

    assert location, "redirect without Location"
    if location.startswith("/"):
        assert not location.startswith("//") and "\\" not in location, location
        return
    assert origin_of(location) in {LANDING, WEB}, location


def assert_only_valid_users(database) -> None:
    from auth_utils import validate_username

    for user in database.users.find():
        assert validate_username(user["username"]) is None, user["username"]
        assert user["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
