"""The apps' fixtures, a pytest plugin (the root conftest.py registers it): the landing
app and a client for it, Django set up and a client for the web app, each on the auth core
of the root conftest's `make_core`. Tests of both apps and the cross-app tests use them."""

from __future__ import annotations

import os

import pytest

from devtools.testing.environment import LANDING, WEB


@pytest.fixture
def landing_app(make_core):
    from landing.app import create_app

    return create_app(make_core())


@pytest.fixture
def landing(landing_app):
    """A TestClient for the landing app that sends our Origin on every request."""
    from starlette.testclient import TestClient

    with TestClient(
        landing_app, base_url=LANDING, headers={"Origin": LANDING}, follow_redirects=False
    ) as client:
        yield client


@pytest.fixture
def served_landing(make_core):
    """The landing app served by uvicorn in a thread on a free loopback port (its issuer,
    LANDING_URL, on that port; its lifespan runs the mail and logout senders): (the core,
    its origin). For clients that must reach the provider over HTTP."""
    import threading
    import time

    import uvicorn

    from devtools.dbserver import free_port
    from landing.app import create_app

    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    core = make_core(landing_url=origin)
    server = uvicorn.Server(uvicorn.Config(create_app(core), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="landing-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield core, origin
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def django_setup(test_environment):
    """Configure Django once per run, from the test environment."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "web.settings")
    import django

    django.setup()


@pytest.fixture
def web_services(make_core, django_setup):
    """The web app's auth core rebuilt around this test's clock."""
    from web import services

    return services.configure(make_core())


@pytest.fixture
def web(web_services):
    """Django's test client for the web app, as a browser on WEB_URL would be."""
    from django.test import Client

    return Client(HTTP_HOST="localhost:3000", HTTP_ORIGIN=WEB, enforce_csrf_checks=True,
                  raise_request_exception=False)


@pytest.fixture(scope="session")
def oidc_provider():
    """panva's oidc-provider (npm) as a Node process on a free loopback port, for the whole
    run, with two clients: "monorepo" (ours) and "other" (another relying party); stopped
    by its pid. devtools.testing.oidc drives its log-in pages."""
    from devtools.testing.oidc import provider_client, start_oidc_provider

    provider = start_oidc_provider([provider_client(),
                                    provider_client("other", "other-client-secret")])
    yield provider
    provider.stop()


@pytest.fixture
def oidc_core(make_core, oidc_provider):
    """`oidc_core(**provider_options)`: an auth core whose one outside provider
    ("testidp") is the test provider, as client "monorepo"."""
    from auth_utils.config import OidcProvider

    def make(index: int = 0, **options):
        entry = oidc_provider.settings_entry(index, **options)
        return make_core(oidc_providers=(OidcProvider(**entry),))

    return make
