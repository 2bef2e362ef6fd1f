"""Fixtures of the cross-app tests: both apps as real processes, and Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devtools.testing import ARTIFACTS, CHROMIUM_ARGS, start_live_system
from devtools.testing.environment import chromium_executable

ROOT = Path(__file__).resolve().parents[1]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture(scope="session")
def live_system(database_server, test_environment, tmp_path_factory):
    system, procs = start_live_system(database_server.uri, tmp_path_factory.mktemp("live"))
    yield system
    for proc in procs:
        proc.stop()


@pytest.fixture(scope="session")
def served_system(database_server, test_environment, tmp_path_factory):
    """Both apps as docs/deploy.md serves them (devtools.serving), two workers each."""
    system, procs = start_live_system(database_server.uri, tmp_path_factory.mktemp("served"),
                                      workers=2)
    yield system
    for proc in procs:
        proc.stop()


@pytest.fixture(scope="session")
def live_smtp_server():
    """A real SMTP server for the live systems that send mail, kept for the session (each
    test reads the messages of its own addresses: devtools.testing.mail_to, mailed_link)."""
    from devtools.mailserver import MailServer

    server = MailServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mail_system(database_server, test_environment, tmp_path_factory, live_smtp_server):
    """Both apps as real processes mailing to `live_smtp_server`, with password-reset
    requests limited to 3 per name or address (RESET_MAX_PER_ACCOUNT; the per-client limit
    is raised: every test client is 127.0.0.1) and a 1 s session cache (a test that ages a
    session's re-authentication waits that long)."""
    system, procs = start_live_system(
        database_server.uri, tmp_path_factory.mktemp("mail"), SMTP_URL=live_smtp_server.url,
        RESET_MAX_PER_ACCOUNT="3", RESET_MAX_PER_IP="100000", SESSION_CACHE_TTL_SECONDS="1")
    yield system
    for proc in procs:
        proc.stop()


@pytest.fixture(scope="session")
def unthrottled_mail_system(database_server, test_environment, tmp_path_factory,
                            live_smtp_server):
    """As `mail_system`, with reset requests not throttled (the enumeration timing asks
    for the same names and addresses many times)."""
    system, procs = start_live_system(
        database_server.uri, tmp_path_factory.mktemp("unthrottled"),
        SMTP_URL=live_smtp_server.url, RESET_MAX_PER_ACCOUNT="100000",
        RESET_MAX_PER_IP="100000")
    yield system
    for proc in procs:
        proc.stop()


@pytest.fixture(scope="session")
def oidc_system(database_server, test_environment, tmp_path_factory):
    """Both apps as real processes with one outside provider (panva's oidc-provider,
    started for the session on a free port, devtools.testing.oidc) in OIDC_PROVIDERS:
    (the live system, the provider)."""
    import json

    from devtools.dbserver import free_port
    from devtools.testing.oidc import provider_client, start_oidc_provider

    landing_url = f"http://localhost:{free_port()}"
    provider = start_oidc_provider([provider_client(
        redirect_uri=f"{landing_url}/login/oidc/callback")])
    try:
        system, procs = start_live_system(
            database_server.uri, tmp_path_factory.mktemp("oidc"), LANDING_URL=landing_url,
            OIDC_PROVIDERS=json.dumps([provider.settings_entry()]))
    except BaseException:
        provider.stop()
        raise
    yield system, provider
    for proc in procs:
        proc.stop()
    provider.stop()


@pytest.fixture
def partner_system(live_system, make_core, tmp_path):
    """The live system and the example partner app (apps/partner) as a real process on
    another site, registered for this test (its database is this test's): (the live
    system, the partner's URL, the core it was registered with)."""
    from devtools.testing import start_partner

    core = make_core()
    url, process = start_partner(live_system, core.openid, tmp_path)
    yield live_system, url, core
    process.stop()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; CI installs it, so there it must be present."""
    path = chromium_executable()
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
def browser(playwright_instance, chromium_path):
    """One headless Chromium for a test."""
    browser = playwright_instance.chromium.launch(
        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, from the npm package package-lock.json pins (installed with
    `npm ci` once if missing: the only network use, before any test runs a page)."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("CI"):
                pytest.fail("npm is not installed: the accessibility test needs axe-core "
                            "(`npm ci` at the repository root)")
            pytest.skip("npm not installed: run `npm ci` for the accessibility test")
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=ROOT,
                              capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0 or not AXE.exists():
            pytest.fail(f"`npm ci` did not install axe-core:\n{done.stderr[-2000:]}")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def screenshots(request) -> Path:
    folder = ARTIFACTS / "screenshots" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
