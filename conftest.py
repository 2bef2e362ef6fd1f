"""Fixtures shared by every test: one real database server per run, clean data per test.

Set `MONGO_TEST_URI` to run the suite against another MongoDB instead of the SecantusDB
server started here. Nothing is mocked: every test talks to a server over a socket.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# Generous throttling for the suite (many sign-ups come from one address); the
# throttling tests build their own Settings with small limits.
TEST_ENV = {
    "APP_ENV": "test",
    "LANDING_URL": "http://localhost:4321",
    "WEB_URL": "http://localhost:3000",
    "COOKIE_DOMAIN": "",
    "LOGIN_MAX_FAILURES_PER_USER": "1000",
    "LOGIN_MAX_FAILURES_PER_IP": "100000",
    "SIGNUP_MAX_PER_IP": "100000",
    "HASHING_MAX_PER_CLIENT": "1000",
    "TRUSTED_PROXIES": "",
    "DJANGO_SECRET_KEY": "test-secret-key-not-for-production-0123456789abcdefghijklmnop",
}


@dataclass
class DatabaseServer:
    """The run's database; `stop()`/`start()` simulate an outage on the same port."""

    uri: str
    local: object | None = None  # devtools.dbserver.LocalDatabase when we started it

    def stop(self) -> None:
        if self.local is None:
            pytest.skip("MONGO_TEST_URI is set: cannot stop an external server")
        self.local.stop()

    def start(self) -> None:
        if self.local is None:
            pytest.skip("MONGO_TEST_URI is set: cannot start an external server")
        self.local.start()


@pytest.fixture(scope="session")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    external = os.environ.get("MONGO_TEST_URI")
    if external:
        yield DatabaseServer(external)
        return
    from devtools.dbserver import LocalDatabase

    root: Path = tmp_path_factory.mktemp("secantus")
    local = LocalDatabase(
        root / "data", sync_on_commit=False, test_commands=True, log_path=root / "server.log"
    )
    local.start()
    try:
        yield DatabaseServer(local.uri, local)
    finally:
        local.stop()


@pytest.fixture(scope="session", autouse=True)
def test_environment(database_server: DatabaseServer) -> Iterator[None]:
    """Point every app and helper of this process (and its children) at the test server."""
    saved = {k: os.environ.get(k) for k in [*TEST_ENV, "MONGO_URI"]}
    os.environ.update(TEST_ENV)
    os.environ["MONGO_URI"] = database_server.uri
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def db(database_server: DatabaseServer):
    """A clean application database with its indexes, for one test."""
    import db_utils

    db_utils.connect(database_server.uri)
    db_utils.ensure_indexes()
    database = db_utils.get_database()
    for name in database.list_collection_names():
        if not name.startswith("system."):
            database[name].delete_many({})
    return database


@pytest.fixture
def settings(database_server: DatabaseServer):
    from auth_utils import load_settings

    return load_settings({**TEST_ENV, "MONGO_URI": database_server.uri})


class FakeClock:
    """A settable clock (a real datetime source the test moves by hand, not a stub)."""

    def __init__(self) -> None:
        from auth_utils import utc_now

        self.now = utc_now()

    def __call__(self):
        return self.now

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


LANDING = "http://localhost:4321"
WEB = "http://localhost:3000"


def core_for(settings, clock=None, **options):
    """An auth core on the test database, without the session cache unless asked."""
    from auth_utils import build_core, utc_now

    options.setdefault("cache", False)
    return build_core(settings, clock=clock or utc_now, **options)


@pytest.fixture
def make_core(db, settings, clock):
    """`make_core(**setting_changes)`: a core on the test database with this test's clock
    (`cache=True` for the session cache)."""
    from dataclasses import replace

    made = []

    def make(cache: bool = False, **changes):
        made.append(core_for(replace(settings, **changes), clock, cache=cache))
        return made[-1]

    yield make
    for core in made:
        core.close()


@pytest.fixture
def landing_app(db, settings, clock):
    from landing.app import create_app

    return create_app(core_for(settings, clock))


@pytest.fixture
def landing(landing_app):
    """A TestClient for the landing app that sends our Origin on every request."""
    from starlette.testclient import TestClient

    with TestClient(
        landing_app, base_url=LANDING, headers={"Origin": LANDING}, follow_redirects=False
    ) as client:
        yield client


@pytest.fixture(scope="session")
def django_setup(test_environment):
    """Configure Django once per run, from the test environment."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    import django

    django.setup()


@pytest.fixture
def web_services(db, settings, clock, django_setup):
    """The web app's services rebuilt around this test's clock."""
    from web import services

    return services.configure(core_for(settings, clock))


@pytest.fixture
def web(web_services):
    """Django's test client for the web app, as a browser on WEB_URL would be."""
    from django.test import Client

    return Client(HTTP_HOST="localhost:3000", HTTP_ORIGIN=WEB, enforce_csrf_checks=True,
                  raise_request_exception=False)


@pytest.fixture
def login_session(web_services):
    """Make a user and a session as the landing app would; returns (token, user, session)."""
    from auth_utils import hash_password

    def make(username: str = "alice", password: str = "correct horse"):
        user = web_services.storage.users.create(username, hash_password(password),
                                                 web_services.sessions.clock())
        token, session = web_services.sessions.create_session(user.id, user.username)
        return token, user, session

    return make


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

    landing_port, web_port = free_port(), free_port()
    env = {
        **os.environ, **TEST_ENV, "MONGO_URI": database_uri,
        "LANDING_URL": f"http://localhost:{landing_port}",
        "WEB_URL": f"http://localhost:{web_port}",
        **overrides,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    artifacts.mkdir(parents=True, exist_ok=True)
    procs = [
        AppProcess("landing", env, log_path=artifacts / "landing.log").start(),
        AppProcess("web", env, args=("--noreload",), log_path=artifacts / "web.log").start(),
    ]
    from urllib.parse import urlsplit

    ports = [urlsplit(env[k]).port for k in ("LANDING_URL", "WEB_URL")]
    for proc, port in zip(procs, ports, strict=True):
        if not wait_until_answers(f"http://127.0.0.1:{port}/healthz", 60, proc):
            for p in procs:
                p.stop()
            raise RuntimeError(f"{proc.module} did not start; see {artifacts}")
    return LiveSystem(env["LANDING_URL"], env["WEB_URL"], env), procs


@pytest.fixture(scope="session")
def live_system(database_server, test_environment, tmp_path_factory):
    system, procs = start_live_system(database_server.uri, tmp_path_factory.mktemp("live"))
    yield system
    for proc in procs:
        proc.stop()


ARTIFACTS = Path(__file__).parent / "artifacts"


CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; CI installs it, so there it must be present."""
    import shutil

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's package)")
        pytest.skip("chromium not installed: apt-get install chromium")
    return path


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture
def screenshots(request) -> Path:
    folder = ARTIFACTS / "screenshots" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


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
