"""Two processes of each app with the session cache on: a log-out through one is refused
by every other one (reported as a distribution; the bound asserted is the cache TTL)."""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from devtools.testing import TEST_ENV, csrf_token

pytestmark = pytest.mark.e2e

TRIALS = 10


@pytest.fixture(scope="module")
def four_processes(database_server, test_environment, tmp_path_factory):
    import os

    from devtools.dbserver import free_port
    from devtools.processes import AppProcess, wait_until_answers

    logs = tmp_path_factory.mktemp("four")
    ports = {name: free_port() for name in ("landing1", "landing2", "web1", "web2")}
    env = {**os.environ, **TEST_ENV, "MONGO_URI": database_server.uri, "SESSION_CACHE": "on",
           "LANDING_URL": f"http://localhost:{ports['landing1']}",
           "WEB_URL": f"http://localhost:{ports['web1']}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    procs = [
        AppProcess("uvicorn", env, args=("landing.app:create_app", "--factory", "--port",
                                         str(ports[name]), "--log-level", "warning"),
                   log_path=logs / f"{name}.log")
        for name in ("landing1", "landing2")
    ] + [
        AppProcess("web", env, args=("runserver", f"127.0.0.1:{ports[name]}", "--noreload"),
                   log_path=logs / f"{name}.log")
        for name in ("web1", "web2")
    ]
    for proc in procs:
        proc.start()
    try:
        for proc, port in zip(procs, ports.values(), strict=True):
            assert wait_until_answers(f"http://127.0.0.1:{port}/healthz", 60, proc)
        yield {name: f"http://localhost:{port}" for name, port in ports.items()}, env
    finally:
        for proc in procs:
            proc.stop()


def test_logout_through_one_process_is_refused_by_all_others(four_processes, db):
    urls, env = four_processes
    landing_origin, web_origin = env["LANDING_URL"], env["WEB_URL"]
    delays: dict[str, list[float]] = {"landing1": [], "landing2": [], "web2": []}
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        for n in range(TRIALS):
            client.cookies.clear()
            r = client.post(f"{urls['landing1']}/signup", headers={"Origin": landing_origin},
                            data={"username": f"multi{n}", "password": "correct horse"})
            assert r.status_code == 303
            token = client.cookies["auth_session"]
            # Warm every process's cache with this session.
            for _ in range(2):
                for name in ("landing1", "landing2"):
                    assert client.get(f"{urls[name]}/").status_code == 303
                for name in ("web1", "web2"):
                    assert client.get(f"{urls[name]}/").status_code == 200
            page = client.get(f"{urls['web1']}/").text
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
            r = client.post(f"{urls['web1']}/logout", headers={"Origin": web_origin},
                            data={"csrfmiddlewaretoken": csrf})
            assert r.status_code == 303
            logged_out = time.monotonic()
            cookie = {"Cookie": f"auth_session={token}"}
            pending = set(delays)
            deadline = logged_out + 6.0  # the cache TTL (5 s) bounds it whatever happens
            while pending and time.monotonic() < deadline:
                for name in sorted(pending):
                    r = client.get(f"{urls[name]}/", headers=cookie)
                    refused = r.status_code == (200 if name.startswith("landing") else 302)
                    if refused:
                        delays[name].append(time.monotonic() - logged_out)
                        pending.discard(name)
            assert not pending, f"still accepted by {pending}"
    everything = sorted(d for ds in delays.values() for d in ds)
    print("log-out seen by other processes (ms): "
          f"p50 {statistics.median(everything) * 1000:.1f}, "
          f"max {everything[-1] * 1000:.1f}, n={len(everything)}; "
          + ", ".join(f"{k} max {max(v) * 1000:.1f}" for k, v in delays.items()))


def accepted(name: str, status: int) -> bool:
    """Did this app treat the request as logged in?"""
    return status == (303 if name.startswith("landing") else 200)


def replay_while(urls: dict[str, str], targets: list[str], tokens: list[str],
                 act: Callable[[], None], *, threads: int,
                 load: Callable[[threading.Event], None] | None = None
                 ) -> tuple[list[tuple[float, str, int]], float]:
    """Replay `tokens` round-robin to `targets` from `threads` threads (and run `load` in
    two more, when given) while `act()` happens after 0.5 s: every replay's (sent, app,
    status), and when `act` was answered. A replay thread that dies fails the test: it
    must not pass for a refusal."""
    stop, lock = threading.Event(), threading.Lock()
    replays: list[tuple[float, str, int]] = []
    errors: list[BaseException] = []

    def replay(n: int) -> None:
        try:
            with httpx.Client(follow_redirects=False, timeout=10) as client:
                i = n
                while not stop.is_set():
                    name, token = targets[i % len(targets)], tokens[i % len(tokens)]
                    sent = time.monotonic()
                    r = client.get(f"{urls[name]}/", headers={"Cookie": f"auth_session={token}"})
                    client.cookies.clear()  # only ever the replayed cookie
                    with lock:
                        replays.append((sent, name, r.status_code))
                    i += 1
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=replay, args=(n,)) for n in range(threads)]
    if load is not None:
        workers += [threading.Thread(target=load, args=(stop,)) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        time.sleep(0.5)
        act()
        answered = time.monotonic()
        time.sleep(1.0)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=30)
    assert not errors, errors
    return replays, answered


@pytest.mark.parametrize("load", ["idle", "log-in load"])
def test_no_revoked_session_is_accepted_once_the_revocation_is_answered(
        four_processes, db, load):
    """The red team's race: cookies replayed from 8 threads against the other processes
    while the user logs out every other session in web1. Not one replay sent after the
    303 arrived may be accepted."""
    urls, env = four_processes
    landing_origin, web_origin = env["LANDING_URL"], env["WEB_URL"]
    user = f"bulk_{load.split()[0]}"
    form = {"username": user, "password": "correct horse"}
    with httpx.Client(follow_redirects=False, timeout=10) as me:
        assert me.post(f"{urls['landing1']}/signup", headers={"Origin": landing_origin},
                       data=form).status_code == 303
        victims = []
        for _ in range(30):
            with httpx.Client(follow_redirects=False, timeout=10) as other:
                other.post(f"{urls['landing1']}/login", headers={"Origin": landing_origin},
                           data=form)
                victims.append(other.cookies["auth_session"])
        targets = ["landing1", "landing2", "web2"]
        with httpx.Client(timeout=10) as warm:  # every process caches every victim
            for token in victims:
                for name in targets:
                    warm.get(f"{urls[name]}/", headers={"Cookie": f"auth_session={token}"})
                    warm.cookies.clear()

        def log_in_load(stop: threading.Event) -> None:
            with httpx.Client(timeout=10) as client:
                while not stop.is_set():
                    client.post(f"{urls['landing2']}/login", headers={"Origin": landing_origin},
                                data={"username": user, "password": "wrong password"})

        def revoke_others() -> None:
            r = me.post(f"{urls['web1']}/account/sessions/revoke-others",
                        headers={"Origin": web_origin},
                        data={"csrfmiddlewaretoken": csrf_token(me, f"{urls['web1']}/account")})
            assert r.status_code == 303

        replays, answered = replay_while(urls, targets, victims, revoke_others, threads=8,
                                         load=None if load == "idle" else log_in_load)
    before = sum(accepted(name, status) for sent, name, status in replays if sent < answered)
    after = [(round((sent - answered) * 1000, 1), name) for sent, name, status in replays
             if sent > answered and accepted(name, status)]
    sent_after = sum(1 for sent, _, _ in replays if sent > answered)
    print(f"{load}: {before} replays accepted before the answer, {len(after)} of "
          f"{sent_after} after it")
    assert before > 0  # the caches were serving these sessions
    assert sent_after > 0 and after == []


def test_a_session_trimmed_at_the_cap_is_refused_by_all_others_within_max_lag(
        four_processes, db):
    """A log-in at the 50-session cap ends the user's oldest session without waiting for
    the other processes (it is no revocation anybody asked for); their caches must still
    stop accepting it within the feed's max lag (300 ms), whatever they had cached."""
    urls, env = four_processes
    origin = {"Origin": env["LANDING_URL"]}
    form = {"username": "capped", "password": "correct horse"}
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        assert client.post(f"{urls['landing1']}/signup", headers=origin,
                           data=form).status_code == 303
        oldest = client.cookies["auth_session"]
        for _ in range(49):  # 50 sessions: the cap
            client.cookies.clear()
            assert client.post(f"{urls['landing1']}/login", headers=origin,
                               data=form).status_code == 303
    targets = ["landing2", "web1", "web2"]
    with httpx.Client(follow_redirects=False, timeout=10) as warm:
        for name in targets:
            r = warm.get(f"{urls[name]}/", headers={"Cookie": f"auth_session={oldest}"})
            assert accepted(name, r.status_code)
    def fifty_first_log_in() -> None:
        with httpx.Client(follow_redirects=False, timeout=10) as fifty_first:
            r = fifty_first.post(f"{urls['landing1']}/login", headers=origin, data=form)
        assert r.status_code == 303

    replays, answered = replay_while(urls, targets, [oldest], fifty_first_log_in,
                                     threads=6)
    assert db.sessions.count_documents({"username": "capped"}) == 50
    logged_out = {"landing2": 200, "web1": 302, "web2": 302}
    late = [(name, status) for sent, name, status in replays if sent > answered + 0.3]
    last = max((sent - answered for sent, name, status in replays
                if status != logged_out[name]), default=None)
    print(f"trimmed session last accepted {last and round(last * 1000)} ms after the "
          f"answer; {len(late)} replays more than 300 ms after it")
    assert any(status != logged_out[name] for sent, name, status in replays
               if sent < answered)  # the caches were serving it
    assert {name for name, _ in late} == set(targets)  # every process was asked late
    assert all(status == logged_out[name] for name, status in late), late
