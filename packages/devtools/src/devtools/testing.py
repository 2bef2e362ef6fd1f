"""Test support shared by every member's tests: the test environment, the apps as real
processes, HTTP helpers and assertions. (Fixtures live in the conftest files; this module
holds what they and the tests import.)"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from db_utils.monitoring import CommandCounter

__all__ = [
    "ARTIFACTS",
    "CHROMIUM_ARGS",
    "FAST_MAIL_SENDER",
    "LANDING",
    "TEST_ENV",
    "WEB",
    "CommandCounter",
    "LiveSystem",
    "SlowClients",
    "SoftAuthenticator",
    "assert_only_valid_users",
    "assert_redirect_stays_home",
    "csrf_of",
    "csrf_token",
    "metric_value",
    "parallel",
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
    # Given explicitly, so a production-mode test process starts; the mail tests start
    # their own SMTP servers and point their cores at them.
    "SMTP_URL": "smtp://127.0.0.1:8025",
    "MAIL_FROM": "Monorepo Auth <no-reply@localhost>",
}

def _fast_mail_sender() -> dict:
    from datetime import timedelta

    from db_utils.outbox import Retry

    return {"lease": timedelta(seconds=2), "poll_every": 0.05, "timeout": 2.0,
            "retry": Retry(first_delay=timedelta(seconds=0.2), max_delay=timedelta(seconds=1),
                           max_attempts=100)}


# MailSender options for tests (`core.start_mail_sender(**FAST_MAIL_SENDER)`): a 2 s lease
# (a killed sender's message is free again soon), backoff from 0.2 s up to 1 s.
FAST_MAIL_SENDER = _fast_mail_sender()

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


def parallel(n: int, call: Callable[[int], object]) -> Counter:
    """Run `call(i)` in n threads released at once (a barrier), as an attacker's parallel
    requests would arrive; count what the calls returned."""
    barrier, results, lock = threading.Barrier(n), Counter(), threading.Lock()

    def run(i: int) -> None:
        barrier.wait(timeout=30)
        result = call(i)
        with lock:
            results[result] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


class SlowClients:
    """What slow or idle clients do to a server, on real sockets: `idle` keep-alive
    connections that made one request and stay open, `silent` connections that never send
    a byte, and `trickling` POSTs whose body arrives one byte every `every` seconds. A
    context manager; everything closes on exit (the trickle is bounded by `seconds`)."""

    def __init__(self, host: str, port: int, *, idle: int = 200, silent: int = 2,
                 trickling: int = 2, every: float = 0.5, seconds: float = 60.0,
                 path: str = "/healthz", post_path: str = "/login") -> None:
        self.address, self.path, self.post_path = (host, port), path, post_path
        self.counts, self.every, self.seconds = (idle, silent, trickling), every, seconds
        self.sockets: list[socket.socket] = []
        self.idle_open = 0  # idle connections the server answered and kept open
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self.address, timeout=10)
        self.sockets.append(sock)
        return sock

    def _trickle(self, sock: socket.socket) -> None:
        body = b"username=slow&password=slowslowslow"
        deadline = time.monotonic() + self.seconds
        host = f"{self.address[0]}:{self.address[1]}"
        try:
            sock.sendall(f"POST {self.post_path} HTTP/1.1\r\nHost: {host}\r\n"
                         "Content-Type: application/x-www-form-urlencoded\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode())
            for byte in body:
                if self._stop.wait(self.every) or time.monotonic() > deadline:
                    return
                sock.sendall(bytes([byte]))
        except OSError:
            return  # the server gave up on us: that is allowed

    def __enter__(self) -> SlowClients:
        idle, silent, trickling = self.counts
        host = f"{self.address[0]}:{self.address[1]}"
        for _ in range(idle):
            sock = self._connect()
            sock.sendall(f"GET {self.path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            with contextlib.suppress(OSError):
                self.idle_open += bool(sock.recv(65536))
        for _ in range(silent):
            self._connect()
        for _ in range(trickling):
            thread = threading.Thread(target=self._trickle, args=(self._connect(),),
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()


def csrf_token(page: object, path: str = "/") -> str:
    """Django's CSRF form token from a page's HTML, or from `path` fetched with a client
    (Django's test client or httpx)."""
    if not isinstance(page, str):
        response = page.get(path)  # type: ignore[attr-defined]
        page = response.text if hasattr(response, "text") else response.content.decode()
    token = csrf_of(page)
    assert token, "no CSRF token on the page"
    return token


def csrf_of(page: str) -> str:
    """Django's CSRF form token in a page's HTML ('' when there is none, e.g. a 503)."""
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    return found.group(1) if found else ""


@dataclass
class LiveSystem:
    """Both apps as real server processes (as in development) on free loopback ports."""

    landing_url: str
    web_url: str
    env: dict
    processes: list = field(default_factory=list)  # AppProcess of landing, web


def start_live_system(database_uri: str, artifacts: Path, *, workers: int | None = None,
                      ready_path: str = "/healthz", **overrides: str):
    """Start landing and web as real processes: `python -m landing` / `python -m web`
    (as in development), or with `workers` as production serves them (devtools.serving:
    uvicorn and gunicorn's ASGI worker, that many processes each); ready once
    `ready_path` answers (a path that needs no database when there is none)."""
    from devtools.dbserver import free_port
    from devtools.processes import AppProcess, wait_until_answers
    from devtools.serving import landing_server, web_server

    env = {
        **os.environ, **TEST_ENV, "MONGO_URI": database_uri,
        "LANDING_URL": f"http://localhost:{free_port()}",
        "WEB_URL": f"http://localhost:{free_port()}",
        **overrides,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    artifacts.mkdir(parents=True, exist_ok=True)
    ports = [urlsplit(env[k]).port for k in ("LANDING_URL", "WEB_URL")]
    if workers is None:
        commands = [("landing", ()), ("web", ("--noreload",))]
    else:
        commands = [landing_server(ports[0], workers), web_server(ports[1], workers)]
    procs = [AppProcess(module, env, args=args, log_path=artifacts / f"{name}.log").start()
             for name, (module, args) in zip(("landing", "web"), commands, strict=True)]
    for proc, port in zip(procs, ports, strict=True):
        if not wait_until_answers(f"http://127.0.0.1:{port}{ready_path}", 60, proc):
            for p in procs:
                p.stop()
            raise RuntimeError(f"{proc.module} did not start; see {artifacts}")
    return LiveSystem(env["LANDING_URL"], env["WEB_URL"], env, procs), procs


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


class SoftAuthenticator:
    """A software passkey for server-side tests: makes the registration and assertion
    JSON a browser would send (attestation "none", ES256), so tests can bend one field
    at a time (origin, RP id, sign count, user handle) the way an attacker would. The
    browser tests use Chromium's own virtual authenticator instead."""

    def __init__(self, rp_id: str = "localhost", origin: str = LANDING) -> None:
        import secrets

        from cryptography.hazmat.primitives.asymmetric import ec

        self.rp_id, self.origin = rp_id, origin
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.sign_count = 0
        self.user_handle = b""

    @staticmethod
    def b64(data: bytes) -> str:
        import base64

        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def _client_data(self, kind: str, options: dict, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": options["challenge"],
                           "origin": origin or self.origin, "crossOrigin": False}).encode()

    def _auth_data(self, flags: int, rp_id: str | None, extra: bytes = b"") -> bytes:
        import hashlib

        return (hashlib.sha256((rp_id or self.rp_id).encode()).digest() + bytes([flags])
                + self.sign_count.to_bytes(4, "big") + extra)

    def register(self, options_json: str, *, origin: str | None = None) -> dict:
        import cbor2

        options = json.loads(options_json)
        self.user_handle = _b64decode(options["user"]["id"])
        numbers = self.key.public_key().public_numbers()
        cose = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})
        attested = bytes(16) + len(self.credential_id).to_bytes(2, "big") + \
            self.credential_id + cose
        auth_data = self._auth_data(0x45, None, attested)  # UP, UV, attested data
        client_data = self._client_data("webauthn.create", options, origin)
        return {"id": self.b64(self.credential_id), "rawId": self.b64(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": self.b64(client_data), "transports": [
                    "internal"], "attestationObject": self.b64(cbor2.dumps(
                        {"fmt": "none", "attStmt": {}, "authData": auth_data}))}}

    def assert_(self, options_json: str, *, origin: str | None = None,
                rp_id: str | None = None, user_handle: bytes | None = None,
                count: int | None = None) -> dict:
        import hashlib

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        options = json.loads(options_json)
        self.sign_count = self.sign_count + 1 if count is None else count
        auth_data = self._auth_data(0x05, rp_id)  # UP, UV
        client_data = self._client_data("webauthn.get", options, origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        return {"id": self.b64(self.credential_id), "rawId": self.b64(self.credential_id),
                "type": "public-key", "clientExtensionResults": {},
                "response": {"clientDataJSON": self.b64(client_data),
                             "authenticatorData": self.b64(auth_data),
                             "signature": self.b64(signature),
                             "userHandle": self.b64(user_handle if user_handle is not None
                                                    else self.user_handle)}}


def _b64decode(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
