"""`uv run loadtest` end to end at its smallest (10 s of locust, 4 users), and as a
command-line tool: `--help` and bad arguments start nothing. The figures are for people
(docs/loadtest.md); only what the run must produce is asserted here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def loadtest(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return subprocess.run([str(BIN / "loadtest"), *args], env=env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.mark.e2e
def test_a_short_run_writes_locusts_report_and_keeps_every_promise(tmp_path):
    result = loadtest("--run-time", "10s", "--users", "4", "--spawn-rate", "4",
                      "--out", str(tmp_path), timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = tmp_path / "none"
    assert "<html" in (out / "report.html").read_text().lower()
    stats = (out / "locust_stats.csv").read_text()
    for name in ("landing /signup", "web /account", "web /logout"):
        assert name in stats, stats
    summary = json.loads((out / "summary.json").read_text())
    figures = summary["figures"]
    assert figures["requests"] > 0 and figures["sign-ups acknowledged"] > 0
    assert figures["lost sign-ups"] == 0
    assert "scenario none" in result.stdout and "every promise kept" in result.stdout
    assert "throttling raised for the run" in result.stdout


@pytest.mark.parametrize("args", [["--users", "0"], ["--run-time", "1x"],
                                  ["--fault", "bogus"], ["--fault", "db-kill",
                                                         "--run-time", "10s"], ["extra"]])
def test_bad_arguments_are_one_line_and_start_nothing(args, tmp_path):
    start = time.monotonic()
    result = loadtest(*args, "--out", str(tmp_path), timeout=60)
    assert result.returncode == 2
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("loadtest: ")
    assert not any(tmp_path.iterdir())  # no report, so nothing ran
    assert time.monotonic() - start < 30


def test_help_prints_usage_and_the_faults(tmp_path):
    result = loadtest("--help", timeout=60)
    assert result.returncode == 0
    for word in ("usage: loadtest", "--fault", "db-kill", "worker-kill", "feed-break",
                 "slow-clients", "mail", "--run-time", "--users"):
        assert word in result.stdout


@pytest.mark.e2e
def test_mail_survives_an_smtp_outage_and_a_killed_sender(tmp_path):
    """`--fault mail` at its smallest (20 s of locust, 6 users, ~45 s in all): the SMTP
    server down for 8 s under reset traffic, then senders killed -9 in the crash window;
    every enqueued message received, the only duplicates the killed senders' own."""
    result = loadtest("--fault", "mail", "--run-time", "20s", "--users", "6",
                      "--spawn-rate", "6", "--out", str(tmp_path), timeout=150)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    f = json.loads((tmp_path / "mail" / "summary.json").read_text())["figures"]
    assert f["  by kind"]["password_reset"] > 0
    assert f["messages retried (more than one attempt)"] > 0  # the outage was felt
    assert f["mail lost (enqueued, never received)"] == 0
    assert f["mail received but never enqueued"] == 0
    assert f["outbox after the drain"] == {"delivered": f["mail enqueued"]}
    kills = f["senders killed in the crash window"]
    assert 1 <= len(kills) <= 2
    assert all(n == 2 for n in f["duplicates (Message-ID: copies)"].values())
    assert len(f["duplicates (Message-ID: copies)"]) <= len(kills)
    assert f["SMTP outage (s)"] >= 8 and f["time to drain after the load (s)"] is not None
    assert "scenario mail" in result.stdout and "every promise kept" in result.stdout
