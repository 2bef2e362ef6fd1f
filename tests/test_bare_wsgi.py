"""The core is framework-free: a bare WSGI app of under 40 lines (standard library and
auth_utils' public API only) honours the landing app's cookie and refuses it after
log-out through the web app."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest

from devtools.testing import csrf_token

pytestmark = pytest.mark.e2e
APP = Path(__file__).with_name("bare_wsgi_app.py")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def bare_app(monkeypatch):
    # Every validation from the primary: this app answers the moment after a log-out.
    monkeypatch.setenv("SESSION_CACHE", "off")
    spec = importlib.util.spec_from_file_location("bare_wsgi_app", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server = make_server("127.0.0.1", 0, module.application, handler_class=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    module.core.close()


def test_app_is_small_and_imports_no_framework():
    lines = APP.read_text().splitlines()
    assert len(lines) <= 40
    imports = [line for line in lines if line.startswith(("import ", "from "))]
    assert all(line.split()[1].split(".")[0] in {"http", "auth_utils"} for line in imports)


def test_honours_the_landing_cookie_and_refuses_it_after_logout(live_system, bare_app, db):
    L, W = live_system.landing_url, live_system.web_url
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        r = browser.post(f"{L}/signup", data={"username": "wsgi_user",
                                              "password": "correct horse"},
                         headers={"Origin": L})
        assert r.status_code == 303
        token = browser.cookies["auth_session"]
        cookie = {"Cookie": f"auth_session={token}"}
        r = httpx.get(bare_app, headers=cookie)
        assert r.status_code == 200 and r.text == "Hello, wsgi_user!\n"
        assert r.headers["cache-control"] == "no-store"
        r = browser.post(f"{W}/logout", headers={"Origin": W},
                         data={"csrfmiddlewaretoken": csrf_token(browser, W)})
        assert r.status_code == 303
        r = httpx.get(bare_app, headers=cookie)
        assert r.status_code == 401 and "Max-Age=0" in r.headers["set-cookie"]
        assert httpx.get(bare_app, headers={"Cookie": "auth_session=\x7fjunk"}).status_code == 401
