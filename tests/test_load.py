"""A bounded load test across both apps (loopback only, a few seconds)."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections import Counter

import httpx
import pytest

pytestmark = pytest.mark.e2e

CLIENTS = 12
DURATION_S = 5.0
MAX_ROUNDS = 20


def test_many_clients_sign_up_log_in_browse_and_log_out(live_system, db):
    L, W = live_system.landing_url, live_system.web_url
    unexpected: list[str] = []
    signups = Counter()
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + DURATION_S

    def step(client, method, url, expected, **kw):
        start = time.monotonic()
        r = client.request(method, url, **kw)
        with lock:
            latencies.append(time.monotonic() - start)
            if r.status_code != expected:
                unexpected.append(f"{method} {url} -> {r.status_code}")
        return r

    def worker(n: int) -> None:
        with httpx.Client(follow_redirects=False, timeout=30) as client:
            for round_ in range(MAX_ROUNDS):
                if time.monotonic() > deadline:
                    return
                name = f"load{n}x{round_}"
                r = step(client, "POST", f"{L}/signup", 303, headers={"Origin": L},
                         data={"username": name, "password": "correct horse"})
                if r.status_code == 303:
                    with lock:
                        signups[name] += 1
                page = step(client, "GET", f"{W}/", 200)
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
                step(client, "POST", f"{W}/logout", 303, headers={"Origin": W},
                     data={"csrfmiddlewaretoken": token.group(1) if token else ""})
                step(client, "GET", f"{W}/", 302)
                step(client, "POST", f"{L}/login", 303, headers={"Origin": L},
                     data={"username": name, "password": "correct horse"})
                page = step(client, "GET", f"{W}/", 200)
                token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
                step(client, "POST", f"{W}/logout", 303, headers={"Origin": W},
                     data={"csrfmiddlewaretoken": token.group(1) if token else ""})

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    elapsed = time.monotonic() - started
    lat = sorted(latencies)
    print(f"load: {CLIENTS} clients, {len(lat)} requests in {elapsed:.1f} s "
          f"({len(lat) / elapsed:.0f} req/s), {sum(signups.values())} sign-ups, "
          f"p50 {statistics.median(lat) * 1000:.0f} ms, "
          f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.0f} ms, {len(unexpected)} unexpected")
    assert unexpected == []
    assert db.users.count_documents({}) == sum(signups.values()) > 0
    assert db.sessions.count_documents({}) == 0  # every client logged out
