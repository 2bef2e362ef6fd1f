"""`uv run bench [--seconds N]`: start the local database and real servers on loopback,
drive them, print requests/s, p50/p99 and the ratios of one run."""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from devtools.bench import cache_scale
from devtools.bench.load import Result, drive, driver_name
from devtools.bench.nginx import nginx_binary, start_behind_nginx
from devtools.dbserver import LocalDatabase, free_port
from devtools.processes import AppProcess, start_answering
from devtools.serving import landing_server, web_server

PASSWORD = "correct horse battery"  # noqa: S105 - a benchmark account on loopback


def _serve(module: str, args: tuple[str, ...], env: dict, port: int, logs: Path) -> AppProcess:
    proc = AppProcess(module, env, args=args, log_path=logs / f"{module}-{port}.log")
    if start_answering([(proc, f"http://127.0.0.1:{port}/healthz")]) is not None:
        proc.stop()
        raise RuntimeError(f"{module} {' '.join(args)} did not start; see {logs}")
    return proc


def _landing(env: dict, logs: Path, workers: int = 1) -> tuple[AppProcess, str]:
    port = free_port()
    proc = _serve(*landing_server(port, workers, app="landing.bench:create_bench_app"),
                  env, port, logs)
    return proc, f"http://127.0.0.1:{port}"


def _web(env: dict, logs: Path, settings_module: str = "web.settings", workers: int = 1
         ) -> tuple[AppProcess, str]:
    port = free_port()
    proc = _serve(*web_server(port, workers),
                  {**env, "DJANGO_SETTINGS_MODULE": settings_module}, port, logs)
    return proc, f"http://127.0.0.1:{port}"


def _candidate(kind: str, env: dict, logs: Path, settings_module: str, workers: int
               ) -> tuple[AppProcess, str]:
    """The web app under a server that docs/deploy.md §4 measured against the deployed
    one: gunicorn's sync worker (`web.wsgi`, safe only behind a buffering proxy),
    gunicorn's ASGI worker (Django's ASGI handler, deployed before issue 28), granian's
    WSGI interface with one blocking thread (fast, but a trickling body stalls it)."""
    port = free_port()
    bind = ("--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning")
    module, args = {
        "sync": ("gunicorn", ("web.wsgi:application", *bind)),
        "asgi": ("gunicorn", ("web.asgi:application", "--worker-class", "asgi",
                              "--keep-alive", "5", *bind)),
        "granian": ("granian", ("--interface", "wsgi", "--runtime-mode", "st",
                                "--blocking-threads", "1", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", str(workers),
                                "--log-level", "warning", "web.wsgi:application")),
    }[kind]
    proc = _serve(module, args, {**env, "DJANGO_SETTINGS_MODULE": settings_module}, port, logs)
    return proc, f"http://127.0.0.1:{port}"


def _web_servers(env: dict, logs: Path, seconds: float, rounds: int, conns: int,
                 driver: str, procs: list[AppProcess]) -> None:
    """Issue 28's row: the web page (no authentication) as deployed beside gunicorn's
    sync worker and bare Django (no middleware of ours) on the same server, with one and
    two workers: the price of slow-client safety and of our glue, in one run; and the
    sync worker behind nginx (one nginx worker) when nginx is installed."""
    noauth, bare = "web.bench.noauth_settings", "web.bench.bare_settings"
    for workers in (1, 2):
        starters = {
            "deployed": lambda w=workers: _web(env, logs, noauth, workers=w),
            "sync": lambda w=workers: _candidate("sync", env, logs, noauth, w),
            "bare": lambda w=workers: _candidate("sync", env, logs, bare, w),
            "granian": lambda w=workers: _candidate("granian", env, logs, noauth, w),
            "asgi": lambda w=workers: _candidate("asgi", env, logs, noauth, w),
        }
        started: list[AppProcess] = []
        servers = _servers(started, starters)
        if nginx_binary() is not None:  # the classic setup: nginx buffers for sync workers
            behind, servers["nginx"] = start_behind_nginx(
                {**env, "DJANGO_SETTINGS_MODULE": noauth}, logs, workers)
            started.extend(behind)
        procs.extend(started)
        runs: dict[str, list[Result]] = {name: [] for name in servers}
        for _ in range(rounds):
            for name, url in servers.items():
                runs[name].append(drive(f"{url}/", {}, seconds / rounds, conns, driver))
        results = {name: _median(r) for name, r in runs.items()}
        _header(f"10. web GET / by server, no authentication, {workers} "
                f"worker{'s' * (workers > 1)} each (ratio: vs gunicorn sync)")
        sync = results["sync"]
        _row("gunicorn sync (web.wsgi; needs a buffering proxy)", sync)
        _row("  bare Django on it (no middleware of ours)", results["bare"], sync)
        _row("deployed: uvicorn + web.buffered", results["deployed"], sync)
        _row("  same, vs bare Django on gunicorn sync", results["deployed"], results["bare"])
        if "nginx" in results:
            _row("nginx (buffering) + gunicorn sync", results["nginx"], sync)
        else:
            print("  nginx (buffering) + gunicorn sync: not measured, no nginx here "
                  "(apt-get install nginx)", flush=True)
        _row("granian wsgi st, 1 blocking thread (unsafe)", results["granian"], sync)
        _row("gunicorn -k asgi, web.asgi (before issue 28)", results["asgi"], sync)
        for proc in started:  # two workers each next: leave the cores to them
            proc.stop()
            procs.remove(proc)


def _servers(procs: list[AppProcess],
             starters: dict[str, Callable[[], tuple[AppProcess, str]]]) -> dict[str, str]:
    """Start the servers one after another, each added to `procs` (stopped at the end);
    their URLs by name."""
    servers = {}
    for name, starter in starters.items():
        proc, url = starter()
        procs.append(proc)
        servers[name] = url
    return servers


def _login(landing_url: str, origin: str, username: str) -> str:
    with httpx.Client(follow_redirects=False) as client:
        client.post(f"{landing_url}/signup", headers={"Origin": origin},
                    data={"username": username, "password": PASSWORD})
        r = client.post(f"{landing_url}/login", headers={"Origin": origin},
                        data={"username": username, "password": PASSWORD})
        return r.cookies["auth_session"]


def _row(label: str, result: Result, base: Result | None = None) -> None:
    """One row; requests/s and ratios only when wrk measured them (a Python client
    saturates long before the servers do, and hid a 5x gap once: issue 28)."""
    if result.tool != "wrk":
        print(f"  {label:<46} {'no wrk':>9} {result.p50_ms:8.2f} "
              f"{result.p99_ms:8.2f}      -  {result.errors:>4}", flush=True)
        return
    ratio = f"{result.requests_per_s / base.requests_per_s:5.2f}x" if base else "     -"
    print(f"  {label:<46} {result.requests_per_s:9.0f} {result.p50_ms:8.2f} "
          f"{result.p99_ms:8.2f} {ratio}  {result.errors:>4}", flush=True)


def _cost(tag: str, result: Result, base: Result) -> None:
    """What authentication adds to its baseline, in time per request of the one saturated
    worker (1 / requests per second): a ratio against a baseline that got faster hides
    it (landing's no-cookie row went from 8,229 to 15,164 req/s in issue 28)."""
    if result.tool != "wrk" or base.tool != "wrk":
        print(f"  authentication's cost, {tag}: not measured without wrk", flush=True)
        return
    added = (1 / result.requests_per_s - 1 / base.requests_per_s) * 1e6
    print(f"  authentication's cost, {tag}: {added:+.0f} µs per request at saturation "
          "(1 / req/s)", flush=True)


def _header(title: str) -> None:
    print(f"\n{title}\n  {'':<46} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}  "
          f"{'errs':>4}", flush=True)


def _count_round_trips(env: dict, cache: bool, requests: int = 200) -> None:
    """Database commands per authenticated request (pymongo's command monitoring)."""

    counts: dict[str, list[float]] = {}
    for module in ("landing.bench", "web.bench"):  # each app counts its own, in-process
        result = subprocess.run([sys.executable, "-m", module],
                                capture_output=True, text=True, timeout=300,
                                env={**env, "SESSION_CACHE": "on" if cache else "off",
                                     "BENCH_REQUESTS": str(requests),
                                     # no mail sender: its polls are not the request's
                                     "MAIL": "off"})
        if result.returncode != 0:
            raise RuntimeError(result.stderr[-2000:])
        counts.update(json.loads(result.stdout.strip().splitlines()[-1]))
    for app, (reads, writes) in counts.items():
        print(f"  {app:<8} cache {'on ' if cache else 'off'}: {reads:.3f} reads, "
              f"{writes:.3f} writes per authenticated request ({requests} requests)",
              flush=True)


def _storm(landing_url: str, origin: str, seconds: float, logins: int = 8) -> None:
    def healthz_latencies(until: float) -> list[float]:
        out = []
        with httpx.Client() as client:
            while time.monotonic() < until:
                start = time.perf_counter()
                client.get(f"{landing_url}/healthz")
                out.append((time.perf_counter() - start) * 1000)
                time.sleep(0.005)
        return sorted(out)

    def p99(values: list[float]) -> float:
        return values[max(0, int(len(values) * 0.99) - 1)]

    quiet = healthz_latencies(time.monotonic() + seconds)
    _login(landing_url, origin, "stormer")
    stop = time.monotonic() + seconds
    done = [0]

    def storm(n: int) -> None:  # each client from its own address
        headers = {"Origin": origin, "X-Forwarded-For": f"198.18.0.{n + 1}"}
        with httpx.Client(follow_redirects=False) as client:
            while time.monotonic() < stop:
                client.post(f"{landing_url}/login", headers=headers,
                            data={"username": "stormer", "password": PASSWORD})
                done[0] += 1

    threads = [threading.Thread(target=storm, args=(n,)) for n in range(logins)]
    for t in threads:
        t.start()
    loud = healthz_latencies(stop)
    for t in threads:
        t.join()
    print(f"  healthz alone:        p50 {statistics.median(quiet):6.2f} ms  "
          f"p99 {p99(quiet):6.2f} ms", flush=True)
    print(f"  healthz during storm: p50 {statistics.median(loud):6.2f} ms  "
          f"p99 {p99(loud):6.2f} ms  ({done[0] / seconds:.0f} log-ins/s from {logins} "
          f"clients; p99 ratio {p99(loud) / p99(quiet):.2f}x)", flush=True)


def _several_workers(env: dict, logs: Path, origin: str, seconds: float, conns: int,
                     driver: str, procs: list[AppProcess]) -> None:
    """Issue 13's row 2: the apps as docs/deploy.md runs them, several workers each."""
    servers = _servers(procs, {
        "landing w2": lambda: _landing(env, logs, workers=2),
        "web w2": lambda: _web(env, logs, workers=2),
        "web noauth w2": lambda: _web(env, logs, "web.bench.noauth_settings", workers=2),
        "web w4": lambda: _web(env, logs, workers=4),
        "web noauth w4": lambda: _web(env, logs, "web.bench.noauth_settings", workers=4),
    })
    token = _login(servers["landing w2"], origin, "workers")
    cookie = {"Cookie": f"auth_session={token}"}
    rows = {
        "landing, 2 granian workers: no cookie": (f"{servers['landing w2']}/bench/whoami", {}),
        "landing, 2 granian workers: session": (f"{servers['landing w2']}/bench/whoami",
                                                cookie),
        "web, 2 workers as deployed: no authentication": (f"{servers['web noauth w2']}/", {}),
        "web, 2 workers as deployed: session": (f"{servers['web w2']}/", cookie),
        "web, 4 workers as deployed: no authentication": (f"{servers['web noauth w4']}/", {}),
        "web, 4 workers as deployed: session": (f"{servers['web w4']}/", cookie),
    }
    results = {name: drive(url, headers, seconds, conns, driver)
               for name, (url, headers) in rows.items()}
    _header("9. several workers per app (cache on)")
    names = list(rows)
    for base, authed in zip(names[::2], names[1::2], strict=True):
        _row(base, results[base])
        _row(authed, results[authed], results[base])
    # Log-out seen everywhere: after each log-out answer, the old cookie against every
    # worker of every server (new connections, so the workers take turns).
    answers, accepted, tries = [], 0, 0
    targets = [(servers["landing w2"] + "/bench/whoami", "anonymous"),
               (servers["web w2"] + "/", None), (servers["web w4"] + "/", None)]
    for n in range(10):
        session = _login(servers["landing w2"], origin, f"worker{n}")
        old = {"Cookie": f"auth_session={session}"}
        for url, _ in targets:
            for _ in range(8):
                httpx.get(url, headers=old)
        with httpx.Client(follow_redirects=False) as browser:
            browser.cookies.set("auth_session", session)
            page = browser.get(servers["web w2"] + "/").text
            csrf = page.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
            start = time.perf_counter()
            browser.post(servers["web w2"] + "/logout", headers={"Origin": origin},
                         data={"csrfmiddlewaretoken": csrf})
            answers.append((time.perf_counter() - start) * 1000)
        for url, anonymous in targets:
            for _ in range(8):
                r = httpx.get(url, headers=old, follow_redirects=False)
                tries += 1
                accepted += (r.text != anonymous) if anonymous else r.status_code == 200
    print(f"  log-out answered in p50 {statistics.median(answers):.0f} ms, max "
          f"{max(answers):.0f} ms (the {env.get('SESSION_CACHE_MAX_LAG_MS', '300')} ms "
          f"settle included); revoked cookie accepted {accepted} of {tries} times right "
          "after, across 8 workers of 3 servers", flush=True)


def _flood_clients(landing_url: str, origin: str, clients: int, seconds: float,
                   flood_ips: tuple[str, ...]) -> dict[int, int]:
    """`clients` threads posting malformed names back to back, thread i from address
    `flood_ips[i % len]` (run in a process of its own: here they would starve the
    measuring thread of the GIL)."""
    stop, statuses, lock = time.monotonic() + seconds, Counter(), threading.Lock()

    def flood(flood_ip: str) -> None:
        headers = {"Origin": origin, "X-Forwarded-For": flood_ip}
        with httpx.Client(follow_redirects=False, headers=headers) as client:
            while time.monotonic() < stop:
                r = client.post(f"{landing_url}/login",
                                data={"username": "!!not a name!!", "password": PASSWORD})
                with lock:
                    statuses[r.status_code] += 1

    threads = [threading.Thread(target=flood, args=(flood_ips[i % len(flood_ips)],))
               for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return dict(statuses)


def _flood(landing_url: str, origin: str, seconds: float, label: str, *,
           flood_ips: tuple[str, ...], flooders: int = 32) -> None:
    """Issue 12's row: a legitimate log-in's latency alone and while `flood_ips` flood
    the log-in form with malformed usernames (each would cost an argon2 verify)."""
    _login(landing_url, origin, "legit")

    def legit_latencies(until: float) -> list[float]:
        out = []
        headers = {"Origin": origin, "X-Forwarded-For": "198.51.100.1"}
        with httpx.Client(follow_redirects=False) as client:
            while time.monotonic() < until or len(out) < 5:
                start = time.perf_counter()
                r = client.post(f"{landing_url}/login", headers=headers,
                                data={"username": "legit", "password": PASSWORD})
                out.append((time.perf_counter() - start) * 1000)
                assert r.status_code == 303, r.status_code
                client.cookies.clear()
                time.sleep(0.05)
        return out

    # Alone, flooded, alone, flooded, alone: drift on a shared machine hits both alike.
    quiet, loud, statuses = legit_latencies(time.monotonic() + seconds / 6), [], Counter()
    ctx = multiprocessing.get_context("spawn")
    # At the lowest priority: an attacker's load comes from machines of its own, so here it
    # takes only the CPU the server, the database and the legitimate client leave over.
    with ctx.Pool(1, initializer=os.nice, initargs=(19,)) as pool:
        for _ in range(2):
            flood = pool.apply_async(_flood_clients,
                                     (landing_url, origin, flooders, seconds / 3,
                                      flood_ips))
            time.sleep(0.3)
            loud += legit_latencies(time.monotonic() + seconds / 3 - 0.6)
            statuses.update(flood.get(timeout=seconds + 60))
            quiet += legit_latencies(time.monotonic() + seconds / 6)
    ratio = statistics.median(loud) / statistics.median(quiet)
    print(f"  {label}\n  legitimate log-in alone:        p50 {statistics.median(quiet):7.1f} ms",
          flush=True)
    print(f"  legitimate log-in during flood: p50 {statistics.median(loud):7.1f} ms  "
          f"max {max(loud):7.1f} ms  ({ratio:.2f}x; flood answers: "
          f"{dict(sorted(statuses.items()))})", flush=True)


def _median(results: list[Result]) -> Result:
    return Result(
        statistics.median(r.requests_per_s for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.errors for r in results), results[0].tool,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per row (split in rounds)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rows are measured in interleaved rounds; medians are shown")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--driver", choices=("auto", "wrk", "httpx"), default="auto",
                        help="load generator (auto: wrk when installed)")
    parser.add_argument("--sessions", type=int, default=1_000_000,
                        help="sessions in the collection for section 7 (default 1M, ~3 min "
                             "to insert)")
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 10000],
                        help="active users refreshing in section 6")
    parser.add_argument("--only", type=int, nargs="+", choices=range(1, 12),
                        metavar="SECTION", help="run only these sections (1-11)")
    args = parser.parse_args(argv)
    seconds, conns, rounds = args.seconds, args.connections, max(1, args.rounds)

    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    db = LocalDatabase(workdir / "db", sync_on_commit=False, log_path=workdir / "db.log")
    db.start()
    procs: list[AppProcess] = []
    try:
        env = {**os.environ, "APP_ENV": "test", "MONGO_URI": db.uri,
               "WEB_URL": "http://127.0.0.1:3000",
               "LOGIN_MAX_FAILURES_PER_USER": "1000000",
               "LOGIN_MAX_FAILURES_PER_IP": "1000000", "SIGNUP_MAX_PER_IP": "1000000",
               # Clients are told apart by X-Forwarded-For from loopback (storm, flood).
               "TRUSTED_PROXIES": "127.0.0.1/32,::1/128",
               # The servers share one outbox; only section 11's delivers (to its own
               # SMTP server): a sender with no SMTP server would claim its messages.
               "MAIL_SENDER": "off",
               "BENCH_SQLITE": str(workdir / "django.sqlite3")}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        origin = env.get("LANDING_URL", "http://localhost:4321")
        print(f"bench: {os.cpu_count()} cores, {seconds:g} s per row in {rounds} interleaved "
              f"rounds, {conns} connections, load from "
              f"{driver_name(args.driver)}"
              f"{'' if driver_name(args.driver) == 'wrk' else ' (no wrk: requests/s not shown)'}"
              f"; database: SecantusDB on "
              f"{db.host}:{db.port}", flush=True)

        want = set(args.only or range(1, 12))
        if want & {1, 2, 3, 4, 5}:  # the servers of sections 1-5
            sessionid = _django_session(env)
            off = {**env, "SESSION_CACHE": "off"}
            on = {**env, "SESSION_CACHE": "on"}
            servers = _servers(procs, {
                "landing off": lambda: _landing(off, workdir),
                "landing on": lambda: _landing(on, workdir),
                "web noauth": lambda: _web(off, workdir, "web.bench.noauth_settings"),
                "web django": lambda: _web(off, workdir, "web.bench.django_auth_settings"),
                "web off": lambda: _web(off, workdir),
                "web on": lambda: _web(on, workdir),
            })
            token = _login(servers["landing off"], origin, "bench")
            cookie = {"Cookie": f"auth_session={token}"}
            targets = {
                "landing-noauth-cache off": (f"{servers['landing off']}/bench/whoami", {}),
                "landing-cache off": (f"{servers['landing off']}/bench/whoami", cookie),
                "landing-noauth-cache on": (f"{servers['landing on']}/bench/whoami", {}),
                "landing-cache on": (f"{servers['landing on']}/bench/whoami", cookie),
                "web-noauth": (f"{servers['web noauth']}/", {}),
                "web-django": (f"{servers['web django']}/", {"Cookie": f"sessionid={sessionid}"}),
                "web-cache off": (f"{servers['web off']}/", cookie),
                "web-cache on": (f"{servers['web on']}/", cookie),
            }
            runs: dict[str, list[Result]] = {name: [] for name in targets}
            for _ in range(rounds):  # interleaved, so drift on the machine hits every row alike
                for name, (url, headers) in targets.items():
                    runs[name].append(drive(url, headers, seconds / rounds, conns, args.driver))
            results = {name: _median(r) for name, r in runs.items()}

            _header("1. landing: GET /bench/whoami")
            for tag in ("cache off", "cache on"):
                _row(f"no authentication (no cookie), {tag} server",
                     results[f"landing-noauth-{tag}"])
                _row(f"session cookie validated, {tag}", results[f"landing-{tag}"],
                     results[f"landing-noauth-{tag}"])
            for tag in ("cache off", "cache on"):
                _cost(tag, results[f"landing-{tag}"], results[f"landing-noauth-{tag}"])
            _header("2. web: GET / (as deployed: uvicorn + web.buffered, 1 worker)")
            _row("no authentication (fixed user)", results["web-noauth"])
            _row("Django contrib.auth + contrib.sessions (SQLite)", results["web-django"],
                 results["web-noauth"])
            for tag in ("cache off", "cache on"):
                _row(f"shared session cookie, {tag}", results[f"web-{tag}"], results["web-noauth"])
                _row("  same, vs Django's own stack", results[f"web-{tag}"], results["web-django"])
            for tag in ("cache off", "cache on"):
                _cost(tag, results[f"web-{tag}"], results["web-noauth"])

            print("\n3. database commands per authenticated request", flush=True)
            for cache in (False, True):
                _count_round_trips({**env, "BENCH_TOKEN": token}, cache)
            print(f"\n4. log-in storm (argon2id m=19456 t=2 p=1) vs /healthz, "
                  f"{seconds:g} s each", flush=True)
            _storm(servers["landing on"], origin, seconds)
            print("\n5. a legitimate log-in while 32 clients at one address log in with "
                  "malformed names", flush=True)
            # The address limit as deployed (the flood is over it within 100 attempts, then
            # refused from memory), and none (every admitted attempt is a counter update in
            # the database: the worst case). Each row floods from an address of its own.
            deployed = {k: v for k, v in on.items() if k != "LOGIN_MAX_FAILURES_PER_IP"}
            rows = [(deployed, "per-address limit as deployed"),
                    (on, "per-address limit lifted (each admitted attempt a write)")]
            for n, ((flood_env, limit), workers) in enumerate(itertools.product(rows, (1, 2))):
                proc, url = _landing(flood_env, workdir, workers=workers)
                procs.append(proc)
                _flood(url, origin, seconds, f"landing, {workers} worker{'s' * (workers > 1)}, "
                       f"{limit}:", flood_ips=(f"203.0.113.{66 + n}",))
                proc.stop()  # its cache's change stream would weigh on the later rows
                procs.remove(proc)
            # Security round 3: 16 addresses, each under its limit (lifted here), so none is
            # refused from memory: junk that checks no password is tallied, a write per ten.
            proc, url = _landing(on, workdir, workers=1)
            procs.append(proc)
            _flood(url, origin, seconds, "landing, 1 worker, 16 flooding addresses each "
                   "under its limit (junk tallied, a write per ten attempts):",
                   flood_ips=tuple(f"203.0.113.{100 + i}" for i in range(16)))
            proc.stop()
            procs.remove(proc)
        if 6 in want:
            print("\n6. change events per process while N active users refresh", flush=True)
            for users in args.users:
                cache_scale.events_per_process(db.uri, users)
        if 7 in want:
            print(f"\n7. validation, cache off: 1k sessions vs {args.sessions}", flush=True)
            cache_scale.validation_at_size(db.uri, args.sessions)
        if 8 in want:
            print("\n8. session cache at scale", flush=True)
            cache_scale.hit_ratio_and_memory(db.uri)
        if 9 in want:
            _several_workers({**env, "SESSION_CACHE": "on"}, workdir, origin, seconds, conns,
                             args.driver, procs)
        if 10 in want:
            _web_servers({**env, "SESSION_CACHE": "on"}, workdir, seconds, rounds, conns,
                         args.driver, procs)
        if 11 in want:
            _reset_enumeration(env, workdir, origin, procs)
        print(f"\nbench: done ({os.cpu_count()} cores)", flush=True)
        return 0
    finally:
        for proc in procs:
            proc.stop()
        db.stop()


def _reset_enumeration(env: dict, logs: Path, origin: str, procs: list[AppProcess],
                       samples: int = 60) -> None:
    """Issue 24's row: "Forgot your password?" for a known and an unknown username and
    address, 60 interleaved samples each, one landing worker mailing a local SMTP server
    (devtools.bench.enumeration); the goal is medians within 1.2x."""
    from devtools.bench import enumeration
    from devtools.mailserver import MailServer

    with MailServer() as smtp:
        proc, url = _landing({**env, "SMTP_URL": smtp.url, "MAIL_SENDER": "on",
                              "RESET_MAX_PER_IP": "1000000",
                              "RESET_MAX_PER_ACCOUNT": "1000000"}, logs)
        procs.append(proc)
        try:
            enumeration.prepare(url, smtp, PASSWORD, origin)
            timings = enumeration.measure(url, smtp, samples, origin=origin)
        finally:
            proc.stop()
            procs.remove(proc)
    print(f"\n11. password reset request, known vs unknown ({samples} interleaved samples "
          "each; goal: within 1.2x)", flush=True)
    for timing in timings:
        print(timing.row(), flush=True)


def _django_session(env: dict) -> str:
    """Migrate the SQLite database of the Django-auth baseline; log a user in."""
    denv = {**env, "DJANGO_SETTINGS_MODULE": "web.bench.django_auth_settings"}
    made = subprocess.run([sys.executable, "-m", "web.bench.django_session"], env=denv,
                          capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        raise RuntimeError(made.stderr[-2000:])
    return made.stdout.strip().splitlines()[-1]


if __name__ == "__main__":
    sys.exit(main())
