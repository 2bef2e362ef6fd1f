"""The landing app's outside log-in pages, against the real test provider: the button,
the callback (a cookie binds it to the browser that started), the username page, and
clear error pages (4xx/503, never a 500)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from auth_utils.config import OidcProvider
from devtools.testing import LANDING
from devtools.testing.oidc import free_port


@pytest.fixture
def oidc_landing(oidc_core):
    from landing.app import create_app

    with TestClient(create_app(oidc_core()), base_url=LANDING, headers={"Origin": LANDING},
                    follow_redirects=False) as client:
        yield client


def to_provider(client, path="/login/oidc/testidp", **form):
    started = client.post(path, data={"next": "", **form})
    assert started.status_code == 303, started.text
    assert "oidc_state=" in started.headers["set-cookie"]
    assert "Path=/login/oidc/callback" in started.headers["set-cookie"]
    return started.headers["location"]


def test_button_provider_username_page_and_back_logged_in(oidc_landing, oidc_provider, db):
    for page in ("/login", "/signup"):
        body = oidc_landing.get(page).text
        assert 'action="/login/oidc/testidp"' in body and "Continue with Test IdP" in body
    callback = oidc_provider.log_in(to_provider(oidc_landing), "maria")
    back = oidc_landing.get(callback.removeprefix(LANDING))
    assert (back.status_code, back.headers["location"]) == (303, "/signup/oidc")
    page = oidc_landing.get("/signup/oidc")
    assert page.status_code == 200 and "Test IdP" in page.text and 'value="maria"' in page.text
    taken = oidc_landing.post("/signup/oidc", data={"username": "a"})
    assert taken.status_code == 400 and 'aria-invalid="true"' in taken.text
    done = oidc_landing.post("/signup/oidc", data={"username": "maria"})
    assert done.status_code == 303 and "auth_session=" in done.headers["set-cookie"]
    assert db.linked_identities.count_documents({}) == 1
    # Again: straight in, a session for the same account.
    oidc_landing.cookies.clear()
    callback = oidc_provider.log_in(to_provider(oidc_landing), "maria")
    again = oidc_landing.get(callback.removeprefix(LANDING))
    assert again.status_code == 303 and "auth_session=" in again.headers["set-cookie"]


def test_errors_are_clear_pages(oidc_landing, oidc_provider):
    # No state cookie (another browser's callback): 400, not a log-in.
    callback = oidc_provider.log_in(to_provider(oidc_landing), "nina")
    oidc_landing.cookies.clear()
    refused = oidc_landing.get(callback.removeprefix(LANDING))
    assert refused.status_code == 400 and "did not start in this browser" in refused.text
    assert "auth_session=" not in refused.headers.get("set-cookie", "")
    # Denied consent at the provider: 403.
    callback = oidc_provider.log_in(to_provider(oidc_landing), "nina", abort=True)
    denied = oidc_landing.get(callback.removeprefix(LANDING))
    assert denied.status_code == 403 and "did not allow" in denied.text
    assert oidc_landing.post("/login/oidc/nope", data={}).status_code == 404
    assert oidc_landing.get("/signup/oidc").status_code == 400  # nothing pending
    # A foreign origin cannot start one (the POST is CSRF-checked like every form).
    assert oidc_landing.post("/login/oidc/testidp", data={},
                             headers={"Origin": "https://evil.example"}).status_code == 403


def test_an_unreachable_provider_is_a_503_page(make_core):
    from landing.app import create_app

    down = OidcProvider("down", "Down IdP", f"http://127.0.0.1:{free_port()}", "c", "s",
                        timeout=1.0)
    with TestClient(create_app(make_core(oidc_providers=(down,))), base_url=LANDING,
                    headers={"Origin": LANDING}, follow_redirects=False) as client:
        answer = client.post("/login/oidc/down", data={})
        assert answer.status_code == 503 and "Down IdP is not answering" in answer.text


def test_no_buttons_without_providers(landing):
    assert "/login/oidc/" not in landing.get("/login").text



def test_the_link_confirmation_page_posts_from_the_landing_origin(oidc_landing, db):
    """The web app's "Link" is a link to this page (GET): a logged-in visitor gets a form
    that posts `intent=link` to the same path; a visitor without a session goes to log in;
    an unknown provider is a 404."""
    core = oidc_landing.app.state.core
    out = core.accounts.sign_up("linker", "correct horse", ip="1")
    oidc_landing.cookies.set("auth_session", out.token)
    page = oidc_landing.get("/login/oidc/testidp?intent=link")
    assert page.status_code == 200 and 'name="intent" value="link"' in page.text
    assert 'action="/login/oidc/testidp"' in page.text and "linker" in page.text
    assert oidc_landing.get("/login/oidc/nope?intent=link").status_code == 404
    oidc_landing.cookies.clear()
    assert oidc_landing.get("/login/oidc/testidp?intent=link").status_code == 303
