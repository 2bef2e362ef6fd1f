"""Fixtures of the cross-app tests: both apps as real processes, and Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from devtools.testing import ARTIFACTS, start_live_system


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
def chromium_path() -> str:
    """Debian's Chromium; CI installs it, so there it must be present."""
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
