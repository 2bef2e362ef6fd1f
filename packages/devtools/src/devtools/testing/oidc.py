"""A real OpenID Connect provider for the tests (panva's oidc-provider, from npm, started
as a Node process on a free loopback port and stopped by its pid), and a driver for its
development log-in pages over HTTP.

`start_oidc_provider(clients)` -> OidcTestProvider; `provider.log_in(url, login)` follows
an authorization URL through the provider's log-in (any login name; it becomes `sub`)
and consent forms, and returns the URL the provider sent the browser back to (our
callback, not requested). Needs `npm ci` (package.json pins oidc-provider).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import httpx

__all__ = ["CALLBACK", "OidcTestProvider", "free_port", "provider_client", "start_oidc_provider"]

SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
ROOT = Path(__file__).resolve().parents[5]
CALLBACK = "http://localhost:4321/login/oidc/callback"  # the landing app's, in tests

_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*method="post"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def provider_client(client_id: str = "monorepo",
                    secret: str = "test-client-secret",  # noqa: S107 - a test provider's
                    redirect_uri: str = CALLBACK) -> dict:
    return {"client_id": client_id, "client_secret": secret, "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"], "response_types": ["code"]}


@dataclass
class OidcTestProvider:
    issuer: str
    process: subprocess.Popen
    clients: list[dict]
    output: list[str] = field(default_factory=list)

    def settings_entry(self, index: int = 0, **extra: object) -> dict:
        """An OIDC_PROVIDERS entry for client `index` of this provider."""
        client = self.clients[index]
        return {"id": extra.pop("id", "testidp"), "name": extra.pop("name", "Test IdP"),
                "issuer": self.issuer, "client_id": client["client_id"],
                "client_secret": client["client_secret"], **extra}

    def log_in(self, authorization_url: str, login: str, *, abort: bool = False,
               http: httpx.Client | None = None) -> str:
        """Drive the provider's dev pages as a browser would: the URL of the redirect to
        the client's callback (`abort`: the user cancels instead)."""
        own = http is None
        http = http or httpx.Client(timeout=10)
        try:
            url = authorization_url
            for _ in range(20):
                response = http.get(url)
                if response.is_redirect:
                    url = urljoin(url, response.headers["location"])
                    if not url.startswith(self.issuer):
                        return url
                    continue
                page = response.text
                if abort:
                    found = re.search(r'href="([^"]*/abort)"', page)
                    assert found, page[:500]
                    url = urljoin(url, html.unescape(found.group(1)))
                    abort = False
                    continue
                form = _FORM.search(page)
                assert form, f"no form at {url}: {page[:300]}"
                data = dict(_HIDDEN.findall(form.group(2)))
                if data.get("prompt") == "login":
                    data |= {"login": login, "password": "any password"}
                posted = http.post(urljoin(url, html.unescape(form.group(1))), data=data)
                assert posted.is_redirect, posted.text[:300]
                url = urljoin(url, posted.headers["location"])
                if not url.startswith(self.issuer):
                    return url
            raise AssertionError("the provider never sent the browser back")
        finally:
            if own:
                http.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def start_oidc_provider(clients: list[dict] | None = None, *, timeout: float = 20
                        ) -> OidcTestProvider:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError("the OIDC tests need Node.js and `npm ci` (oidc-provider)")
    clients = clients or [provider_client()]
    port = free_port()
    process = subprocess.Popen(
        [node, str(SCRIPT)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, "PORT": str(port), "OIDC_CLIENTS": json.dumps(clients),
                        "NODE_NO_WARNINGS": "1"})
    provider = OidcTestProvider(f"http://127.0.0.1:{port}", process, clients)
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            provider.output.append(line.rstrip())
            if line.startswith("ready "):
                ready.set()

    threading.Thread(target=read, name="oidc-provider-output", daemon=True).start()
    if not ready.wait(timeout):
        provider.stop()
        raise RuntimeError("oidc-provider did not start: " + " | ".join(provider.output[-5:]))
    return provider
