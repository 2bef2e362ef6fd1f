"""`uv run bench [--seconds N]`: start the local database and real servers on loopback,
drive them, print requests/s, p50/p99 and the ratios of one run."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from devtools.bench.load import Result, drive
from devtools.dbserver import LocalDatabase, free_port
from devtools.processes import AppProcess, wait_until_answers

PASSWORD = "correct horse battery"  # noqa: S105 - a benchmark account on loopback


def _serve(module: str, args: tuple[str, ...], env: dict, port: int, logs: Path) -> AppProcess:
    proc = AppProcess(module, env, args=args, log_path=logs / f"{module}-{port}.log").start()
    if not wait_until_answers(f"http://127.0.0.1:{port}/healthz", 60, proc):
        proc.stop()
        raise RuntimeError(f"{module} {' '.join(args)} did not start; see {logs}")
    return proc


def _landing(env: dict, logs: Path) -> tuple[AppProcess, str]:
    port = free_port()
    proc = _serve("uvicorn", ("devtools.bench.apps:landing_app", "--factory", "--port",
                              str(port), "--log-level", "warning", "--no-access-log"),
                  env, port, logs)
    return proc, f"http://127.0.0.1:{port}"


def _web(env: dict, logs: Path, settings_module: str = "web.settings") -> tuple[AppProcess, str]:
    port = free_port()
    proc = _serve("gunicorn", ("web.wsgi:application", "--bind", f"127.0.0.1:{port}",
                               "--workers", "1", "--log-level", "warning"),
                  {**env, "DJANGO_SETTINGS_MODULE": settings_module}, port, logs)
    return proc, f"http://127.0.0.1:{port}"


def _login(landing_url: str, origin: str, username: str) -> str:
    with httpx.Client(follow_redirects=False) as client:
        client.post(f"{landing_url}/signup", headers={"Origin": origin},
                    data={"username": username, "password": PASSWORD})
        r = client.post(f"{landing_url}/login", headers={"Origin": origin},
                        data={"username": username, "password": PASSWORD})
        return r.cookies["auth_session"]


def _row(label: str, result: Result, base: Result | None = None) -> None:
    ratio = f"{result.requests_per_s / base.requests_per_s:5.2f}x" if base else "     -"
    print(f"  {label:<46} {result.requests_per_s:9.0f} {result.p50_ms:8.2f} "
          f"{result.p99_ms:8.2f} {ratio}  {result.errors:>4}", flush=True)


def _header(title: str) -> None:
    print(f"\n{title}\n  {'':<46} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>6}  "
          f"{'errs':>4}", flush=True)


def _count_round_trips(env: dict, cache: bool, requests: int = 200) -> None:
    """Database commands per authenticated request (pymongo's command monitoring)."""

    result = subprocess.run([sys.executable, "-m", "devtools.bench.round_trips"],
                            capture_output=True, text=True, timeout=300,
                            env={**env, "SESSION_CACHE": "on" if cache else "off",
                                 "BENCH_REQUESTS": str(requests)})
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    counts = json.loads(result.stdout.strip().splitlines()[-1])
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

    def storm() -> None:
        with httpx.Client(follow_redirects=False) as client:
            while time.monotonic() < stop:
                client.post(f"{landing_url}/login", headers={"Origin": origin},
                            data={"username": "stormer", "password": PASSWORD})
                done[0] += 1

    threads = [threading.Thread(target=storm) for _ in range(logins)]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    seconds, conns = args.seconds, args.connections

    workdir = Path(tempfile.mkdtemp(prefix="bench-"))
    db = LocalDatabase(workdir / "db", sync_on_commit=False, log_path=workdir / "db.log")
    db.start()
    procs: list[AppProcess] = []
    try:
        base_env = {**os.environ, "APP_ENV": "test", "MONGO_URI": db.uri,
                    "LOGIN_MAX_FAILURES_PER_USER": "1000000",
                    "LOGIN_MAX_FAILURES_PER_IP": "1000000", "SIGNUP_MAX_PER_IP": "1000000",
                    "BENCH_SQLITE": str(workdir / "django.sqlite3")}
        base_env.pop("DJANGO_SETTINGS_MODULE", None)
        print(f"bench: {os.cpu_count()} cores, {seconds:g} s per row, {conns} connections, "
              f"load from {'wrk' if shutil.which('wrk') else 'httpx'}; "
              f"database: SecantusDB on {db.host}:{db.port}", flush=True)
        results: dict[str, Result] = {}
        for cache in (False, True):
            env = {**base_env, "SESSION_CACHE": "on" if cache else "off"}
            landing, lurl = _landing(env, workdir)
            web, wurl = _web({**env, "WEB_URL": "http://127.0.0.1:3000"}, workdir)
            procs += [landing, web]
            origin = env.get("LANDING_URL", "http://localhost:4321")
            token = _login(lurl, origin, f"bench{int(cache)}")
            cookie = {"Cookie": f"auth_session={token}"}
            tag = "cache on" if cache else "cache off"
            # The baseline is the same request without a cookie, on the same server.
            results[f"landing-noauth-{tag}"] = drive(f"{lurl}/bench/whoami", {}, seconds, conns)
            if not cache:
                results["web-noauth"] = _web_noauth(env, workdir, procs, seconds, conns)
                results["web-django"] = _web_django(env, workdir, procs, seconds, conns)
            results[f"landing-{tag}"] = drive(f"{lurl}/bench/whoami", cookie, seconds, conns)
            results[f"web-{tag}"] = drive(f"{wurl}/", cookie, seconds, conns)
            if not cache:
                print("\n3. database commands per authenticated request", flush=True)
            _count_round_trips({**env, "BENCH_TOKEN": token,
                                "WEB_URL": "http://127.0.0.1:3000"}, cache)
            if cache:
                print(f"\n4. log-in storm (argon2id m=19456 t=2 p=1) vs /healthz, "
                      f"{seconds:g} s each", flush=True)
                _storm(lurl, origin, seconds)
            for proc in (landing, web):
                proc.stop()

        _header("1. landing: GET /bench/whoami")
        for tag in ("cache off", "cache on"):
            _row(f"no authentication (no cookie), {tag} server",
                 results[f"landing-noauth-{tag}"])
            _row(f"session cookie validated, {tag}", results[f"landing-{tag}"],
                 results[f"landing-noauth-{tag}"])
        _header("2. web: GET / (gunicorn, 1 sync worker)")
        _row("no authentication (fixed user)", results["web-noauth"])
        _row("Django contrib.auth + contrib.sessions (SQLite)", results["web-django"],
             results["web-noauth"])
        for tag in ("cache off", "cache on"):
            _row(f"shared session cookie, {tag}", results[f"web-{tag}"], results["web-noauth"])
            _row("  same, vs Django's own stack", results[f"web-{tag}"], results["web-django"])
        print(f"\nbench: done ({os.cpu_count()} cores)", flush=True)
        return 0
    finally:
        for proc in procs:
            proc.stop()
        db.stop()


def _web_noauth(env, workdir, procs, seconds, conns) -> Result:
    proc, url = _web(env, workdir, "devtools.bench.web_noauth_settings")
    procs.append(proc)
    try:
        return drive(f"{url}/", {}, seconds, conns)
    finally:
        proc.stop()


def _web_django(env, workdir, procs, seconds, conns) -> Result:
    denv = {**env, "DJANGO_SETTINGS_MODULE": "devtools.bench.web_django_auth_settings"}
    made = subprocess.run([sys.executable, "-m", "devtools.bench.django_session"], env=denv,
                          capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        raise RuntimeError(made.stderr[-2000:])
    sessionid = made.stdout.strip().splitlines()[-1]
    proc, url = _web(env, workdir, "devtools.bench.web_django_auth_settings")
    procs.append(proc)
    try:
        return drive(f"{url}/", {"Cookie": f"sessionid={sessionid}"}, seconds, conns)
    finally:
        proc.stop()


if __name__ == "__main__":
    sys.exit(main())
