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
