"""The database crashes (SIGKILL) under both apps as deployed (devtools.serving, two
workers each) and comes back on the same port and data: every request meanwhile gets a
503 within 2.5 s, never a 500; both apps recover by themselves within 2 s."""

from __future__ import annotations

import os
import signal
import statistics
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from devtools.testing import csrf_token, parallel

pytestmark = pytest.mark.e2e

WAVES = 3  # of parallel requests: as the outage begins, once known, a while into it
PER_WAVE = 24
BOUND_S = 2.5  # issue 14: every request during an outage answered within this


def _requests(L: str, W: str, cookie: dict[str, str]) -> list[tuple[str, str, str, dict]]:
    """(name, method, url, options) of everything that needs the database."""
    form = {"username": "survivor", "password": "correct horse"}
    return [
        ("landing healthz", "GET", f"{L}/healthz", {}),
        ("web healthz", "GET", f"{W}/healthz", {}),
        ("landing page with session", "GET", f"{L}/", {"headers": cookie}),
        ("web page with session", "GET", f"{W}/", {"headers": cookie}),
        ("web account with session", "GET", f"{W}/account", {"headers": cookie}),
        ("log-in", "POST", f"{L}/login", {"data": form, "headers": {"Origin": L}}),
        ("sign-up", "POST", f"{L}/signup", {"headers": {"Origin": L},
                                            "data": {**form, "username": "newcomer"}}),
    ]

def _recorded_calls(requests: list) -> tuple[Callable[[int], int | str], list]:
    """`call(i)` sends request i (round robin over `requests`) and records (its name, the
    status or the error's name, seconds taken) in `answers`; safe from many threads."""
    answers: list[tuple[str, int | str, float]] = []
    lock = threading.Lock()

    def call(i: int) -> int | str:
        name, method, url, options = requests[i % len(requests)]
        start = time.monotonic()
        try:
            status: int | str = httpx.request(method, url, timeout=30, **options).status_code
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        with lock:
            answers.append((name, status, time.monotonic() - start))
        return status

    return call, answers



def test_a_database_crash_gives_fast_503s_and_both_apps_recover(served_system, db,
                                                                database_server):
    L, W = served_system.landing_url, served_system.web_url
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        r = client.post(f"{L}/signup", data={"username": "survivor", "password": "correct horse"},
                        headers={"Origin": L})
        assert r.status_code == 303
        cookie = {"Cookie": f"auth_session={client.cookies['auth_session']}"}
        assert client.get(f"{W}/", headers=cookie).status_code == 200
    # A session logged out through the served web app (its CSRF token and sessions work
    # under the ASGI worker): it must stay refused through the outage and after it.
    with httpx.Client(follow_redirects=False, timeout=30) as leaver:
        leaver.post(f"{L}/login", data={"username": "survivor", "password": "correct horse"},
                    headers={"Origin": L})
        revoked = {"Cookie": f"auth_session={leaver.cookies['auth_session']}"}
        token = csrf_token(leaver.get(f"{W}/").text)  # sets Django's CSRF cookie too
        r = leaver.post(f"{W}/logout", headers={"Origin": W},
                        data={"csrfmiddlewaretoken": token})
        assert r.status_code == 303

    requests = _requests(L, W, cookie)
    call, answers = _recorded_calls(requests)

    database_server.kill()
    try:
        waves = []
        for wave in range(WAVES):
            waves.append(parallel(PER_WAVE, call))
            time.sleep(0.5 * wave)
        with httpx.Client(timeout=30) as client:  # the revoked cookie, meanwhile
            assert client.get(f"{W}/", headers=revoked).status_code in (302, 503)
            assert client.get(f"{L}/", headers=revoked).status_code in (200, 503)
    finally:
        database_server.start()
    restarted = time.monotonic()

    def up() -> bool:  # new connections, 4 in a row, so both workers of each app answer
        return all(httpx.get(url, headers=cookie, timeout=30).status_code == 200
                   for url in (f"{L}/healthz", f"{W}/healthz", f"{W}/") for _ in range(4))

    while not up() and time.monotonic() - restarted < 10:
        time.sleep(0.05)
    recovery = time.monotonic() - restarted

    latencies = sorted(t for _, _, t in answers)
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(f"outage: {len(answers)} requests in {WAVES} waves, statuses {waves}; latency "
          f"p50 {statistics.median(latencies):.3f} s, p99 {p99:.3f} s, max {latencies[-1]:.3f} s;"
          f" recovered {recovery:.2f} s after the restart")
    assert {status for _, status, _ in answers} == {503}, answers
    slow = [(name, round(t, 2)) for name, _, t in answers if t > BOUND_S]
    assert slow == []
    # (Each worker learns of the outage itself: its first calls wait the driver's 1 s
    # server selection, later ones fail at once; packages/auth_utils test_availability.)
    assert recovery < 2.0

    # Nothing created before the crash was lost; nothing begun during it went through.
    assert db.users.count_documents({"username": "survivor"}) == 1
    assert db.users.count_documents({"username": "newcomer"}) == 0
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        assert client.get(f"{W}/", headers=cookie).status_code == 200
        assert client.get(f"{W}/", headers=revoked).status_code == 302
        assert "survivor" not in client.get(f"{L}/", headers=revoked).text
        r = client.post(f"{L}/login", data={"username": "survivor",
                                            "password": "correct horse"},
                        headers={"Origin": L})
        assert r.status_code == 303


def test_a_hung_database_is_found_as_fast_as_a_crash(served_system, database_server):
    """Security round 3, faults: the database hung (SIGSTOP: connections stay open, nothing
    answers) rather than killed. Every request meanwhile is answered within the same
    2.5 s as in a crash (before: 3.57 s, the driver's socket timeout and its monitor
    being what ended the waits); the apps recover by themselves once it goes on."""
    if database_server.local is None or database_server.local.process is None:
        pytest.skip("MONGO_TEST_URI is set: cannot stop an external server")
    L, W = served_system.landing_url, served_system.web_url
    name = f"hang{os.getpid()}"
    with httpx.Client(follow_redirects=False, timeout=30) as client:
        r = client.post(f"{L}/signup", data={"username": name, "password": "correct horse"},
                        headers={"Origin": L})
        assert r.status_code == 303
        cookie = {"Cookie": f"auth_session={client.cookies['auth_session']}"}
    requests = _requests(L, W, cookie)
    call, answers = _recorded_calls(requests)

    pid = database_server.local.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        for wave in range(WAVES):
            parallel(PER_WAVE, call)
            time.sleep(0.5 * wave)
    finally:
        os.kill(pid, signal.SIGCONT)
    resumed = time.monotonic()

    def up() -> bool:
        return all(httpx.get(url, headers=cookie, timeout=30).status_code == 200
                   for url in (f"{L}/healthz", f"{W}/healthz", f"{W}/") for _ in range(4))

    while not up() and time.monotonic() - resumed < 10:
        time.sleep(0.05)
    recovery = time.monotonic() - resumed
    latencies = sorted(t for _, _, t in answers)
    slowest = max(answers, key=lambda a: a[2])
    print(f"hang: {len(answers)} requests; latency p50 {statistics.median(latencies):.3f} s,"
          f" max {latencies[-1]:.3f} s ({slowest[0]}, {slowest[1]}); recovered "
          f"{recovery:.2f} s after SIGCONT")
    statuses = {status for _, status, _ in answers}
    assert 503 in statuses and statuses <= {200, 503}, answers
    slow = [(n, s, round(t, 2)) for n, s, t in answers if t > BOUND_S]
    assert slow == []
    assert recovery < 5.0
