"""`/metrics` across several worker processes: one total, whichever worker answers."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from devtools.testing import metric_value


@pytest.mark.e2e
def test_two_workers_report_one_total(database_server, test_environment, tmp_path, db):
    """gunicorn -w 2 with PROMETHEUS_MULTIPROC_DIR: whichever worker answers the scrape,
    it counts every worker's requests."""
    from devtools.dbserver import free_port
    from devtools.processes import wait_until_answers

    port = free_port()
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {**os.environ, "MONGO_URI": database_server.uri, "WEB_URL": f"http://localhost:{port}",
           "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    proc = subprocess.Popen([gunicorn, "web.wsgi:application", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert wait_until_answers(f"http://127.0.0.1:{port}/healthz", 60)
        series = 'http_request_duration_seconds_count{app="web",method="GET",route="healthz"}'
        with httpx.Client() as client:  # new connections: both workers answer some
            before = metric_value(client.get(f"http://127.0.0.1:{port}/metrics").text, series)
        for _ in range(40):
            assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        totals = {metric_value(httpx.get(f"http://127.0.0.1:{port}/metrics").text, series)
                  for _ in range(6)}
        assert totals == {before + 40}, totals  # every scrape, from either worker
        assert len(list(shared.glob("*.db"))) >= 2  # two workers wrote their values
    finally:
        proc.terminate()
        proc.wait(15)


HOSTILE_FORWARDED_FOR = ["garbage", "127.1", "0177.0.0.1", "0x7f.0.0.1", "2130706433",
                         "localhost", "1.2.3.4, garbage", "127.0.0.1:http"]


@pytest.mark.e2e
def test_a_malformed_forwarded_for_never_reads_metrics_as_the_proxy(database_server,
                                                                     test_environment,
                                                                     tmp_path):
    """Both apps as production serves them, behind a proxy on 127.0.0.1 (TRUSTED_PROXIES)
    with the default allow-list (loopback): the proxy itself may scrape; a request whose
    X-Forwarded-For hop cannot be parsed is nobody's, so 404 (it was 200: the bad hop fell
    back to the proxy's own loopback address)."""
    from devtools.testing import start_live_system

    system, procs = start_live_system(database_server.uri, tmp_path, workers=2,
                                      TRUSTED_PROXIES="127.0.0.1")
    try:
        for url in (system.landing_url, system.web_url):
            assert httpx.get(f"{url}/metrics").status_code == 200  # the proxy's own scrape
            assert httpx.get(f"{url}/metrics",
                             headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
            for forged in HOSTILE_FORWARDED_FOR:
                r = httpx.get(f"{url}/metrics", headers={"X-Forwarded-For": forged})
                assert r.status_code == 404, (url, forged, r.status_code)
                assert "auth_security_events_total" not in r.text
    finally:
        for proc in procs:
            proc.stop()
