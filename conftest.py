"""The base every test stands on: one real database server per run, a clean database per
test, the test environment, settings, a settable clock and auth cores built on them.

Set `MONGO_TEST_URI` to run the suite against another MongoDB instead of the SecantusDB
server started here. Nothing is mocked: every test talks to a server over a socket.
The apps' fixtures (`landing`, `web` and what they stand on) are in the plugin
devtools.testing.fixtures, since tests of both apps and the cross-app tests use them; each
member's own fixtures are in its tests' conftest.py; helpers in devtools.testing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from devtools.testing import TEST_ENV

pytest_plugins = ["devtools.testing.fixtures"]


@dataclass
class DatabaseServer:
    """The run's database; `stop()` or `kill()` then `start()` make an outage on the same
    port and data."""

    uri: str
    local: object | None = None  # devtools.dbserver.LocalDatabase when we started it

    def stop(self) -> None:
        if self.local is None:
            pytest.skip("MONGO_TEST_URI is set: cannot stop an external server")
        self.local.stop()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would. The test server runs without
        `--sync-on-commit` (recent writes die with it), so this first flushes what the
        test wrote (`fsync`): a crash test, not a durability one."""
        if self.local is None:
            pytest.skip("MONGO_TEST_URI is set: cannot kill an external server")
        from pymongo import MongoClient

        with MongoClient(self.uri, serverSelectionTimeoutMS=5000) as client:
            client.admin.command("fsync")
        self.local.kill()

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
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_core(db, settings, clock):
    """`make_core(**setting_changes)`: an auth core on the test database with this test's
    clock, without the session cache unless `cache=True` (`cache=None`: as the settings
    say)."""
    from auth_utils import build_core

    made = []

    def make(cache: bool | None = False, **changes):
        made.append(build_core(replace(settings, **changes), clock=clock, cache=cache))
        return made[-1]

    yield make
    for core in made:
        core.close()


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives
    (devtools.mailserver.MailServer: `.received`, `.wait_for(n)`, `stop()`/`start()`)."""
    from devtools.mailserver import MailServer

    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture
def mail_core(make_core, smtp_server):
    """`mail_core(**setting_changes)`: an auth core whose mail goes to `smtp_server`, its
    mail sender started with the tests' short lease and backoff (FAST_MAIL_SENDER)."""
    from devtools.testing import FAST_MAIL_SENDER

    def make(**changes):
        made = make_core(**{"smtp_url": smtp_server.url, **changes})
        made.start_mail_sender(**FAST_MAIL_SENDER)
        return made

    return make


@pytest.fixture
def core(make_core):
    """An auth core with the test settings (no session cache)."""
    return make_core()
