"""Both apps as docs/deploy.md serves them (devtools.serving, two workers each): slow and
idle clients hold sockets, never the workers; a body is read to 64 KiB at most; a killed
worker is replaced while the others serve."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from devtools.testing import SlowClients

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cookie(served_system) -> dict[str, str]:
    L = served_system.landing_url
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        r = client.post(f"{L}/signup", headers={"Origin": L},
                        data={"username": "patient", "password": "correct horse"})
        assert r.status_code == 303
        return {"Cookie": f"auth_session={client.cookies['auth_session']}"}


@pytest.mark.parametrize(("app", "page", "post_path"), [
    ("landing_url", "/login", "/login"), ("web_url", "/", "/logout")])
def test_idle_silent_and_trickling_clients_do_not_stall_the_app(served_system, cookie, app,
                                                                 page, post_path):
    """200 idle keep-alive connections, 2 that never send a byte and 20 POST bodies
    arriving one byte per 0.5 s, with the app's Origin and a CSRF cookie, so that the app
    reads them (Django's CSRF check reads the form once a CSRF cookie is there):
    a normal request is still answered within 1 s. (Under gunicorn's sync workers the
    web app answered after ~38-40 s, the worker timeout; under granian's WSGI interface
    with one blocking thread, not before the trickling body had ended.)"""
    url = getattr(served_system, app)
    port = urlsplit(url).port
    with SlowClients("127.0.0.1", port, idle=200, silent=2, trickling=20, every=0.5,
                     seconds=30, post_path=post_path,
                     headers={"Origin": url, "Cookie": f"web_csrftoken={'a' * 32}"}) as slow:
        assert slow.idle_open == 200  # each idle connection was answered once
        time.sleep(1.0)  # the slow ones have been accepted and are trickling
        timings = []
        for path, headers in (("/healthz", {}), (page, cookie), (page, cookie)):
            start = time.monotonic()
            r = httpx.get(f"{url}{path}", headers=headers, timeout=30, follow_redirects=False)
            timings.append(time.monotonic() - start)
            assert r.status_code in (200, 303), (path, r.status_code)
    print(f"{app}: normal requests beside the slow clients took "
          f"{[round(t, 3) for t in timings]} s")
    assert max(timings) < 1.0, timings


def test_an_oversized_body_is_refused_without_being_read(served_system):
    """web.buffered reads a body before Django runs, and stops at 64 KiB: the glue then
    answers 413 (a chunked upload has no Content-Length to refuse it by)."""
    W = served_system.web_url
    chunks = (b"x" * 1024 for _ in range(200))  # 200 KiB, chunked: no Content-Length
    r = httpx.post(f"{W}/logout", headers={"Origin": W}, content=chunks, timeout=30)
    assert r.status_code == 413 and "Traceback" not in r.text
    port = urlsplit(W).port
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        # Announces 1 GB and sends none of it: refused at once, not waited for.
        sock.sendall(f"POST /logout HTTP/1.1\r\nHost: localhost:{port}\r\nOrigin: {W}\r\n"
                     "Content-Length: 1000000000\r\n\r\n".encode())
        start = time.monotonic()
        answer = sock.recv(200)
        assert answer.startswith(b"HTTP/1.1 413"), answer
        assert time.monotonic() - start < 2.0


def _exchange(port: int, request: bytes, *, until: bytes = b"\r\n\r\n") -> bytes:
    """Send `request` on a new connection; what came back once `until` was seen."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while until not in answer:
            chunk = sock.recv(65536)
            assert chunk, answer
            answer += chunk
        return answer


def test_web_answers_are_well_formed_whatever_their_shape(served_system, cookie):
    """web.buffered.HttpToolsProtocol holds a response's head until its body comes, so
    that both leave in one write: a head with no body (HEAD), a 100 Continue (sent before
    the body is read) and a page with cookies all still arrive whole; Set-Cookie values
    carry no leading space (Django's WSGI handler adds one; h11 refused such a value)."""
    W = served_system.web_url
    port = urlsplit(W).port
    host = f"Host: localhost:{port}\r\n".encode()
    head = _exchange(port, b"HEAD /healthz HTTP/1.1\r\n" + host + b"\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"\r\nserver:" not in head.lower()
    page = _exchange(port, b"GET / HTTP/1.1\r\n" + host + f"Cookie: {cookie['Cookie']}"
                     "\r\nConnection: close\r\n\r\n".encode(), until=b"</html>")
    headers, body = page.split(b"\r\n\r\n", 1)
    assert headers.startswith(b"HTTP/1.1 200"), headers
    assert b"\r\nset-cookie: web_csrftoken=" in headers and b"set-cookie:  " not in headers
    length = int(headers.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
    assert len(body) == length
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        form = b"csrfmiddlewaretoken=x"
        sock.sendall(b"POST /logout HTTP/1.1\r\n" + host + f"Origin: {W}\r\n".encode()
                     + b"Content-Type: application/x-www-form-urlencoded\r\n"
                     + b"Expect: 100-continue\r\n"
                     + f"Content-Length: {len(form)}\r\n\r\n".encode())
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(form)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 403"), answer[:100]  # no CSRF cookie



@pytest.mark.parametrize("app", ["landing_url", "web_url"])
def test_the_server_believes_no_forwarded_header_the_app_does_not(served_system, app):
    """With TRUSTED_PROXIES unset the app's own rule believes no X-Forwarded-* header, and
    the server in front must not either: uvicorn by default rewrote the client address
    and scheme from any loopback peer's headers (`--no-proxy-headers` now). Seen through
    /metrics, served only to this machine (METRICS_ALLOWED_NETWORKS: loopback): a client
    here that claims to be forwarded for another address is still this machine."""
    url = getattr(served_system, app)
    claims = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https",
              "Forwarded": "for=203.0.113.9;proto=https"}
    assert httpx.get(f"{url}/metrics", timeout=10).status_code == 200
    answer = httpx.get(f"{url}/metrics", headers=claims, timeout=10)
    assert answer.status_code == 200, answer.text[:200]

def _workers(master_pid: int) -> set[int]:
    """The master's children that serve (not multiprocessing's resource tracker)."""
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True)
    found = set()
    for pid in out.stdout.split():
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue  # gone meanwhile
        if b"resource_tracker" not in command:
            found.add(int(pid))
    return found


@pytest.mark.parametrize("app", ["landing_url", "web_url"])
def test_a_killed_worker_is_replaced_while_the_other_serves(served_system, cookie, app):
    url = getattr(served_system, app)
    master = served_system.processes[0 if app == "landing_url" else 1].process.pid
    workers = _workers(master)
    assert len(workers) == 2, workers
    victim = max(workers)
    os.kill(victim, signal.SIGKILL)
    killed, statuses = time.monotonic(), []
    while time.monotonic() - killed < 15:
        statuses.append(httpx.get(f"{url}/healthz", timeout=10).status_code)
        now = _workers(master)
        if victim not in now and len(now) >= len(workers):
            break
        time.sleep(0.02)
    replaced = time.monotonic() - killed
    print(f"{app}: worker {victim} SIGKILLed, replaced in {replaced:.2f} s; "
          f"answers meanwhile {set(statuses)}")
    assert victim not in _workers(master) and len(_workers(master)) >= len(workers)
    assert set(statuses) == {200}
    # Usually 0.05-0.5 s. uvicorn's supervisor pings its workers in turn every 0.5 s; a
    # worker killed while its ping is in flight is only given up on after the ping's
    # timeout (`--timeout-worker-healthcheck`, 5 s: the parent holds both ends of the
    # pipe, so no EOF comes). One CI run hit that: 5.03 s.
    assert replaced < 10
