"""The benchmark runs end to end (one second a row) and prints every row; no timing is
asserted here: the numbers are for people to read (docs/benchmarks.md). Driven by the
Python client here, it shows latencies but no requests/s: only wrk's are shown."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROWS = [
    "1. landing: GET /bench/whoami",
    "no authentication (no cookie), cache off server",
    "no authentication (no cookie), cache on server",
    "session cookie validated, cache off",
    "session cookie validated, cache on",
    "2. web: GET / (as deployed: uvicorn + web.buffered, 1 worker)",
    "no authentication (fixed user)",
    "Django contrib.auth + contrib.sessions (SQLite)",
    "shared session cookie, cache off",
    "shared session cookie, cache on",
    "same, vs Django's own stack",
    "authentication's cost, cache on: not measured without wrk",
    "3. database commands per authenticated request",
    "landing  cache off: 1.000 reads, 0.000 writes",
    "web      cache off: 1.000 reads, 0.000 writes",
    "landing  cache on :",
    "web      cache on :",
    "4. log-in storm",
    "healthz alone:",
    "healthz during storm:",
    "5. a legitimate log-in while 32 clients",
    "landing, 1 worker, per-address limit as deployed:",
    "landing, 2 workers, per-address limit as deployed:",
    "landing, 1 worker, per-address limit lifted",
    "landing, 2 workers, per-address limit lifted",
    "landing, 1 worker, 16 flooding addresses each under its limit",
    "legitimate log-in alone:",
    "legitimate log-in during flood:",
    "6. change events per process",
    "after (deletions only)",
    "7. validation, cache off",
    "8. session cache at scale",
    "hit ratio",
    "bytes per cached session",
    "10. web GET / by server, no authentication, 1 worker each",
    "10. web GET / by server, no authentication, 2 workers each",
    "gunicorn sync (web.wsgi; needs a buffering proxy)",
    "bare Django on it (no middleware of ours)",
    "deployed: uvicorn + web.buffered",
    "same, vs bare Django on gunicorn sync",
    "nginx (buffering) + gunicorn sync",  # measured, or "not measured, no nginx here"
    "granian wsgi st, 1 blocking thread (unsafe)",
    "gunicorn -k asgi, web.asgi (before issue 28)",
    "11. password reset request, known vs unknown",
    "username  known p50",
    "address   known p50",
    "bench: done (",
]


def test_bench_prints_every_row(test_environment):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    bench = Path(sys.executable).with_name("bench")
    result = subprocess.run([str(bench), "--seconds", "1", "--rounds", "1",
                             "--connections", "4", "--driver", "httpx",
                             "--sessions", "3000", "--users", "300"],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for row in ROWS:
        assert row in result.stdout, f"missing {row!r}:\n{result.stdout}"
    assert " 0\n" in result.stdout  # the error column
    assert "(no wrk: requests/s not shown)" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.endswith((" 0", " -"))]
    # no ratio (like "1.43x") without wrk; a row's name may hold an x ("nginx")
    assert rows and not [line for line in rows if re.search(r"\d\.\d+x\b", line)]
    assert "no wrk" in result.stdout.split("10. web GET / by server", 1)[1]
